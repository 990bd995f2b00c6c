"""The chat models behind lanes: their thinking level, what they can do, and which of
their failures another lane can get around."""

from __future__ import annotations

import functools
from typing import Any, cast

from langchain_core.exceptions import ModelNotFoundError
from langchain_core.language_models import BaseChatModel, ModelProfile

__all__ = ["google_profile", "lane_unavailable", "least_thinking", "shared_profile"]


@functools.cache
def google_profile(model_id: str) -> ModelProfile | None:
    """langchain-google-genai's profile of a model ID, without building a client."""
    try:
        from langchain_google_genai.chat_models import _get_default_model_profile
    except ImportError:  # a private helper: a release without it only loses the profile
        return None
    profile = _get_default_model_profile(model_id)
    return profile or None


def least_thinking(model: BaseChatModel) -> BaseChatModel:
    """The model set to the lowest thinking level its profile lists.

    Flash-Lite thinks "minimal"; Pro's lowest is "low" (it rejects "minimal"). A model
    with no profile keeps its default.
    """
    levels = (model.profile or {}).get("reasoning_effort_levels")
    if not levels:
        return model
    order = ("minimal", "low", "medium", "high")
    lowest = min(levels, key=lambda level: order.index(level) if level in order else len(order))
    return model.model_copy(update={"reasoning_effort": lowest})


def shared_profile(profiles: list[ModelProfile]) -> ModelProfile:
    """What every lane can do (a request may land on any): the flags all share, the
    smallest token limits; lane-specific details such as thinking levels are left out."""
    merged: dict[str, Any] = {"name": "GeminiRouter"}
    for key in set().union(*(dict(p) for p in profiles)):
        values = [dict(p).get(key) for p in profiles]
        if all(isinstance(v, bool) for v in values):
            merged[key] = all(values)
        elif key in ("max_input_tokens", "max_output_tokens") and all(
            isinstance(v, int) for v in values
        ):
            merged[key] = min(cast("list[int]", values))
    return cast("ModelProfile", merged)


_TRANSPORT_FAULTS = frozenset(
    {
        # httpx / httpx2 / httpcore: a read or connect timeout, a dropped connection
        "TimeoutException",
        "NetworkError",
        "RemoteProtocolError",
        # aiohttp (google-genai's async transport when it is installed)
        "ServerTimeoutError",
        "ClientConnectionError",
    }
)
_TRANSPORT_MODULES = ("httpx", "httpcore", "aiohttp")


def _transport_fault(error: BaseException) -> bool:
    """A timeout or lost connection raised by an HTTP client google-genai may use.

    They are not builtin ``TimeoutError`` / ``ConnectionError`` subclasses, and the SDK
    re-raises them unwrapped when its retries run out.
    """
    return any(
        cls.__name__ in _TRANSPORT_FAULTS and cls.__module__.startswith(_TRANSPORT_MODULES)
        for cls in type(error).__mro__
    )


def lane_unavailable(error: BaseException) -> bool:
    """Whether another lane may answer what this lane failed: the fault was the lane's.

    True for what langchain-core marks ``is_retryable`` (429, 5xx, timeouts, lost
    connections, also found on the cause chain, as the builtin ``TimeoutError`` /
    ``ConnectionError``, or as the HTTP client's own timeout and connection errors)
    and for a 404 (``ModelNotFoundError``: this lane's model is not served here, e.g.
    a preview model on API v1). Invalid requests (400), auth
    errors and bugs (``TypeError``) would fail on any lane, so they propagate.
    """
    seen: set[int] = set()
    current: BaseException | None = error
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if getattr(current, "is_retryable", False) is True:
            return True
        if isinstance(current, (ModelNotFoundError, TimeoutError, ConnectionError)):
            return True
        if _transport_fault(current):
            return True
        current = current.__cause__
    return False
