"""The worst case a call can cost, before it is sent: what a reservation holds.

Prompt: a bound, not a guess. Gemini's tokenizer never makes more than one token of
one byte of UTF-8 text, so the prompt is counted as its bytes (message text, tool
calls and results, bound tool definitions), plus :data:`MESSAGE_OVERHEAD` tokens a
message for role markers and :data:`ATTACHMENT_TOKENS` for each image or file.
Output: the lane's ``max_output_tokens`` (per call, else the model's, else its
profile's, else Gemini's 65,536), which caps thinking too, plus an explicit
``thinking_budget``. Both are priced at the lane's rates for the service tier, at the
long-context rates when the prompt bound passes the model's threshold. An image model
may also return an image per candidate: of the requested ``image_size``, else of the
largest size class the catalog lists, at the image rate (none when the call's
``response_modalities`` leave IMAGE out). Settlement later counts the exact cost and
releases the rest, so the bound only decides what fits, never what is billed.

Example:
    >>> from langchain_core.messages import HumanMessage
    >>> from lc_gemini_router import default_catalog
    >>> from lc_gemini_router.budgets.estimate import prompt_bound, worst_case
    >>> prompt = prompt_bound([HumanMessage("Translate 'thank you' into Italian")], [])
    >>> prompt  # 34 bytes of text and 8 for the message
    42
    >>> worst_case("gemini-3.1-flash-lite", prompt, 1000, default_catalog()).total
    Decimal('0.0015105')
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, BaseMessage

from lc_gemini_router.errors import ConfigError
from lc_gemini_router.pricing.catalog import PriceCatalog, Rates, ServiceTier

__all__ = [
    "ATTACHMENT_TOKENS",
    "GEMINI_MAX_OUTPUT",
    "MESSAGE_OVERHEAD",
    "WorstCase",
    "image_cap",
    "output_cap",
    "prompt_bound",
    "worst_case",
]

MESSAGE_OVERHEAD = 8
"""Tokens counted per message for its role and turn markers."""
ATTACHMENT_TOKENS = 4096
"""Tokens counted per image, audio, video or file block. An image costs at most 1,120
at Gemini 3's highest media resolution; long audio, video or many-page PDFs can cost
more: leave headroom in budgets that pay for those."""
GEMINI_MAX_OUTPUT = 65_536
"""Output tokens Gemini 3.1 models return at most, when nothing smaller is set."""
_MILLION = Decimal(1_000_000)
_TEXT_TYPES = frozenset({"text", "thinking", "reasoning"})


@dataclass(frozen=True)
class WorstCase:
    """What a call can cost at most: its input part and its output part."""

    model: str
    prompt_tokens: int
    output_tokens: int
    input_cost: Decimal
    output_cost: Decimal

    @property
    def total(self) -> Decimal:
        return self.input_cost + self.output_cost


def _size(value: Any) -> int:
    if isinstance(value, str):
        return len(value.encode())
    return len(json.dumps(value, default=str, ensure_ascii=False).encode())


def _content_bound(content: str | list[Any]) -> int:
    if isinstance(content, str):
        return _size(content)
    tokens = 0
    for block in content:
        if isinstance(block, str):
            tokens += _size(block)
        elif isinstance(block, Mapping) and block.get("type") in _TEXT_TYPES:
            tokens += _size(block.get("text") or block.get("thinking") or "")
        else:
            tokens += ATTACHMENT_TOKENS
    return tokens


def prompt_bound(messages: Sequence[BaseMessage], tools: Sequence[Any]) -> int:
    """At most how many prompt tokens ``messages`` and ``tools`` make (see the module)."""
    tokens = sum(_size(tool) for tool in tools)
    for message in messages:
        tokens += MESSAGE_OVERHEAD + _content_bound(message.content)
        if isinstance(message, AIMessage) and message.tool_calls:
            tokens += sum(_size({"name": c["name"], "args": c["args"]}) for c in message.tool_calls)
    return tokens


def _positive(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) and value > 0 else None


def output_cap(model: BaseChatModel, kwargs: Mapping[str, Any]) -> int:
    """The most output tokens (thinking included) one call of ``model`` can return."""
    generation = kwargs.get("generation_config")
    per_call = generation if isinstance(generation, Mapping) else {}
    cap = (
        _positive(per_call.get("max_output_tokens"))
        or _positive(kwargs.get("max_output_tokens"))
        or _positive(kwargs.get("max_tokens"))
        or _positive(getattr(model, "max_output_tokens", None))
        or _positive(getattr(model, "max_tokens", None))
        or _positive((model.profile or {}).get("max_output_tokens"))
        or GEMINI_MAX_OUTPUT
    )
    thinking = _positive(kwargs.get("thinking_budget", getattr(model, "thinking_budget", None)))
    return cap + (thinking or 0)


def image_cap(
    model_id: str, model: BaseChatModel, kwargs: Mapping[str, Any], catalog: PriceCatalog
) -> int:
    """The most image output tokens one call can return (0 for a model with no images)."""
    entry = catalog.get(model_id, warn=False)
    sizes = entry.image_tokens if entry is not None else {}
    if not sizes:
        return 0
    modalities = kwargs.get("response_modalities") or getattr(model, "response_modalities", None)
    if modalities and not any(str(getattr(m, "value", m)).upper() == "IMAGE" for m in modalities):
        return 0
    config = kwargs.get("image_config") or getattr(model, "image_config", None) or {}
    size = config.get("image_size") if isinstance(config, Mapping) else None
    tokens = sizes[size] if size in sizes else max(sizes.values())
    candidates = (
        _positive(kwargs.get("n"))
        or _positive(kwargs.get("candidate_count"))
        or _positive(getattr(model, "n", None))
        or 1
    )
    return tokens * candidates


def worst_case(
    model: str,
    prompt_tokens: int,
    output_tokens: int,
    catalog: PriceCatalog,
    tier: ServiceTier = "standard",
    image_tokens: int = 0,
) -> WorstCase:
    """The most ``prompt_tokens`` in and ``output_tokens`` out can cost on ``model``.

    Raises:
        ConfigError: the catalog has no price for the model or tier, so no budget
            could cover it (raised before any request).
    """
    entry = catalog.get(model, warn=False)
    prices = entry.tier(tier) if entry is not None else None
    if entry is None or prices is None:
        msg = f"no {tier} price for model {model!r}: a budget cannot cover an unpriced call"
        raise ConfigError(msg)
    threshold = entry.long_context_threshold
    long = threshold is not None and prompt_tokens > threshold and prices.long_context
    rates: Rates = prices.long_context if long and prices.long_context else prices
    if rates.input is None or rates.output is None:  # a model listed without a price
        msg = f"no {tier} price for model {model!r}: a budget cannot cover an unpriced call"
        raise ConfigError(msg)
    if image_tokens and rates.image_output is None:
        msg = f"no {tier} image price for model {model!r}: a budget cannot cover its images"
        raise ConfigError(msg)
    image_cost = image_tokens * (rates.image_output or Decimal(0))
    return WorstCase(
        model=entry.id,
        prompt_tokens=prompt_tokens,
        output_tokens=output_tokens + image_tokens,
        input_cost=prompt_tokens * rates.input / _MILLION,
        output_cost=(output_tokens * rates.output + image_cost) / _MILLION,
    )
