"""Request lines as a sample: routed by the config's rules, costs estimated from the text."""

from __future__ import annotations

import math
from collections.abc import Iterator, Sequence
from decimal import Decimal
from pathlib import Path
from typing import Any, Literal

from langchain_core.messages import AIMessage, BaseMessage, HumanMessage, SystemMessage
from pydantic import BaseModel, ConfigDict, Field, StrictBool, StrictInt, StrictStr, ValidationError

from lc_gemini_router.classify.classifier import CLASSIFIER_INSTRUCTION, render_classifier_input
from lc_gemini_router.config import Category, RouterConfig
from lc_gemini_router.errors import ConfigError
from lc_gemini_router.routing.policy import RouteRequest, rule_decision
from lc_gemini_router.routing.thresholds import ScoredRequest
from lc_gemini_router.tools import limits
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
from lc_gemini_router.tools.limits import MAX_TOOLS, BadValue


class _Message(BaseModel):
    model_config = ConfigDict(extra="ignore")

    role: Literal["system", "user", "human", "assistant", "ai"]
    content: str


class _RequestLine(BaseModel):
    """One line of the request format."""

    model_config = ConfigDict(extra="ignore")

    id: StrictStr | StrictInt | None = None
    prompt: str | None = None
    messages: list[_Message] | None = Field(default=None, min_length=1)
    # The numbers are checked against limits before validation (see _checked_numbers).
    score: float | None = None
    category: Category = "chat"
    needs_tools: StrictBool = False
    tools: int = 0
    output_tokens: int = DEFAULT_OUTPUT_TOKENS
    classifier_cost: Decimal | None = None


def _checked_numbers(data: dict[str, Any]) -> dict[str, Any]:
    """The line with its numbers checked as a cost log's are (same bounds, same messages).

    Raises:
        BadValue: a score outside 0..1, a count or an amount out of range, a bool or
            a string where a number belongs.
    """
    checked = dict(data)
    if data.get("score") is not None:
        checked["score"] = limits.score(data["score"])
    if data.get("tools") is not None:
        checked["tools"] = limits.count(data["tools"], "tools", MAX_TOOLS)
    if data.get("output_tokens") is not None:
        checked["output_tokens"] = limits.count(data["output_tokens"], "output_tokens")
    checked["classifier_cost"] = limits.amount(data.get("classifier_cost"), "classifier_cost")
    return checked


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
            line = _RequestLine.model_validate(_checked_numbers(data))
        except BadValue as exc:
            raise ConfigError(f"{where}: {exc}") from None
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
