"""A labelled item: what routing sees, and how good each lane's answer was."""

from __future__ import annotations

import math
from dataclasses import dataclass
from fractions import Fraction
from typing import Literal, get_args

from langchain_core.messages import AIMessage, BaseMessage, HumanMessage, SystemMessage

from lc_gemini_router.config import Lane
from lc_gemini_router.errors import GeminiRouterError

DatasetFormat = Literal["mt-bench", "gsm8k", "jsonl"]
FORMATS: tuple[DatasetFormat, ...] = get_args(DatasetFormat)
Role = Literal["system", "user", "assistant"]
STRONG_MODEL = "gpt-4-1106-preview"
"""RouteLLM's strong model: its recorded answers stand for Pro."""
WEAK_MODEL = "mistralai/Mixtral-8x7B-Instruct-v0.1"
"""RouteLLM's weak model: its recorded answers stand for Flash-Lite."""
CHARS_PER_TOKEN = 4
DEFAULT_OUTPUT_TOKENS = 400
"""Reply length assumed on each lane when a dataset records none."""


class DatasetError(GeminiRouterError, ValueError):
    """A dataset that is missing, of an unknown format, or malformed (names file:line)."""


def _tokens(chars: int) -> int:
    """About four characters per token, at least one."""
    return max(1, math.ceil(chars / CHARS_PER_TOKEN))


@dataclass(frozen=True)
class EvalItem:
    """One labelled request: what routing sees, and how good each lane's answer was."""

    id: str
    messages: tuple[tuple[Role, str], ...]
    """``(role, text)`` pairs; routing reads them as the call's messages."""
    quality_lite: Fraction
    """Quality of the weak model's answer (the ``lite`` lane)."""
    quality_pro: Fraction
    """Quality of the strong model's answer (the ``pro`` lanes)."""
    score: float | None = None
    """A recorded classifier difficulty (0-1), for ``scorer="recorded"``."""
    category: str | None = None
    """The dataset's category (MT-Bench's ``writing``...) or one of the router's."""
    input_tokens: int | None = None
    """Prompt tokens over every call the item costs; None: the text at ~4 chars/token."""
    output_tokens_lite: int | None = None
    """Reply tokens on Flash-Lite; None: :data:`DEFAULT_OUTPUT_TOKENS`."""
    output_tokens_pro: int | None = None
    """Reply tokens on Pro; None: :data:`DEFAULT_OUTPUT_TOKENS`."""
    resent_tokens_lite: int = 0
    """Flash-Lite's own earlier answers sent back as input (a multi-turn item)."""
    resent_tokens_pro: int = 0
    """Pro's own earlier answers sent back as input (a multi-turn item)."""

    def __post_init__(self) -> None:
        if not any(role == "user" for role, _ in self.messages):
            msg = f"item {self.id!r} has no user message"
            raise ValueError(msg)
        for name in ("quality_lite", "quality_pro"):
            object.__setattr__(self, name, Fraction(getattr(self, name)))

    @property
    def prompt(self) -> str:
        """The latest user message."""
        return next(text for role, text in reversed(self.messages) if role == "user")

    @property
    def replies_recorded(self) -> bool:
        """True when both reply lengths come from the dataset."""
        return self.output_tokens_lite is not None and self.output_tokens_pro is not None

    def to_messages(self) -> list[BaseMessage]:
        """The messages as LangChain messages."""
        kinds: dict[Role, type[BaseMessage]] = {
            "system": SystemMessage,
            "user": HumanMessage,
            "assistant": AIMessage,
        }
        return [kinds[role](content=text) for role, text in self.messages]

    def usage(self, lane: Lane) -> dict[str, int]:
        """The token counts an answer on ``lane`` costs, as LangChain usage metadata."""
        prompt = self.input_tokens
        if prompt is None:
            prompt = _tokens(sum(len(text) for _, text in self.messages))
        if lane == "lite":
            output, resent = self.output_tokens_lite, self.resent_tokens_lite
        else:
            output, resent = self.output_tokens_pro, self.resent_tokens_pro
        return {
            "input_tokens": prompt + resent,
            "output_tokens": DEFAULT_OUTPUT_TOKENS if output is None else output,
        }
