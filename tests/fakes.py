"""Fake chat models for unit tests of pure logic (no HTTP)."""

from __future__ import annotations

import base64
import json
import struct
import zlib
from collections.abc import Iterator
from typing import Any

from langchain_core.callbacks import CallbackManagerForLLMRun
from langchain_core.exceptions import ModelAPIError
from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, AIMessageChunk, BaseMessage
from langchain_core.messages.ai import UsageMetadata
from langchain_core.outputs import ChatGeneration, ChatGenerationChunk, ChatResult
from pydantic import Field


def png_header(width: int, height: int) -> bytes:
    """The start of a PNG of that pixel size: signature and IHDR, as image readers see it."""

    def chunk(kind: bytes, payload: bytes) -> bytes:
        body = kind + payload
        return struct.pack(">I", len(payload)) + body + struct.pack(">I", zlib.crc32(body))

    header = struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IEND", b"")


def image_block(width: int, height: int) -> dict[str, Any]:
    """An image content block as langchain-google-genai returns generated images."""
    data = base64.b64encode(png_header(width, height)).decode()
    return {"type": "image_url", "image_url": {"url": f"data:image/png;base64,{data}"}}


def make_usage(inp: int, out: int, *, cached: int = 0, thinking: int = 0) -> UsageMetadata:
    return UsageMetadata(
        input_tokens=inp,
        output_tokens=out,
        total_tokens=inp + out,
        input_token_details={"cache_read": cached},
        output_token_details={"reasoning": thinking},
    )


class UsageFakeChatModel(BaseChatModel):
    """Replies ``text`` with fixed usage, reporting ``model_name`` as Gemini's client does.

    Streams split the text into words; usage arrives spread over the chunks and the
    model name on the last chunk only, like langchain-google-genai.
    """

    model_name: str = "gemini-3.1-flash-lite"
    text: str = "ok then fine"
    input_tokens: int = 500
    output_tokens: int = 100
    cached_tokens: int = 0
    thinking_tokens: int = 0
    fail: bool = False
    failure: type[Exception] = ModelAPIError
    """What ``fail`` raises: a 5xx by default (retryable, so the router falls back)."""
    report_model_name: bool = True
    """False: no chunk names the model, as in a stream that ends without a finishReason."""
    content: list[str | dict[str, Any]] | None = None
    """List content (image blocks, say) for ``invoke`` instead of ``text``."""
    candidates: int = 1
    """Generations per call (``n``); they share one usage, as langchain-google-genai's do."""
    extra_metadata: dict[str, Any] = Field(default_factory=dict)
    """More ``response_metadata`` on ``invoke`` (``grounding_metadata``, say)."""

    @property
    def _llm_type(self) -> str:
        return "usage-fake"

    def _usage(self) -> UsageMetadata:
        return make_usage(
            self.input_tokens,
            self.output_tokens,
            cached=self.cached_tokens,
            thinking=self.thinking_tokens,
        )

    def _generate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        if self.fail:
            msg = "injected failure"
            raise self.failure(msg)
        usage = self._usage()
        messages = [
            AIMessage(
                content=self.text if self.content is None else list(self.content),
                usage_metadata=usage,
                response_metadata={"model_name": self.model_name, **self.extra_metadata},
            )
            for _ in range(self.candidates)
        ]
        return ChatResult(generations=[ChatGeneration(message=m) for m in messages])

    def _stream(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> Iterator[ChatGenerationChunk]:
        words = self.text.split(" ")
        usage = self._usage()
        for index, word in enumerate(words):
            last = index == len(words) - 1
            # First chunk carries the prompt; output is spread, remainder on the last.
            out = self.output_tokens // len(words)
            if last:
                out = self.output_tokens - out * (len(words) - 1)
            chunk_usage = make_usage(usage["input_tokens"] if index == 0 else 0, out)
            if index == 0:
                chunk_usage["input_token_details"] = {"cache_read": self.cached_tokens}
            if last:
                chunk_usage["output_token_details"] = {"reasoning": self.thinking_tokens}
            chunk = AIMessageChunk(
                content=word + ("" if last else " "),
                usage_metadata=chunk_usage,
                response_metadata=(
                    {"model_name": self.model_name} if last and self.report_model_name else {}
                ),
            )
            if self.fail and last:
                msg = "injected failure mid-stream"
                raise self.failure(msg)
            yield ChatGenerationChunk(message=chunk)


class FakeClassifierModel(UsageFakeChatModel):
    """A classifier stand-in: answers the router's decision questions with a fixed score.

    ``scores`` maps a word found in the request to the score returned (as
    ``ClassifierScore`` fields); ``default`` is used otherwise. Set ``fail`` to raise.
    """

    model_name: str = "gemini-3.1-flash-lite"
    input_tokens: int = 120
    output_tokens: int = 20
    scores: dict[str, dict[str, Any]] = Field(default_factory=dict)
    default: dict[str, Any] = Field(
        default_factory=lambda: {"difficulty": 0.1, "needs_tools": False, "category": "chat"}
    )
    calls: list[str] = Field(default_factory=list)

    def _generate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        from lc_gemini_router.classify.classifier import wire_answer

        text = str(messages[-1].content)
        self.calls.append(text)
        found = next((s for word, s in self.scores.items() if word in text), self.default)
        reply = json.dumps(wire_answer(**found))
        return self.model_copy(update={"text": reply})._generate_plain(messages)

    def _generate_plain(self, messages: list[BaseMessage]) -> ChatResult:
        return super()._generate(messages)


class BlockingStreamModel(UsageFakeChatModel):
    """Async streams send one chunk (with the prompt's usage), then block until closed.

    Stands for a slow lite answer that speculation must cancel.
    """

    async def _astream(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: Any = None,
        **kwargs: Any,
    ) -> Any:
        import asyncio

        usage = make_usage(self.input_tokens, 3)
        yield ChatGenerationChunk(message=AIMessageChunk(content="one ", usage_metadata=usage))
        await asyncio.Event().wait()  # never set: only cancellation ends this stream


class ManualClock:
    """A clock the test moves by hand (``clock.now += 30``): nothing sleeps."""

    def __init__(self, start: float = 0.0) -> None:
        self.now = start

    def __call__(self) -> float:
        return self.now
