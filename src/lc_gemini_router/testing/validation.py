"""Request checks the simulator makes as Gemini does: thought signatures, API versions.

Gemini 3 signs every function call with a thought signature that must come back, from
the same model, in the same turn. The simulator's signatures record the model that made
them, so a router that replays another model's call is answered 400 as Gemini answers it.
"""

from __future__ import annotations

import base64
import binascii
import re
import secrets

from lc_gemini_router.pricing.images import IMAGE_SIZES, image_dimensions
from lc_gemini_router.testing.requests import SimRequest

__all__ = [
    "SKIP_THOUGHT_SIGNATURE",
    "config_problem",
    "make_thought_signature",
    "not_found_message",
    "signature_model",
    "signature_problem",
]

SKIP_THOUGHT_SIGNATURE = "skip_thought_signature_validator"
"""Documented sentinel that makes Gemini skip validation of one signature."""
# The client sends the sentinel as a plain string; accept its base64 form too.
_SKIP_FORMS = {SKIP_THOUGHT_SIGNATURE, base64.b64encode(SKIP_THOUGHT_SIGNATURE.encode()).decode()}
_SIG_PREFIX = b"sim-sig:"
# Gemini 1.x/2.x do not enforce thought signatures; everything else is treated as 3+.
_PRE_GEMINI_3 = re.compile(r"gemini-[12](?:\D|$)")
_MAX_CANDIDATES = 8  # Gemini answers 400 above this


def make_thought_signature(model: str) -> str:
    """Make a base64 thought signature that records which model made it."""
    raw = _SIG_PREFIX + model.encode() + b":" + secrets.token_hex(8).encode()
    return base64.b64encode(raw).decode("ascii")


def signature_model(signature: str) -> str | None:
    """Return the model that made a simulator signature, or None if it is not one."""
    # The SDK echoes signatures back URL-safe encoded; accept either alphabet.
    normalized = signature.replace("-", "+").replace("_", "/")
    try:
        raw = base64.b64decode(normalized + "=" * (-len(normalized) % 4), validate=True)
    except (binascii.Error, ValueError):
        return None
    if raw.startswith(_SIG_PREFIX) and raw.count(b":") >= 2:
        return raw[len(_SIG_PREFIX) :].rsplit(b":", 1)[0].decode(errors="replace")
    return None


def signature_problem(req: SimRequest) -> str | None:
    """Check current-turn function-call signatures as Gemini 3 does."""
    if _PRE_GEMINI_3.search(req.model.lower()):
        return None
    contents = req.contents
    start = 0
    # The current turn begins after the last user content with real input.
    for i in range(len(contents) - 1, -1, -1):
        parts = contents[i].get("parts") or []
        if (
            contents[i].get("role", "user") == "user"
            and any("text" in p or "inlineData" in p for p in parts)
            and not any("functionResponse" in p for p in parts)
        ):
            start = i + 1
            break
    for position, content in enumerate(contents[start:], start=start):
        if content.get("role") != "model":
            continue
        calls = [p for p in content.get("parts") or [] if "functionCall" in p]
        for index, part in enumerate(calls):
            name = part["functionCall"].get("name")
            sig = part.get("thoughtSignature")
            if not sig:
                if index == 0:
                    return (
                        f"Function call `{name}` in the {position}. content block is missing a"
                        " thought signature (thought_signature). See"
                        " https://ai.google.dev/gemini-api/docs/thought-signatures"
                    )
                continue
            maker = signature_model(str(sig))
            if str(sig) not in _SKIP_FORMS and maker != req.model:
                return (
                    f"Function call `{name}` in the {position}. content block has an invalid"
                    f" thought signature (made by {maker or 'unknown'}, not {req.model})."
                )
    return None


def not_found_message(req: SimRequest) -> str:
    """Gemini's message for a model that an API version does not serve."""
    return (
        f"models/{req.model} is not found for API version {req.api_version}, or is not"
        f" supported for {req.method}. Call ListModels to see the list of available"
        " models and their supported methods."
    )


def config_problem(req: SimRequest) -> str | None:
    """Check ``candidateCount`` and ``imageConfig`` as Gemini does (a 400 when wrong)."""
    count = req.candidate_count
    if not isinstance(count, int) or isinstance(count, bool) or not 1 <= count <= _MAX_CANDIDATES:
        return (
            f"* GenerateContentRequest.generation_config.candidate_count: must be between 1 "
            f"and {_MAX_CANDIDATES}, got {count!r}"
        )
    if not req.wants_images:
        return None
    size, ratio = req.image_size, req.aspect_ratio
    if size not in IMAGE_SIZES:
        return (
            f"* GenerateContentRequest.generation_config.image_config.image_size: unsupported "
            f"value {size!r}; expected one of {', '.join(IMAGE_SIZES)}"
        )
    try:
        image_dimensions(size, str(ratio))
    except ValueError:
        return (
            "* GenerateContentRequest.generation_config.image_config.aspect_ratio: unsupported "
            f"value {ratio!r}"
        )
    return None
