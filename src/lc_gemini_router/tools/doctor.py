"""One tiny request per lane: does each lane answer, on which API version, at what cost?

:func:`check_lanes` sends one short prompt to the classifier and to every answer
lane of a router (each a normal LangChain run, priced by the cost handler) and
reports the model, the Gemini API version and where it came from, the model's
lifecycle, latency, tokens and the exact cost, or the error. The CLI's ``doctor``
command prints it with :func:`installed_versions`, so a user who meets the next
SDK change sees which lane broke, and why, in one command.

Example:
    >>> from lc_gemini_router.tools.backend import gemini_backend
    >>> from lc_gemini_router.tools.doctor import check_lanes
    >>> with gemini_backend(live=False) as backend:
    ...     router = backend.router()
    ...     checks = check_lanes(router)
    ...     router.close()
    >>> [(c.lane, c.api_version, c.ok) for c in checks]  # doctest: +NORMALIZE_WHITESPACE
    [('classifier', 'v1beta', True), ('lite', 'v1beta', True), ('pro', 'v1beta', True),
     ('pro_tools', 'v1beta', True)]
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from decimal import Decimal
from importlib import metadata

from langchain_core.language_models import BaseChatModel

from lc_gemini_router.callbacks.handler import get_gemini_cost_callback
from lc_gemini_router.pricing.catalog import default_catalog
from lc_gemini_router.router import GeminiRouter

__all__ = ["DOCTOR_PROMPT", "LaneCheck", "check_lanes", "installed_versions"]

DOCTOR_PROMPT = "Reply with the single word OK."
"""What each lane is asked: a handful of tokens, whatever the model."""
_PACKAGES = ("lc-gemini-router", "google-genai", "langchain-google-genai", "langchain-core")


@dataclass(frozen=True)
class LaneCheck:
    """What one lane did with the doctor's request."""

    lane: str
    model: str
    api_version: str | None
    """None for a ready lane that is not a Gemini Developer API model (Vertex AI, ...)."""
    api_version_source: str | None
    lifecycle: str
    """The catalog's status (``ga``, ``preview``, ``deprecated``), or ``unknown``."""
    latency_s: float | None
    input_tokens: int
    output_tokens: int
    cost: Decimal | None
    """Exact USD of the request; None when it has no price (or it failed unbilled)."""
    error: str | None = None

    @property
    def ok(self) -> bool:
        return self.error is None


def installed_versions() -> dict[str, str]:
    """Installed versions of the packages a lane's behaviour depends on."""
    versions = {}
    for name in _PACKAGES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = "not installed"
    return versions


def _check(router: GeminiRouter, lane: str, model: BaseChatModel, model_id: str) -> LaneCheck:
    version = router.lane_api_version(lane)
    entry = (router.catalog or default_catalog()).get(model_id, warn=False)
    error = None
    latency = None
    with get_gemini_cost_callback() as cb:
        start = time.perf_counter()
        try:
            model.invoke(DOCTOR_PROMPT)
        except Exception as exc:  # the doctor reports every failure; it never raises one
            error = f"{type(exc).__name__}: {exc}"
        else:
            latency = time.perf_counter() - start
    return LaneCheck(
        lane=lane,
        model=model_id,
        api_version=version.version if version else None,
        api_version_source=version.source if version else None,
        lifecycle=entry.status if entry else "unknown",
        latency_s=latency,
        input_tokens=cb.input_tokens,
        output_tokens=cb.output_tokens,
        cost=cb.total_cost if cb.calls and not cb.unpriced_calls else None,
        error=error,
    )


def check_lanes(router: GeminiRouter) -> list[LaneCheck]:
    """Send :data:`DOCTOR_PROMPT` to the classifier and every lane, one at a time."""
    checks = [
        _check(
            router,
            "classifier",
            router.classifier_runner.model,
            router.config.classifier.model,
        )
    ]
    for lane, model_id in router.config.lanes.items():
        checks.append(_check(router, lane, router.lane_model(lane), model_id))
    return checks
