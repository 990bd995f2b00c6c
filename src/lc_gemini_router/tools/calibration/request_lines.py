"""Request lines as a sample: routed by the config's rules, costs estimated from the text."""

from __future__ import annotations

import math
from collections.abc import Iterator, Sequence
from decimal import Decimal
from pathlib import Path
from typing import Literal

from langchain_core.messages import AIMessage, BaseMessage, HumanMessage, SystemMessage
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from lc_gemini_router.classify.classifier import CLASSIFIER_INSTRUCTION, render_classifier_input
from lc_gemini_router.config import Category, RouterConfig
from lc_gemini_router.errors import ConfigError
from lc_gemini_router.routing.policy import RouteRequest, rule_decision
from lc_gemini_router.routing.thresholds import ScoredRequest
from lc_gemini_router.tools.calibration.sample import (
    CHARS_PER_TOKEN,
    CLASSIFIER_OUTPUT_TOKENS,
    DEFAULT_OUTPUT_TOKENS,
    PendingRequest,
    Sample,
    _from_decision,
    _price,
    _tool_names,
)
from lc_gemini_router.tools.jsonl import JsonLine


class _Message(BaseModel):
    model_config = ConfigDict(extra="ignore")

    role: Literal["system", "user", "human", "assistant", "ai"]
    content: str


class _RequestLine(BaseModel):
    """One line of the request format."""

    model_config = ConfigDict(extra="ignore")

    id: str | int | None = None
    prompt: str | None = None
    messages: list[_Message] | None = Field(default=None, min_length=1)
    score: float | None = Field(default=None, ge=0, le=1)
    category: Category = "chat"
    needs_tools: bool = False
    tools: int = Field(default=0, ge=0)
    output_tokens: int = Field(default=DEFAULT_OUTPUT_TOKENS, ge=0)
    classifier_cost: Decimal | None = Field(default=None, ge=0)


def _messages(line: _RequestLine) -> tuple[BaseMessage, ...]:
    if line.messages is None:
        return (HumanMessage(line.prompt or ""),)
    kinds: dict[str, type[BaseMessage]] = {
        "system": SystemMessage,
        "user": HumanMessage,
        "human": HumanMessage,
        "assistant": AIMessage,
        "ai": AIMessage,
    }
    return tuple(kinds[m.role](m.content) for m in line.messages)


def _estimate_tokens(text_length: int) -> int:
    return max(1, math.ceil(text_length / CHARS_PER_TOKEN))


def _read_requests(file: Path, lines: Iterator[JsonLine], config: RouterConfig) -> Sample:
    entries: list[ScoredRequest | PendingRequest] = []
    problems: dict[str, None] = {}
    for number, where, data in lines:
        try:
            line = _RequestLine.model_validate(data)
        except ValidationError as exc:
            raise ConfigError.from_validation(where, exc) from exc
        if (line.prompt is None) == (line.messages is None):
            msg = f'{where}: a request needs exactly one of "prompt" and "messages"'
            raise ConfigError(msg)
        messages = _messages(line)
        request_id = str(line.id) if line.id is not None else str(number)
        chars = sum(len(str(m.content)) for m in messages)
        usage = {"input_tokens": _estimate_tokens(chars), "output_tokens": line.output_tokens}
        lite = _price(config.lite_model, usage, "standard", problems)
        pro = _price(config.pro_model, usage, "standard", problems)
        tool_names = _tool_names(line.tools)
        ruled = rule_decision(RouteRequest(messages=messages, tool_names=tool_names), config)
        if ruled is not None:
            entries.append(_from_decision(request_id, ruled, lite, pro, Decimal(0)))
        elif line.score is None:
            entries.append(PendingRequest(request_id, messages, line.tools, lite, pro, where))
        else:
            classifier_cost = line.classifier_cost
            if classifier_cost is None:
                classifier_cost = _classifier_estimate(messages, tool_names, config, problems)
            entries.append(
                ScoredRequest(
                    request_id,
                    score=line.score,
                    category=line.category,
                    needs_tools=line.needs_tools,
                    tools=line.tools,
                    lite_cost=lite,
                    pro_cost=pro,
                    classifier_cost=classifier_cost,
                )
            )
    return Sample(path=file, format="requests", entries=tuple(entries), notes=tuple(problems))


def _classifier_estimate(
    messages: Sequence[BaseMessage],
    tool_names: Sequence[str],
    config: RouterConfig,
    problems: dict[str, None],
) -> Decimal:
    """What one classifier call on this request costs, from the size of its input."""
    settings = config.classifier
    if not settings.enabled:
        return Decimal(0)
    text = render_classifier_input(messages, tool_names, settings)
    usage = {
        "input_tokens": _estimate_tokens(len(CLASSIFIER_INSTRUCTION) + len(text)),
        "output_tokens": CLASSIFIER_OUTPUT_TOKENS,
    }
    return _price(settings.model, usage, "standard", problems) or Decimal(0)
