"""Input the router refuses before any request: each a typed error naming the problem.

Gemini would refuse these too, but only after the classifier was paid for, and
often with an error from the lane that names neither the message nor the fix.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence

from langchain_core.messages import (
    AIMessage,
    BaseMessage,
    HumanMessage,
    SystemMessage,
    ToolMessage,
)
from langchain_core.messages.content import KNOWN_BLOCK_TYPES

from lc_gemini_router.errors import UnsupportedInputError
from lc_gemini_router.routing.policy import RouteRequest

__all__ = ["GEMINI_BLOCK_TYPES", "check_messages", "check_window"]

GEMINI_BLOCK_TYPES = frozenset(KNOWN_BLOCK_TYPES) | {
    # Provider-specific blocks langchain-google-genai reads and writes.
    "image_url",
    "media",
    "thinking",
    "executable_code",
    "code_execution_result",
    "function_call",
    "file_data",
}
"""Content block types a message may carry: LangChain's standard ones and Gemini's."""

_SURROGATE = re.compile("[\ud800-\udfff]")
_TEXT_FIELDS = ("text", "reasoning", "thinking")


def _texts(message: BaseMessage) -> list[str]:
    content = message.content
    if isinstance(content, str):
        return [content]
    texts: list[str] = []
    for block in content:
        if isinstance(block, str):
            texts.append(block)
        elif isinstance(block, Mapping):
            texts += [block[f] for f in _TEXT_FIELDS if isinstance(block.get(f), str)]
    return texts


def _says_something(message: BaseMessage) -> bool:
    """Whether a message carries anything to answer: text, an attachment, a tool step."""
    if isinstance(message, ToolMessage) or (isinstance(message, AIMessage) and message.tool_calls):
        return True
    content = message.content
    if isinstance(content, str):
        return bool(content.strip())
    for block in content:
        if isinstance(block, str):
            if block.strip():
                return True
        elif isinstance(block, Mapping) and block.get("type") not in ("text", None):
            return True  # an image, a file, ...
        elif isinstance(block, Mapping) and str(block.get("text", "")).strip():
            return True
    return False


def check_messages(messages: Sequence[BaseMessage]) -> None:
    """Refuse input no lane can answer, before any request.

    Raises:
        UnsupportedInputError: no messages; only a system message; nothing but empty
            or whitespace text; a lone UTF-16 surrogate (it cannot be encoded for the
            API); a content block of a type neither LangChain nor Gemini knows.
    """
    if not messages:
        msg = "GeminiRouter needs at least one message; got an empty list"
        raise UnsupportedInputError(msg)
    for index, message in enumerate(messages):
        content = message.content
        # Only what the user writes: an assistant's history holds its provider's own
        # blocks (tool_use and the like), which the lanes convert.
        user_written = isinstance(message, (HumanMessage, SystemMessage))
        blocks = content if isinstance(content, list) and user_written else []
        for block in blocks:
            kind = block.get("type") if isinstance(block, Mapping) else None
            if not isinstance(block, (str, Mapping)) or (
                isinstance(block, Mapping) and kind not in GEMINI_BLOCK_TYPES
            ):
                shown = kind if isinstance(block, Mapping) else type(block).__name__
                msg = (
                    f"message {index} ({message.type}) has a content block of type "
                    f"{shown!r}, which Gemini cannot take"
                )
                raise UnsupportedInputError(msg)
        for text in _texts(message):
            found = _SURROGATE.search(text)
            if found is not None:
                msg = (
                    f"message {index} ({message.type}) holds a lone surrogate "
                    f"{found.group()!r} at character {found.start()}: it is not valid "
                    "Unicode text and cannot be sent (decode the source with "
                    "errors='replace')"
                )
                raise UnsupportedInputError(msg)
    if all(isinstance(m, SystemMessage) for m in messages):
        msg = "GeminiRouter got only a system message: add the user's message to answer"
        raise UnsupportedInputError(msg)
    if not any(_says_something(m) for m in messages if not isinstance(m, SystemMessage)):
        msg = "GeminiRouter got only empty or whitespace messages: there is nothing to answer"
        raise UnsupportedInputError(msg)


def check_window(request: RouteRequest, max_tokens: int) -> None:
    """Refuse a prompt estimated (characters / 4) beyond the lanes' input window.

    Raises:
        UnsupportedInputError: the estimate exceeds ``max_tokens``.
    """
    size = request.estimated_tokens
    if size > max_tokens:
        msg = (
            f"the prompt is about {size:,} tokens, beyond the lanes' input window of "
            f"{max_tokens:,} (RouterConfig.max_prompt_tokens): trim it or split the work"
        )
        raise UnsupportedInputError(msg)
