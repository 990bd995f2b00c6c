"""Scripted replies and the Gemini responses built from them.

A :class:`SimReply` says what to answer; :func:`render` turns it into Gemini's JSON: one
``generateContent`` response, or the SSE events of ``streamGenerateContent`` with
cumulative usage counts, as Gemini sends them. A request's ``candidateCount`` gets that
many candidates, each with the reply's parts; usage counts cover them all, as Gemini's
do. A blank reply to a request whose ``responseModalities`` include ``IMAGE`` carries
one image per candidate, of the requested ``imageSize`` and ``aspectRatio``.
"""

from __future__ import annotations

import json
import math
import re
import secrets
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from lc_gemini_router.testing.images import IMAGE_TOKENS, png_base64
from lc_gemini_router.testing.requests import SimRequest
from lc_gemini_router.testing.schemas import example_from_schema
from lc_gemini_router.testing.validation import make_thought_signature

__all__ = ["Responder", "SimReply", "estimate_tokens", "render"]


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
        images: Sizes ("512", "1K", "2K", "4K") of inline PNG parts to return, at the
            request's aspect ratio; each costs its ``IMAGE_TOKENS`` of output.
        json: Payload serialized as the reply text (for structured output).
        finish_reason: Gemini finish reason, e.g. "STOP" or "MAX_TOKENS"; None sends
            none (the stream ends without it, and the client names no model).
        search_queries: Google Search queries the model "ran" (grounding), reported
            in each candidate's ``groundingMetadata.webSearchQueries``.
        cut_after: Drop the connection after this many SSE events (0 for a plain
            request: no answer at all), as a network failure mid-reply.
        blocked: A ``promptFeedback.blockReason`` (``"SAFETY"``, ...): the reply has no
            candidates, only the prompt's usage, which Gemini bills.
        trickle_seconds: Send the reply a few bytes at a time with this pause between
            writes: every read of the client gets bytes within its read timeout, yet
            the whole reply takes far longer (a stalled upstream).
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
    finish_reason: str | None = "STOP"
    search_queries: list[str] = field(default_factory=list)
    cut_after: int | None = None
    trickle_seconds: float = 0.0
    blocked: str | None = None

    def __post_init__(self) -> None:
        unknown = [size for size in self.images if size not in IMAGE_TOKENS]
        if unknown:
            msg = f"unknown image sizes {unknown}; expected one of {sorted(IMAGE_TOKENS)}"
            raise ValueError(msg)
        if self.prompt_tokens is not None and self.cached_tokens > self.prompt_tokens:
            msg = "cached_tokens is part of prompt_tokens and cannot exceed it"
            raise ValueError(msg)
        if self.cut_after is not None and self.cut_after < 0:
            msg = f"cut_after must be >= 0, got {self.cut_after}"
            raise ValueError(msg)
        if self.trickle_seconds < 0:
            msg = f"trickle_seconds must be >= 0, got {self.trickle_seconds}"
            raise ValueError(msg)

    @property
    def is_blank(self) -> bool:
        """Whether the reply carries no content of its own."""
        return not (self.text or self.function_calls or self.images or self.json is not None)


Responder = Callable[[SimRequest], SimReply | None]
"""Decides a reply for a request; None falls through to the built-in default."""


def estimate_tokens(text: str, *, minimum: int) -> int:
    return max(minimum, math.ceil(len(text) / 4)) if text else minimum


def _split_words(text: str) -> list[str]:
    """Split text into 3+ chunks by words for longer texts, losslessly."""
    words = re.findall(r"\s*\S+\s*|\s+", text)
    if len(words) <= 1:
        return [text]
    count = min(len(words), max(3, math.ceil(len(words) / 8)))
    size = math.ceil(len(words) / count)
    return ["".join(words[i : i + size]) for i in range(0, len(words), size)]


def _text(req: SimRequest, reply: SimReply) -> str:
    if reply.json is not None:
        return json.dumps(reply.json)
    if not reply.is_blank:
        return reply.text
    schema = req.response_schema
    if schema is not None:
        return json.dumps(example_from_schema(schema))
    asked = " ".join(req.last_user_text.split()[:24]) or "(no text)"
    return f"Simulated answer from {req.model} to: {asked}"


def render(req: SimRequest, reply: SimReply) -> list[dict[str, Any]]:
    """Build the generateContent response, or the list of SSE events when streaming.

    A reply with ``cut_after`` is cut to that many payloads; the server then drops
    the connection.
    """
    if reply.blocked is not None:
        prompt_only = reply.prompt_tokens
        if prompt_only is None:
            prompt_only = estimate_tokens(req.prompt_text, minimum=1)
        blocked = {
            "promptFeedback": {"blockReason": reply.blocked},
            "usageMetadata": {"promptTokenCount": prompt_only, "totalTokenCount": prompt_only},
            "modelVersion": req.model,
        }
        return [blocked]
    text = _text(req, reply)
    calls = [
        {
            "functionCall": {"name": name, "args": args},
            "thoughtSignature": make_thought_signature(req.model),
        }
        for name, args in reply.function_calls
    ]
    sizes = reply.images or ([req.image_size] if reply.is_blank and req.wants_images else [])
    ratio = str(req.aspect_ratio)
    images = [
        {"inlineData": {"mimeType": "image/png", "data": png_base64(size, ratio)}} for size in sizes
    ]
    n = int(req.candidate_count)
    prompt = reply.prompt_tokens
    if prompt is None:
        prompt = max(estimate_tokens(req.prompt_text, minimum=1), reply.cached_tokens)
    visible = reply.output_tokens
    if visible is None:
        visible = estimate_tokens(
            text + "".join(json.dumps(c["functionCall"]) for c in calls), minimum=0
        )
    image_tokens = sum(IMAGE_TOKENS[size] for size in sizes)
    response_id = secrets.token_urlsafe(12)

    def usage(text_tokens: int, with_images: bool) -> dict[str, Any]:
        # Per candidate; Gemini's counts cover every candidate.
        text_all, shown = n * text_tokens, n * image_tokens if with_images else 0
        total = prompt + text_all + shown + reply.thinking_tokens + reply.tool_use_prompt_tokens
        details = [{"modality": "TEXT", "tokenCount": text_all}]
        details += [{"modality": "IMAGE", "tokenCount": shown}] if shown else []
        meta: dict[str, Any] = {
            "promptTokenCount": prompt,
            "candidatesTokenCount": text_all + shown,
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
        candidates = []
        for index in range(n):
            candidate: dict[str, Any] = {"content": {"role": "model", "parts": parts}}
            candidate["index"] = index
            if last and reply.finish_reason is not None:
                candidate["finishReason"] = reply.finish_reason
            if last and reply.search_queries:
                candidate["groundingMetadata"] = {"webSearchQueries": list(reply.search_queries)}
            candidates.append(candidate)
        return {
            "candidates": candidates,
            "usageMetadata": meta,
            "modelVersion": req.model,
            "responseId": response_id,
        }

    text_parts = [{"text": text}] if text or not (calls or images) else []
    if not req.stream:
        events = [response(text_parts + calls + images, usage(visible, True), True)]
    else:
        # Streaming: text by words, then calls and images; counts are cumulative per chunk.
        pieces = _split_words(text) if text else []
        events = []
        done = 0
        for i, piece in enumerate(pieces):
            done += len(piece)
            last = i == len(pieces) - 1 and not (calls or images)
            count = visible if last or not text else math.floor(visible * done / len(text))
            events.append(response([{"text": piece}], usage(count, False), last))
        if calls or images or not events:
            events.append(response((calls + images) or text_parts, usage(visible, True), True))
    return events if reply.cut_after is None else events[: reply.cut_after]
