"""What a reply reports: its token counts (checked) and the search queries it ran.

LangChain's ``usage_metadata`` is a plain mapping: anything can be in it. A count that
is not a whole number >= 0, a cached count above the prompt or a thinking count above
the output is *bad usage*: the call is not priced (None and a warning), because
clamping or truncating it would be a guess at the bill.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from langchain_core.messages import BaseMessage

__all__ = ["TokenCounts", "read_usage", "search_queries"]


@dataclass(frozen=True)
class TokenCounts:
    """A reply's token counts, as LangChain reports them (cached within the prompt,
    thinking within the output)."""

    prompt: int
    cached: int
    output: int
    reasoning: int


class _BadUsage(ValueError):
    """What is wrong with a usage mapping (caught in :func:`read_usage`)."""


def _is_mapping(value: object) -> bool:
    return type(value) is dict or isinstance(value, Mapping)  # dict first: the usual case


def _count(mapping: Mapping[str, Any], key: str, *, required: bool = False) -> int:
    value = mapping.get(key)
    # An int and not a bool (an int subclass: True is not a token count).
    if type(value) is int and value >= 0:
        return value
    if value is None and not required:
        return 0
    if isinstance(value, int) and not isinstance(value, bool) and value >= 0:
        return int(value)  # an int subclass (numpy's, say) that is a count all the same
    msg = f"bad usage: {key}={value!r} is not a whole number >= 0"
    raise _BadUsage(msg)


def _details(usage: Mapping[str, Any], key: str) -> Mapping[str, Any]:
    details = usage.get(key)
    if details is None:
        return {}
    if not _is_mapping(details):
        msg = f"bad usage: {key}={details!r}"
        raise _BadUsage(msg)
    return details  # type: ignore[no-any-return]


def read_usage(usage: object) -> TokenCounts | str:
    """The checked token counts of a ``usage_metadata`` mapping, or what is wrong with it."""
    if not _is_mapping(usage) or not usage:
        return "no usage reported"
    assert isinstance(usage, Mapping)  # for the type checker: _is_mapping said so
    try:
        prompt = _count(usage, "input_tokens", required=True)
        output = _count(usage, "output_tokens", required=True)
        cached = _count(_details(usage, "input_token_details"), "cache_read")
        reasoning = _count(_details(usage, "output_token_details"), "reasoning")
    except _BadUsage as exc:
        return str(exc)
    if cached > prompt:
        return f"bad usage: cache_read={cached} exceeds input_tokens={prompt}"
    if reasoning > output:
        return f"bad usage: reasoning={reasoning} exceeds output_tokens={output}"
    return TokenCounts(prompt=prompt, cached=cached, output=output, reasoning=reasoning)


def search_queries(message: BaseMessage) -> int:
    """Google Search queries a reply executed: ``grounding_metadata.web_search_queries``."""
    grounding = message.response_metadata.get("grounding_metadata")
    if not isinstance(grounding, Mapping):
        return 0
    queries = grounding.get("web_search_queries")
    return len(queries) if isinstance(queries, list) else 0
