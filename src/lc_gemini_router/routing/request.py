"""From a chat-model call's keyword arguments to what routing reads: tools, tool choice,
and the per-call settings that are misspelt or cannot take effect."""

from __future__ import annotations

import difflib
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from langchain_core.tools import BaseTool
from langchain_core.utils.function_calling import convert_to_openai_tool

from lc_gemini_router.config import RouterConfig
from lc_gemini_router.errors import ConfigError

__all__ = [
    "CONFIG_FIELDS",
    "PER_CALL_CLASSIFIER",
    "ROUTER_KWARGS",
    "check_per_call",
    "format_tools",
    "named_tool",
    "normalise_tool_choice",
    "tool_names",
]

CONFIG_FIELDS = frozenset(RouterConfig.model_fields)
ROUTER_KWARGS = CONFIG_FIELDS | {"lane"}
"""Per-call keywords the router reads itself; every other keyword goes to the lane."""

# Per-call classifier settings that take effect; the rest are fixed when the
# classifier (its model, deadline, cache and breaker) is built.
PER_CALL_CLASSIFIER = frozenset({"enabled", "fallback_lane"})


def check_per_call(overrides: Mapping[str, Any], lane_kwargs: Mapping[str, Any]) -> None:
    """Reject per-call settings that are misspelt or cannot take effect, before any call."""
    classifier = overrides.get("classifier")
    if isinstance(classifier, Mapping):
        fixed = sorted(set(classifier) - PER_CALL_CLASSIFIER)
        if fixed:
            msg = (
                f"classifier settings {fixed} cannot change per call (only "
                f"{sorted(PER_CALL_CLASSIFIER)} can): set them on the router's config"
            )
            raise ConfigError(msg)
    for key in lane_kwargs:
        close = difflib.get_close_matches(key, sorted(ROUTER_KWARGS), n=1, cutoff=0.8)
        if close:
            msg = f"unknown per-call setting {key!r}; did you mean {close[0]!r}?"
            raise ConfigError(msg)


def tool_names(tool: Mapping[str, Any]) -> list[str]:
    function = tool.get("function")
    if isinstance(function, Mapping) and isinstance(function.get("name"), str):
        return [function["name"]]
    declarations = tool.get("function_declarations") or tool.get("functionDeclarations")
    if isinstance(declarations, list):
        return [d["name"] for d in declarations if isinstance(d, Mapping) and "name" in d]
    return [str(key) for key in tool]  # a built-in such as {"google_search": {}}


def format_tools(
    tools: Sequence[dict[str, Any] | type | Callable[..., Any] | BaseTool],
) -> list[dict[str, Any]]:
    """Tools in OpenAI function format; Gemini built-ins (``{"google_search": {}}``) as-is."""
    formatted: list[dict[str, Any]] = []
    for tool in tools:
        try:
            formatted.append(convert_to_openai_tool(tool))
        except (ValueError, TypeError):
            if not isinstance(tool, dict):
                raise
            formatted.append(tool)
    return formatted


def named_tool(name: str) -> dict[str, Any]:
    """A tool definition with only a name, for routing (which never runs tools)."""
    parameters = {"type": "object", "properties": {}}
    return {"type": "function", "function": {"name": name, "parameters": parameters}}


def normalise_tool_choice(choice: Any) -> str | None:
    if choice is None or choice is False:
        return None
    if choice is True or choice in ("any", "required"):
        return "any"
    if isinstance(choice, str):
        return choice
    if isinstance(choice, Mapping):
        function = choice.get("function")
        if isinstance(function, Mapping) and isinstance(function.get("name"), str):
            return str(function["name"])
        if isinstance(choice.get("name"), str):
            return str(choice["name"])
    return "any"
