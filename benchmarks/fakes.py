"""Fake Gemini lanes and a simulated classifier for the benchmarks (no network).

``LaneFake`` answers like ``ChatGoogleGenerativeAI`` does as far as the router and
the cost handler can tell: ``usage_metadata`` with thinking tokens inside the
output count, and ``response_metadata["model_name"]`` (on the last chunk when
streaming). Latency is simulated inside ``_generate`` / ``_agenerate`` /
``_stream`` / ``_astream`` with ``time.sleep`` / ``asyncio.sleep``.

``KeywordClassifier`` stands for the Flash-Lite classifier. It scores the request
from keywords (see :func:`keyword_score`); it never looks at the labels of the
RouteLLM data, so the economics measured with it are those of a plausible, imperfect
classifier, not of an oracle.
"""

from __future__ import annotations

import asyncio
import json
import math
import re
import time
from collections.abc import AsyncIterator, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from langchain_core.callbacks import (
    AsyncCallbackManagerForLLMRun,
    CallbackManagerForLLMRun,
)
from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, AIMessageChunk, BaseMessage, HumanMessage
from langchain_core.messages.ai import UsageMetadata
from langchain_core.outputs import ChatGeneration, ChatGenerationChunk, ChatResult
from pydantic import Field

from lc_gemini_router.classify.classifier import wire_answer
from lc_gemini_router.classify.prompt import read_classifier_input

__all__ = [
    "CHARS_PER_TOKEN",
    "LITE",
    "PRO",
    "PRO_TOOLS",
    "KeywordClassifier",
    "LaneFake",
    "ReplySize",
    "classifier_request_text",
    "keyword_score",
    "make_usage",
    "message_chars",
    "tokens_for",
]

LITE = "gemini-3.1-flash-lite"
PRO = "gemini-3.1-pro-preview"
PRO_TOOLS = "gemini-3.1-pro-preview-customtools"
CHARS_PER_TOKEN = 4
"""Token estimate used everywhere in the benchmarks: about four characters per token."""


def tokens_for(chars: int) -> int:
    """Tokens of ``chars`` characters of English text (at least one)."""
    return max(1, math.ceil(chars / CHARS_PER_TOKEN))


def message_chars(messages: Sequence[BaseMessage]) -> int:
    """Characters of text in a prompt (system instruction included)."""
    total = 0
    for message in messages:
        content = message.content
        if isinstance(content, str):
            total += len(content)
        else:
            total += sum(len(b) if isinstance(b, str) else len(str(b)) for b in content)
    return total


def make_usage(inp: int, out: int, *, thinking: int = 0) -> UsageMetadata:
    """LangChain usage: ``output_tokens`` includes the thinking tokens, as Gemini bills."""
    return UsageMetadata(
        input_tokens=inp,
        output_tokens=out,
        total_tokens=inp + out,
        input_token_details={"cache_read": 0},
        output_token_details={"reasoning": thinking},
    )


def _latest_user_text(messages: Sequence[BaseMessage]) -> str:
    for message in reversed(messages):
        if isinstance(message, HumanMessage):
            return message.text
    return ""


@dataclass(frozen=True)
class ReplySize:
    """Visible reply tokens and thinking tokens of one answer."""

    output_tokens: int
    thinking_tokens: int = 0


class LaneFake(BaseChatModel):
    """A Gemini lane stand-in with configurable latency and token counts.

    Input tokens are estimated from the prompt's characters. Output tokens come
    from ``replies`` (keyed by the latest user message) or ``output_tokens``.
    ``latency`` is the time to the first chunk (and to the whole reply for
    ``invoke``); ``first_chunk_latency`` makes a stream's first chunk arrive
    earlier, the rest still at ``latency``.
    """

    model_name: str = LITE
    text: str = "a simulated answer from the lane"
    output_tokens: int = 100
    thinking_tokens: int = 0
    latency: float = 0.0
    first_chunk_latency: float | None = None
    chunks: int = 4
    replies: dict[str, ReplySize] = Field(default_factory=dict)

    @property
    def _llm_type(self) -> str:
        return "benchmark-lane-fake"

    def _sizes(self, messages: Sequence[BaseMessage]) -> tuple[int, int, int]:
        reply = self.replies.get(_latest_user_text(messages)) if self.replies else None
        visible = reply.output_tokens if reply else self.output_tokens
        thinking = reply.thinking_tokens if reply else self.thinking_tokens
        return tokens_for(message_chars(messages)), visible + thinking, thinking

    def _reply_text(self, messages: Sequence[BaseMessage]) -> str:
        return self.text

    def _result(self, messages: Sequence[BaseMessage]) -> ChatResult:
        inp, out, thinking = self._sizes(messages)
        message = AIMessage(
            content=self._reply_text(messages),
            usage_metadata=make_usage(inp, out, thinking=thinking),
            response_metadata={"model_name": self.model_name},
        )
        return ChatResult(generations=[ChatGeneration(message=message)])

    def _chunks(self, messages: Sequence[BaseMessage]) -> list[ChatGenerationChunk]:
        """The reply split into ``chunks`` pieces; usage spread, model name on the last."""
        inp, out, thinking = self._sizes(messages)
        text = self._reply_text(messages)
        count = max(1, min(self.chunks, len(text)))
        size = math.ceil(len(text) / count)
        pieces = [text[i : i + size] for i in range(0, len(text), size)] or [""]
        result = []
        per_chunk = out // len(pieces)
        for index, piece in enumerate(pieces):
            last = index == len(pieces) - 1
            chunk_out = out - per_chunk * (len(pieces) - 1) if last else per_chunk
            usage = make_usage(
                inp if index == 0 else 0, chunk_out, thinking=thinking if last else 0
            )
            message = AIMessageChunk(
                content=piece,
                usage_metadata=usage,
                response_metadata={"model_name": self.model_name} if last else {},
            )
            result.append(ChatGenerationChunk(message=message))
        return result

    def _first_wait(self) -> float:
        first = self.first_chunk_latency
        return self.latency if first is None else min(first, self.latency)

    def _generate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        if self.latency > 0:
            time.sleep(self.latency)
        return self._result(messages)

    async def _agenerate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: AsyncCallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        if self.latency > 0:
            await asyncio.sleep(self.latency)
        return self._result(messages)

    def _stream(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> Iterator[ChatGenerationChunk]:
        first = self._first_wait()
        if first > 0:
            time.sleep(first)
        for index, chunk in enumerate(self._chunks(messages)):
            if index == 1 and self.latency > first:
                time.sleep(self.latency - first)
            if run_manager is not None:
                run_manager.on_llm_new_token(chunk.text, chunk=chunk)
            yield chunk

    async def _astream(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: AsyncCallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> AsyncIterator[ChatGenerationChunk]:
        first = self._first_wait()
        if first > 0:
            await asyncio.sleep(first)
        for index, chunk in enumerate(self._chunks(messages)):
            if index == 1 and self.latency > first:
                await asyncio.sleep(self.latency - first)
            if run_manager is not None:
                await run_manager.on_llm_new_token(chunk.text, chunk=chunk)
            yield chunk


# -- the simulated classifier ------------------------------------------------------------

_CODE = re.compile(
    r"\b(code|function|python|javascript|java|c\+\+|sql|program|implement|algorithm|regex|"
    r"debug|bug|compile|class|api|script)\b",
    re.I,
)
_MATH = re.compile(
    r"\b(solve|calculate|compute|how many|how much|how long|how far|probability|equation|"
    r"integer|prime|percent|percentage|average|area|ratio|remainder|profit)\b|%|\$",
    re.I,
)
_REASON = re.compile(
    r"\b(why|prove|analy[sz]e|compare|evaluate|reason|step by step|riddle|puzzle|"
    r"implications?|trade-?offs?|critique)\b",
    re.I,
)
_LIGHT = re.compile(
    r"\b(write|compose|draft|poem|story|email|blog|describe|imagine|pretend|act as|"
    r"slogan|tweet|rephrase|rewrite|suggest|ideas?)\b",
    re.I,
)
_CHEAP = (
    (re.compile(r"\btranslat", re.I), "translation"),
    (re.compile(r"\bsummar", re.I), "summarization"),
    (re.compile(r"\b(extract|identify the|list all|format)\b", re.I), "extraction"),
    (re.compile(r"\b(classify|categori[sz]e|label|sentiment)\b", re.I), "classification"),
)
_NUMBER = re.compile(r"\d+(?:[.,]\d+)?")
_SENTENCE_END = re.compile(r"[.?!](?:\s|$)")


def keyword_score(text: str) -> dict[str, Any]:
    """A plausible, imperfect classifier score for ``text`` (a ``ClassifierScore`` dict).

    Difficulty starts at 0.3. Code words add 0.35 (category ``coding``); maths
    words add 0.15 and many numbers (>= 4, >= 7) add 0.1 each (``reasoning``); analysis
    words add 0.15 (``reasoning``); four or more sentences add 0.1 (a multi-step task);
    a long request (> 600 characters) adds 0.1;
    light writing words take 0.1 off; cheap-lane words (translate, summarise, extract,
    classify) take 0.2 off and name the category. Clipped to [0, 1]. With the default
    ``escalation_threshold`` of 0.6, code and multi-step word problems go to Pro,
    short word problems, writing and chat stay on Flash-Lite.
    """
    score = 0.3
    category = "chat"
    if _CODE.search(text):
        score += 0.35
        category = "coding"
    if _MATH.search(text):
        score += 0.15
        category = "reasoning" if category == "chat" else category
    numbers = len(_NUMBER.findall(text))
    if numbers >= 4:
        score += 0.1
        category = "reasoning" if category == "chat" else category
    if numbers >= 7:
        score += 0.1
    if _REASON.search(text):
        score += 0.15
        category = "reasoning" if category == "chat" else category
    if len(_SENTENCE_END.findall(text)) >= 4:
        score += 0.1  # several sentences of setup: likely a multi-step task
    if len(text) > 600:
        score += 0.1
    if _LIGHT.search(text):
        score -= 0.1
    for pattern, cheap in _CHEAP:
        if pattern.search(text):
            score -= 0.2
            if category == "chat":
                category = cheap
            break
    return {
        "difficulty": round(min(max(score, 0.0), 1.0), 2),
        "needs_tools": False,
        "category": category,
    }


def classifier_request_text(rendered: str) -> str:
    """The latest user message inside the router's rendered classifier input."""
    return read_classifier_input(rendered)[0]


class KeywordClassifier(LaneFake):
    """The classifier lane: answers the router's decision questions from
    :func:`keyword_score`, with real usage (the decision model calls it inline)."""

    model_name: str = LITE
    latency: float = 0.0

    @property
    def _llm_type(self) -> str:
        return "benchmark-keyword-classifier"

    def _reply_text(self, messages: Sequence[BaseMessage]) -> str:
        text = messages[-1].text if messages else ""
        return json.dumps(wire_answer(**keyword_score(classifier_request_text(text))))

    def _sizes(self, messages: Sequence[BaseMessage]) -> tuple[int, int, int]:
        reply = self._reply_text(messages)
        return tokens_for(message_chars(messages)), tokens_for(len(reply)), 0
