"""Loopback stand-in for the Gemini API, for tests and offline demos.

`GeminiSimulator` serves ``POST /{version}/models/{model}:generateContent`` and
``:streamGenerateContent?alt=sse`` on 127.0.0.1 for the versions ``v1``, ``v1beta``
and ``v1alpha``, answering the way Gemini does. Like Gemini, ``v1`` does not serve
``-preview`` models, ``-latest`` aliases or experimental models: it answers 404
NOT_FOUND with Gemini's message. ``:countTokens`` answers ``totalTokens`` (the same
~4 characters per token the usage counts use). Everything else is the same on every
version:
usage metadata (cumulative while streaming), thought signatures that are checked
on replay, Google-style error bodies, inline PNG images, and JSON that validates
against the request's response schema. The real ``ChatGoogleGenerativeAI`` talks
to it over HTTP through ``base_url``. It needs nothing beyond the standard library.

Example:
    >>> from langchain_google_genai import ChatGoogleGenerativeAI
    >>> from lc_gemini_router.testing.simulator import GeminiSimulator, SimReply
    >>> with GeminiSimulator() as sim:
    ...     sim.script(None, SimReply("Hello!", prompt_tokens=12, output_tokens=3))
    ...     llm = ChatGoogleGenerativeAI(
    ...         model="gemini-3.1-flash-lite", google_api_key="test",
    ...         base_url=sim.base_url, max_retries=1,
    ...     )
    ...     msg = llm.invoke("Hi")
    ...     print(msg.text, msg.usage_metadata["input_tokens"], len(sim.requests))
    Hello! 12 1
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import functools
import json
import math
import re
import secrets
import socket
import struct
import threading
import zlib
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any, cast
from urllib.parse import urlsplit

from lc_gemini_router.api_versions import served_on

__all__ = [
    "IMAGE_TOKENS",
    "SKIP_THOUGHT_SIGNATURE",
    "GeminiSimulator",
    "Responder",
    "SimReply",
    "SimRequest",
    "example_from_schema",
    "make_thought_signature",
    "sample_png",
    "signature_model",
]

IMAGE_TOKENS: dict[str, int] = {"512": 747, "1K": 1120, "2K": 1680, "4K": 2520}
"""Output tokens Gemini bills per generated image, by image size."""
_IMAGE_PIXELS = {"512": 512, "1K": 1024, "2K": 2048, "4K": 4096}

SKIP_THOUGHT_SIGNATURE = "skip_thought_signature_validator"
"""Documented sentinel that makes Gemini skip validation of one signature."""
# The client sends the sentinel as a plain string; accept its base64 form too.
_SKIP_FORMS = {SKIP_THOUGHT_SIGNATURE, base64.b64encode(SKIP_THOUGHT_SIGNATURE.encode()).decode()}

_SIG_PREFIX = b"sim-sig:"
_STATUS_NAMES = {  # google.rpc.Code names Gemini puts in error bodies
    400: "INVALID_ARGUMENT",
    401: "UNAUTHENTICATED",
    403: "PERMISSION_DENIED",
    404: "NOT_FOUND",
    429: "RESOURCE_EXHAUSTED",
    500: "INTERNAL",
    503: "UNAVAILABLE",
    504: "DEADLINE_EXCEEDED",
}
_STATUS_MESSAGES = {
    400: "Request contains an invalid argument.",
    429: "Resource has been exhausted (e.g. check quota).",
    500: "An internal error has occurred. Please retry or report it.",
    503: "The model is overloaded. Please try again later.",
}
_PATH = re.compile(
    r"^/(v1|v1beta|v1alpha)/models/([^/:]+):(generateContent|streamGenerateContent|countTokens)$"
)
# Headers that carry credentials are never kept in the request log.
_SECRET_HEADERS = frozenset({"x-goog-api-key", "authorization", "proxy-authorization", "cookie"})
# Gemini 1.x/2.x do not enforce thought signatures; everything else is treated as 3+.
_PRE_GEMINI_3 = re.compile(r"gemini-[12](?:\D|$)")


@dataclass
class SimReply:
    """One scripted reply.

    An all-default reply (no text, calls, images or json) is filled with the
    built-in answer: schema-valid JSON for structured output, else a short text.

    Attributes:
        text: Reply text; may be empty when function calls or images are given.
        prompt_tokens: ``promptTokenCount``; None estimates ~4 chars per token.
        output_tokens: Visible output tokens excluding thinking and images;
            None estimates from the text and calls.
        thinking_tokens: Reported as ``thoughtsTokenCount`` (no thought parts).
        cached_tokens: ``cachedContentTokenCount``; part of the prompt count.
        tool_use_prompt_tokens: ``toolUsePromptTokenCount``.
        function_calls: ``(name, args)`` pairs, each signed by the serving model.
        images: Sizes ("512", "1K", "2K", "4K") of inline PNG parts to return.
        json: Payload serialized as the reply text (for structured output).
        finish_reason: Gemini finish reason, e.g. "STOP" or "MAX_TOKENS".
    """

    text: str = ""
    prompt_tokens: int | None = None
    output_tokens: int | None = None
    thinking_tokens: int = 0
    cached_tokens: int = 0
    tool_use_prompt_tokens: int = 0
    function_calls: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    images: list[str] = field(default_factory=list)
    json: Any = None
    finish_reason: str = "STOP"

    def __post_init__(self) -> None:
        unknown = [size for size in self.images if size not in IMAGE_TOKENS]
        if unknown:
            msg = f"unknown image sizes {unknown}; expected one of {sorted(IMAGE_TOKENS)}"
            raise ValueError(msg)
        if self.prompt_tokens is not None and self.cached_tokens > self.prompt_tokens:
            msg = "cached_tokens is part of prompt_tokens and cannot exceed it"
            raise ValueError(msg)

    @property
    def is_blank(self) -> bool:
        """Whether the reply carries no content of its own."""
        return not (self.text or self.function_calls or self.images or self.json is not None)


@dataclass
class SimRequest:
    """One request as the server logged it.

    Attributes:
        model: Model id from the URL, without ``models/``.
        method: ``generateContent`` or ``streamGenerateContent``.
        api_version: Version segment of the URL (``v1``, ``v1beta``, ``v1alpha``).
        body: Parsed JSON request body.
        headers: Request headers, without credentials.
        status: HTTP status answered; 0 while pending or if never answered.
        error: Message of the error answered, if any.
    """

    model: str
    method: str
    body: dict[str, Any]
    headers: dict[str, str]
    status: int = 0
    error: str | None = None
    api_version: str = "v1beta"

    @property
    def stream(self) -> bool:
        """Whether this was a streaming request."""
        return self.method == "streamGenerateContent"

    @property
    def contents(self) -> list[dict[str, Any]]:
        """The ``contents`` list of the body."""
        return list(self.body.get("contents") or [])

    @property
    def system_text(self) -> str:
        """Text of the system instruction."""
        parts = (self.body.get("systemInstruction") or {}).get("parts") or []
        return "\n".join(p["text"] for p in parts if isinstance(p.get("text"), str))

    @property
    def text(self) -> str:
        """All text of the request (system instruction and contents) concatenated."""
        texts = [self.system_text] if self.system_text else []
        for content in self.contents:
            texts += [p["text"] for p in content.get("parts") or [] if p.get("text")]
        return "\n".join(texts)

    @property
    def last_user_text(self) -> str:
        """Text of the last user content that has text."""
        for content in reversed(self.contents):
            texts = [p["text"] for p in content.get("parts") or [] if p.get("text")]
            if content.get("role", "user") == "user" and texts:
                return "\n".join(texts)
        return ""

    @property
    def function_declarations(self) -> list[dict[str, Any]]:
        """All function declarations offered as tools."""
        tools = self.body.get("tools") or []
        return [d for tool in tools for d in tool.get("functionDeclarations") or []]

    @property
    def has_tools(self) -> bool:
        """Whether the request offers any tools."""
        return bool(self.body.get("tools"))

    @property
    def tool_names(self) -> list[str]:
        """Names of the declared functions."""
        return [str(d.get("name")) for d in self.function_declarations]

    @property
    def function_responses(self) -> list[dict[str, Any]]:
        """All ``functionResponse`` parts sent, in order."""
        return [
            p["functionResponse"]
            for c in self.contents
            for p in c.get("parts") or []
            if "functionResponse" in p
        ]

    @property
    def tool_rounds(self) -> int:
        """Tool rounds answered in the current turn: function responses since the last user text."""
        rounds = 0
        for content in reversed(self.contents):
            parts = content.get("parts") or []
            if any("functionResponse" in p for p in parts):
                rounds += 1
            elif content.get("role", "user") == "user" and any(p.get("text") for p in parts):
                break
        return rounds

    @property
    def response_schema(self) -> dict[str, Any] | None:
        """``responseJsonSchema`` (or ``responseSchema``) of the request, if any."""
        config = self.body.get("generationConfig") or {}
        schema = config.get("responseJsonSchema") or config.get("responseSchema")
        return schema if isinstance(schema, dict) else None

    @property
    def prompt_text(self) -> str:
        """Everything that counts as prompt: text, call/response JSON, declarations."""
        pieces = [self.text]
        for content in self.contents:
            for part in content.get("parts") or []:
                for key in ("functionCall", "functionResponse"):
                    if key in part:
                        pieces.append(json.dumps(part[key], sort_keys=True))
        if self.function_declarations:
            pieces.append(json.dumps(self.function_declarations, sort_keys=True))
        return "\n".join(p for p in pieces if p)


Responder = Callable[[SimRequest], SimReply | None]
"""Decides a reply for a request; None falls through to the built-in default."""


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


def _signature_problem(req: SimRequest) -> str | None:
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


def example_from_schema(
    schema: dict[str, Any], root: dict[str, Any] | None = None, depth: int = 0
) -> Any:
    """Generate a value that validates against a JSON Schema (pydantic or Gemini style).

    Supports object/properties/required, enum/const, string/number/integer/boolean/
    array/null (any case), anyOf/oneOf/allOf, ``$ref`` into ``$defs``/``definitions``,
    prefixItems (tuples), minimum/maximum (exclusive too), minItems/maxItems,
    minLength/maxLength and common string formats. Recursive schemas stop at
    required fields once nested deeply.

    Args:
        schema: The (sub)schema to satisfy.
        root: The whole schema, for resolving ``$ref``; defaults to ``schema``.
        depth: Nesting depth, used to end recursive schemas.

    Returns:
        A JSON-compatible value.

    Raises:
        ValueError: If a recursive schema has no finite instance.
    """
    root = schema if root is None else root
    deep = depth >= 8  # past this, build only what is required (recursive schemas)
    if depth > 64:
        msg = "schema recursion has no finite instance"
        raise ValueError(msg)
    if "$ref" in schema:
        target: Any = root
        for key in str(schema["$ref"]).lstrip("#/").split("/"):
            target = target[key]
        return example_from_schema(target, root, depth + 1)
    if "const" in schema:
        return schema["const"]
    if schema.get("enum"):
        return schema["enum"][0]
    for key in ("anyOf", "oneOf", "allOf"):
        options = [o for o in schema.get(key) or [] if isinstance(o, dict)]
        if options:
            # Prefer a concrete branch; take null once nesting gets deep.
            is_null = [str(o.get("type", "")).lower() == "null" for o in options]
            pick = is_null.index(deep) if deep in is_null else 0
            return example_from_schema(options[pick], root, depth + 1)
    kind: Any = schema.get("type")
    if isinstance(kind, list):
        kind = next((k for k in kind if str(k).lower() != "null"), "null")
    if kind is None:
        kind = "object" if "properties" in schema else "array" if "items" in schema else "string"
    kind = str(kind).lower()
    if kind == "object":
        props: dict[str, Any] = schema.get("properties") or {}
        required = set(schema.get("required") or [])
        return {
            name: example_from_schema(sub, root, depth + 1)
            for name, sub in props.items()
            if not deep or name in required
        }
    if kind == "array":
        if isinstance(schema.get("prefixItems"), list):  # tuples
            return [example_from_schema(sub, root, depth + 1) for sub in schema["prefixItems"]]
        count = int(schema.get("minItems", 0 if deep else 1))
        count = min(count, int(schema.get("maxItems", count)))
        raw_items = schema.get("items")
        items: dict[str, Any] = raw_items if isinstance(raw_items, dict) else {}
        return [example_from_schema(items, root, depth + 1) for _ in range(count)]
    if kind in ("integer", "number"):
        return _number_in_range(schema, integer=kind == "integer")
    if kind == "boolean":
        return True
    if kind == "null":
        return None
    return _string_for(schema)


def _number_in_range(schema: dict[str, Any], *, integer: bool) -> int | float:
    """Pick 1 if allowed, else a number inside the (possibly exclusive) bounds."""
    low, high = schema.get("minimum"), schema.get("maximum")
    low_open = high_open = False
    ex_low, ex_high = schema.get("exclusiveMinimum"), schema.get("exclusiveMaximum")
    if ex_low is True or ex_high is True:  # draft-4 style boolean flags
        low_open, high_open = ex_low is True, ex_high is True
    if _is_number(ex_low) and (low is None or ex_low >= low):
        low, low_open = ex_low, True
    if _is_number(ex_high) and (high is None or ex_high <= high):
        high, high_open = ex_high, True
    if integer:
        if low is not None:
            low = math.floor(low) + 1 if low_open and low == math.floor(low) else math.ceil(low)
        if high is not None:
            ceiling = math.ceil(high)
            high = ceiling - 1 if high_open and high == ceiling else math.floor(high)
        value = 1 if low is None else max(low, 1)
        return int(value if high is None else min(value, high))

    def fits(x: float) -> bool:
        above = low is None or (x > low if low_open else x >= low)
        return above and (high is None or (x < high if high_open else x <= high))

    if fits(1.0):
        return 1.0
    if low is not None and high is not None:
        return float(low + high) / 2
    if low is not None:
        return float(low) + (1.0 if low_open else 0.0)
    return float(cast(float, high)) - (1.0 if high_open else 0.0)


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _string_for(schema: dict[str, Any]) -> str:
    formats = {
        "date-time": "2026-01-01T00:00:00Z",
        "date": "2026-01-01",
        "time": "00:00:00",
        "email": "user@example.com",
        "uri": "https://example.com",
        "uuid": "00000000-0000-4000-8000-000000000000",
    }
    value = formats.get(str(schema.get("format")), "example")
    minimum, maximum = int(schema.get("minLength", 0)), schema.get("maxLength")
    value = value.ljust(minimum, "x")
    return value[: int(maximum)] if maximum is not None else value


def sample_png(size: str = "512") -> bytes:
    """A valid PNG of an image size tier ("512", "1K", "2K", "4K"), as the simulator sends."""
    return base64.b64decode(_png(size))


@functools.cache
def _png(size: str) -> str:
    """Base64 of a black square PNG with the pixel size of an image tier (1-bit, tiny)."""
    side = _IMAGE_PIXELS[size]

    def chunk(tag: bytes, data: bytes) -> bytes:
        crc = zlib.crc32(tag + data) & 0xFFFFFFFF
        return struct.pack(">I", len(data)) + tag + data + struct.pack(">I", crc)

    header = struct.pack(">IIBBBBB", side, side, 1, 0, 0, 0, 0)
    pixels = (b"\x00" + b"\x00" * ((side + 7) // 8)) * side
    png = b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header)
    png += chunk(b"IDAT", zlib.compress(pixels, 9)) + chunk(b"IEND", b"")
    return base64.b64encode(png).decode("ascii")


def _estimate(text: str, *, minimum: int) -> int:
    return max(minimum, math.ceil(len(text) / 4)) if text else minimum


def _error_body(status: int, message: str | None = None) -> dict[str, Any]:
    return {
        "error": {
            "code": status,
            "message": message or _STATUS_MESSAGES.get(status, f"Simulated error {status}."),
            "status": _STATUS_NAMES.get(status, "UNKNOWN"),
        }
    }


def _not_found(req: SimRequest) -> str:
    """Gemini's message for a model that an API version does not serve."""
    return (
        f"models/{req.model} is not found for API version {req.api_version}, or is not"
        f" supported for {req.method}. Call ListModels to see the list of available"
        " models and their supported methods."
    )


def _split_words(text: str) -> list[str]:
    """Split text into 3+ chunks by words for longer texts, losslessly."""
    words = re.findall(r"\s*\S+\s*|\s+", text)
    if len(words) <= 1:
        return [text]
    count = min(len(words), max(3, math.ceil(len(words) / 8)))
    size = math.ceil(len(words) / count)
    return ["".join(words[i : i + size]) for i in range(0, len(words), size)]


class GeminiSimulator:
    """A scripted Gemini API on a loopback port (see the module docstring).

    Per request the answer is: an injected failure for that model (or any model),
    else the model's scripted queue, else the shared (``None``) queue, else the
    responder, else the built-in default. Function-call thought signatures of the
    current turn are checked after failures and before scripts are consumed.
    """

    def __init__(
        self, *, responder: Responder | None = None, host: str = "127.0.0.1", port: int = 0
    ) -> None:
        """Configure the simulator; call `start` (or use ``with``) to serve."""
        self.responder = responder
        self._address = (host, port)
        self._lock = threading.Lock()
        self._log: list[SimRequest] = []
        self._scripts: dict[str | None, deque[SimReply]] = {}
        self._failures: dict[str | None, deque[tuple[int, str | None]]] = {}
        self._delays: dict[str | None, float] = {}
        self._closing = threading.Event()
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None

    @property
    def base_url(self) -> str:
        """``http://HOST:PORT`` of the running server."""
        if self._server is None:
            msg = "simulator is not started"
            raise RuntimeError(msg)
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    @property
    def requests(self) -> list[SimRequest]:
        """Snapshot of all logged requests, including failed ones."""
        with self._lock:
            return list(self._log)

    def requests_for(self, model: str) -> list[SimRequest]:
        """Logged requests addressed to ``model``."""
        return [r for r in self.requests if r.model == model]

    def start(self) -> GeminiSimulator:
        """Bind the port and serve in a daemon thread; returns self."""
        if self._server is None:
            self._closing.clear()
            self._server = _Server(self._address, self)
            self._thread = threading.Thread(
                target=self._server.serve_forever,
                kwargs={"poll_interval": 0.05},
                name="gemini-simulator",
                daemon=True,
            )
            self._thread.start()
        return self

    def close(self) -> None:
        """Stop serving now, waking delayed requests and dropping open connections."""
        server, self._server = self._server, None
        if server is None:
            return
        self._closing.set()
        server.shutdown()
        server.drop_connections()
        server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def __enter__(self) -> GeminiSimulator:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def script(self, model: str | None, *replies: SimReply) -> None:
        """Queue replies (FIFO) for ``model``, or for any model when None."""
        if not all(isinstance(r, SimReply) for r in replies):
            msg = "script() takes SimReply objects"
            raise TypeError(msg)
        with self._lock:
            self._scripts.setdefault(model, deque()).extend(replies)

    def fail_next(
        self,
        status: int = 429,
        *,
        model: str | None = None,
        count: int = 1,
        message: str | None = None,
    ) -> None:
        """Answer the next ``count`` requests (to ``model``, or any) with a Google error."""
        if not 400 <= status <= 599:
            msg = f"status must be an HTTP error code, got {status}"
            raise ValueError(msg)
        with self._lock:
            self._failures.setdefault(model, deque()).extend([(status, message)] * count)

    def set_delay(self, seconds: float, *, model: str | None = None) -> None:
        """Wait ``seconds`` before answering (per model, or the default for all)."""
        with self._lock:
            if seconds > 0:
                self._delays[model] = seconds
            else:
                self._delays.pop(model, None)

    def reset(self) -> None:
        """Forget the log, scripts, injected failures and delays."""
        with self._lock:
            self._log.clear()
            self._scripts.clear()
            self._failures.clear()
            self._delays.clear()

    # -- request handling (runs in server threads) --------------------------------

    def _record(self, req: SimRequest) -> None:
        with self._lock:
            self._log.append(req)

    def _delay_for(self, model: str) -> float:
        with self._lock:
            return self._delays.get(model, self._delays.get(None, 0.0))

    def _pop(self, table: dict[str | None, deque[Any]], model: str) -> Any:
        with self._lock:
            for key in (model, None):
                queue = table.get(key)
                if queue:
                    return queue.popleft()
        return None

    def _decide(self, req: SimRequest) -> tuple[int, list[dict[str, Any]]]:
        """Pick the status and the payloads (one, or one per SSE event) for a request."""
        failure: tuple[int, str | None] | None = self._pop(self._failures, req.model)
        if failure is not None:
            return failure[0], [_error_body(*failure)]
        problem = _signature_problem(req)
        if problem:
            return 400, [_error_body(400, problem)]
        reply: SimReply | None = self._pop(self._scripts, req.model)
        if reply is None and self.responder is not None:
            try:
                reply = self.responder(req)
            except Exception as exc:  # a broken responder must not kill the server thread
                return 500, [_error_body(500, f"Simulator responder raised {exc!r}")]
        return 200, _render(req, reply or SimReply())


def _render(req: SimRequest, reply: SimReply) -> list[dict[str, Any]]:
    """Build the generateContent response, or the list of SSE events when streaming."""
    text = reply.text
    if reply.json is not None:
        text = json.dumps(reply.json)
    elif reply.is_blank:
        schema = req.response_schema
        if schema is not None:
            text = json.dumps(example_from_schema(schema))
        else:
            asked = " ".join(req.last_user_text.split()[:24]) or "(no text)"
            text = f"Simulated answer from {req.model} to: {asked}"
    calls = [
        {
            "functionCall": {"name": name, "args": args},
            "thoughtSignature": make_thought_signature(req.model),
        }
        for name, args in reply.function_calls
    ]
    images = [{"inlineData": {"mimeType": "image/png", "data": _png(s)}} for s in reply.images]
    prompt = reply.prompt_tokens
    if prompt is None:
        prompt = max(_estimate(req.prompt_text, minimum=1), reply.cached_tokens)
    visible = reply.output_tokens
    if visible is None:
        visible = _estimate(text + "".join(json.dumps(c["functionCall"]) for c in calls), minimum=0)
    image_tokens = sum(IMAGE_TOKENS[s] for s in reply.images)
    response_id = secrets.token_urlsafe(12)

    def usage(text_tokens: int, with_images: bool) -> dict[str, Any]:
        shown = image_tokens if with_images else 0
        total = prompt + text_tokens + shown + reply.thinking_tokens + reply.tool_use_prompt_tokens
        details = [{"modality": "TEXT", "tokenCount": text_tokens}]
        details += [{"modality": "IMAGE", "tokenCount": shown}] if shown else []
        meta: dict[str, Any] = {
            "promptTokenCount": prompt,
            "candidatesTokenCount": text_tokens + shown,
            "thoughtsTokenCount": reply.thinking_tokens,
            "totalTokenCount": total,
            "promptTokensDetails": [{"modality": "TEXT", "tokenCount": prompt}],
            "candidatesTokensDetails": details,
        }
        if reply.cached_tokens > 0:
            meta["cachedContentTokenCount"] = reply.cached_tokens
            meta["cacheTokensDetails"] = [{"modality": "TEXT", "tokenCount": reply.cached_tokens}]
        if reply.tool_use_prompt_tokens > 0:
            meta["toolUsePromptTokenCount"] = reply.tool_use_prompt_tokens
        return meta

    def response(parts: list[dict[str, Any]], meta: dict[str, Any], last: bool) -> dict[str, Any]:
        candidate: dict[str, Any] = {"content": {"role": "model", "parts": parts}, "index": 0}
        if last:
            candidate["finishReason"] = reply.finish_reason
        return {
            "candidates": [candidate],
            "usageMetadata": meta,
            "modelVersion": req.model,
            "responseId": response_id,
        }

    text_parts = [{"text": text}] if text or not (calls or images) else []
    if not req.stream:
        return [response(text_parts + calls + images, usage(visible, True), True)]
    # Streaming: text by words, then calls and images; counts are cumulative per chunk.
    pieces = _split_words(text) if text else []
    events: list[dict[str, Any]] = []
    done = 0
    for i, piece in enumerate(pieces):
        done += len(piece)
        last = i == len(pieces) - 1 and not (calls or images)
        count = visible if last or not text else math.floor(visible * done / len(text))
        events.append(response([{"text": piece}], usage(count, False), last))
    if calls or images or not events:
        events.append(response((calls + images) or text_parts, usage(visible, True), True))
    return events


class _Server(ThreadingHTTPServer):
    """Threaded HTTP server that knows its simulator and its open connections."""

    daemon_threads = True
    request_queue_size = 2048  # 1,000 clients connecting at once must not be refused

    def __init__(self, address: tuple[str, int], simulator: GeminiSimulator) -> None:
        self.simulator = simulator
        self._connections: set[socket.socket] = set()
        self._conn_lock = threading.Lock()
        super().__init__(address, _Handler)

    def process_request(self, request: Any, client_address: Any) -> None:
        with self._conn_lock:
            self._connections.add(request)
        super().process_request(request, client_address)

    def shutdown_request(self, request: Any) -> None:
        with self._conn_lock:
            self._connections.discard(request)
        super().shutdown_request(request)

    def drop_connections(self) -> None:
        """Shut down keep-alive sockets so their handler threads end now."""
        with self._conn_lock:
            connections = list(self._connections)
        for conn in connections:
            with contextlib.suppress(OSError):  # already closed by the peer
                conn.shutdown(socket.SHUT_RDWR)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive: pooled clients reuse connections
    server_version = "GeminiSimulator/1.0"
    disable_nagle_algorithm = True  # else small writes stall ~40 ms on delayed ACKs

    def log_message(self, format: str, *args: Any) -> None:
        """Keep the server quiet."""

    def do_POST(self) -> None:
        """Log the request, then answer it as Gemini would."""
        sim = cast(_Server, self.server).simulator
        raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        path = urlsplit(self.path).path
        match = _PATH.match(path)
        headers = {k: v for k, v in self.headers.items() if k.lower() not in _SECRET_HEADERS}
        try:
            body = json.loads(raw or b"{}")
        except ValueError:
            body = None
        req = SimRequest(
            model=match.group(2) if match else "",
            method=match.group(3) if match else path,
            body=body if isinstance(body, dict) else {},
            headers=headers,
            api_version=match.group(1) if match else "",
        )
        sim._record(req)
        if match is None:
            status, payloads = 404, [_error_body(404, f"Path {path} was not found.")]
        elif not served_on(req.model, req.api_version):
            status, payloads = 404, [_error_body(404, _not_found(req))]
        elif not isinstance(body, dict):
            status, payloads = 400, [_error_body(400, "Invalid JSON payload received.")]
        elif req.method == "countTokens":  # no script is consumed by a count
            status, payloads = 200, [{"totalTokens": _estimate(req.prompt_text, minimum=1)}]
        else:
            status, payloads = sim._decide(req)
        delay = sim._delay_for(req.model)
        # Event.wait, not sleep: close() wakes every delayed request at once.
        if delay and sim._closing.wait(delay):
            self.close_connection = True
            return
        req.error = payloads[0]["error"]["message"] if status != 200 else None
        req.status = status
        try:
            if status == 200 and req.stream:
                self._send_events(payloads)
            else:
                self._send_json(status, payloads[0])
        except OSError:  # the client went away
            self.close_connection = True

    def _send_json(self, status: int, payload: dict[str, Any]) -> None:
        data = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json; charset=UTF-8")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _send_events(self, events: list[dict[str, Any]]) -> None:
        # Chunked transfer keeps the connection reusable without a Content-Length.
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        for event in events:
            data = f"data: {json.dumps(event)}\r\n\r\n".encode()
            self.wfile.write(f"{len(data):X}\r\n".encode() + data + b"\r\n")
            self.wfile.flush()
        self.wfile.write(b"0\r\n\r\n")
