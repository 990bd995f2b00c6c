"""Errors and warnings of lc-gemini-router.

Every error the package raises derives from one root, and every warning from one
warning class, so callers can catch or filter the whole family at once::

    GeminiRouterError
    ├── ConfigError (also ValueError)         invalid configuration or price catalog
    │   ├── UnknownLaneError                  a lane name that does not exist
    │   └── RetiredModelError                 a model ID that Gemini has shut down
    ├── UnsupportedInputError (also ValueError) input the router cannot route
    └── LaneError                             a lane failed after its retries, no fallback

    GeminiRouterWarning (UserWarning)
    ├── UnknownPriceWarning                   a model with no price: its cost is None
    ├── ModelLifecycleWarning                 a deprecated or shut-down model ID
    └── ApiVersionWarning                     a lane whose API version does not serve its model
"""

from __future__ import annotations

__all__ = [
    "ApiVersionWarning",
    "ConfigError",
    "GeminiRouterError",
    "GeminiRouterWarning",
    "LaneError",
    "ModelLifecycleWarning",
    "RetiredModelError",
    "UnknownLaneError",
    "UnknownPriceWarning",
    "UnsupportedInputError",
]


class GeminiRouterError(Exception):
    """Root of every error raised by lc-gemini-router."""


class ConfigError(GeminiRouterError, ValueError):
    """Invalid configuration: a router setting, a price catalog, a lane."""


class UnknownLaneError(ConfigError):
    """A lane name that the router does not have."""

    def __init__(self, lane: str, known: tuple[str, ...]) -> None:
        self.lane = lane
        self.known = known
        msg = f"unknown lane {lane!r}; expected one of: {', '.join(known)}"
        super().__init__(msg)


class RetiredModelError(ConfigError):
    """A model ID that Gemini no longer serves; the message names its replacement."""

    def __init__(self, model: str, replacement: str | None, detail: str = "") -> None:
        self.model = model
        self.replacement = replacement
        msg = f"model {model!r} has been shut down"
        if detail:
            msg += f" ({detail})"
        if replacement:
            msg += f"; use {replacement!r} instead"
        super().__init__(msg)


class UnsupportedInputError(GeminiRouterError, ValueError):
    """Input the router cannot route (an empty message list, an unknown input type)."""


class LaneError(GeminiRouterError):
    """A lane's model failed after its own retries and no fallback lane answered.

    Attributes:
        lane: the lane that failed (``"lite"``, ``"pro"``, ...).
        model: the model ID of that lane.
    """

    def __init__(self, lane: str, model: str, cause: BaseException) -> None:
        self.lane = lane
        self.model = model
        msg = f"lane {lane!r} ({model}) failed: {type(cause).__name__}: {cause}"
        super().__init__(msg)
        self.__cause__ = cause


class GeminiRouterWarning(UserWarning):
    """Root of every warning issued by lc-gemini-router."""


class UnknownPriceWarning(GeminiRouterWarning):
    """A call whose model has no price in the catalog; its cost is reported as None."""


class ModelLifecycleWarning(GeminiRouterWarning):
    """A model ID that is deprecated or shut down; the message names its replacement."""


class ApiVersionWarning(GeminiRouterWarning):
    """A ready lane whose Gemini API version does not serve its model (a 404 waiting).

    Raised at construction for a lane the caller built, e.g. a preview model on
    ``v1`` (google-genai 3.x's default); the router never changes such a lane.
    """
