"""Gemini 3 thought signatures across lane switches.

Gemini 3 returns an opaque ``thought_signature`` with each function call and
expects it back in the same turn; a signature made by *another* model is rejected
with 400 INVALID_ARGUMENT. langchain-google-genai keeps signatures in
``additional_kwargs["__gemini_function_call_thought_signatures__"]`` (by tool call
ID) and on content blocks (``thought_signature``, ``signature`` or
``extras.signature``). When the router sends a history to a model other than the
one that wrote a message, it removes that message's signatures (and its thinking
blocks, which are meaningless to another model); the client then inserts Gemini's
documented ``skip_thought_signature_validator`` sentinel where one is required.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from langchain_core.messages import AIMessage, BaseMessage

from lc_gemini_router.pricing.catalog import normalize_model_id

__all__ = ["SIGNATURE_MAP_KEY", "strip_foreign_signatures"]

SIGNATURE_MAP_KEY = "__gemini_function_call_thought_signatures__"
_SIGNATURE_KEYS = ("thought_signature", "signature")
_THINKING_TYPES = ("thinking", "reasoning")


def _author(message: AIMessage) -> str | None:
    name = message.response_metadata.get("model_name")
    return normalize_model_id(name) if isinstance(name, str) and name else None


def _clean_block(block: Any) -> Any | None:
    """The block without signatures; None for a thinking block (dropped)."""
    if not isinstance(block, Mapping):
        return block
    if block.get("type") in _THINKING_TYPES:
        return None
    cleaned = {k: v for k, v in block.items() if k not in _SIGNATURE_KEYS}
    extras = cleaned.get("extras")
    if isinstance(extras, Mapping) and "signature" in extras:
        cleaned["extras"] = {k: v for k, v in extras.items() if k != "signature"}
    return cleaned


def _has_signatures(message: AIMessage) -> bool:
    if SIGNATURE_MAP_KEY in message.additional_kwargs:
        return True
    if isinstance(message.content, str):
        return False
    for block in message.content:
        if isinstance(block, Mapping):
            extras = block.get("extras")
            if block.get("type") in _THINKING_TYPES or any(k in block for k in _SIGNATURE_KEYS):
                return True
            if isinstance(extras, Mapping) and "signature" in extras:
                return True
    return False


def strip_foreign_signatures(
    messages: Sequence[BaseMessage], target_model: str
) -> list[BaseMessage]:
    """The history with signatures removed from AI messages written by other models.

    Messages written by ``target_model`` keep their signatures (Gemini needs them
    to continue its reasoning), as do AI messages with no known author. Nothing is
    copied when there is nothing to remove.

    Example:
        >>> from langchain_core.messages import AIMessage
        >>> from lc_gemini_router.routing.signatures import strip_foreign_signatures
        >>> call = {"name": "f", "args": {}, "id": "1", "type": "tool_call"}
        >>> msg = AIMessage(
        ...     content="",
        ...     tool_calls=[call],
        ...     additional_kwargs={"__gemini_function_call_thought_signatures__": {"1": "c2ln"}},
        ...     response_metadata={"model_name": "gemini-3.1-flash-lite"},
        ... )
        >>> strip_foreign_signatures([msg], "gemini-3.1-pro-preview")[0].additional_kwargs
        {}
    """
    target = normalize_model_id(target_model)
    result: list[BaseMessage] = []
    for message in messages:
        if not isinstance(message, AIMessage):
            result.append(message)
            continue
        author = _author(message)
        if author is None or author == target or not _has_signatures(message):
            result.append(message)
            continue
        kwargs = {k: v for k, v in message.additional_kwargs.items() if k != SIGNATURE_MAP_KEY}
        content: str | list[str | dict[Any, Any]]
        if isinstance(message.content, str):
            content = message.content
        else:
            content = [b for b in map(_clean_block, message.content) if b is not None]
        result.append(message.model_copy(update={"additional_kwargs": kwargs, "content": content}))
    return result
