"""What a new router settles before its first call: lane IDs, profile, model checks.

Lane IDs given directly (or read from ready models) become the config's lane IDs, so
decisions and prices name the model that really answers; the profile is the one every
lane shares; a retired model is a typed error and an unpriced one a warning, before
any request.
"""

from __future__ import annotations

import warnings
from typing import TYPE_CHECKING, Any

from langchain_core.language_models import BaseChatModel, ModelProfile

from lc_gemini_router.api_versions import v1_problem
from lc_gemini_router.config import LANES
from lc_gemini_router.errors import ApiVersionWarning, ConfigError, UnknownPriceWarning
from lc_gemini_router.lanes.models import google_profile, shared_profile
from lc_gemini_router.pricing.catalog import default_catalog, normalize_model_id

if TYPE_CHECKING:
    from lc_gemini_router.router.chat_model import GeminiRouter

__all__ = ["check_models", "model_id_of", "resolve_lanes"]


def model_id_of(value: str | BaseChatModel | None) -> str | None:
    """The normalised model ID of a lane given as an ID or a ready chat model."""
    if isinstance(value, str):
        return normalize_model_id(value)
    if isinstance(value, BaseChatModel):
        name = getattr(value, "model", None) or getattr(value, "model_name", None)
        return normalize_model_id(name) if isinstance(name, str) else None
    return None


def resolve_lanes(router: GeminiRouter) -> None:
    """Write the lanes' model IDs into ``router.config``; derive ``router.profile``."""
    updates: dict[str, Any] = {}
    for lane in LANES:
        model_id = model_id_of(getattr(router, lane))
        if model_id:
            updates[f"{lane}_model"] = model_id
    config = router.config
    extra = {name: spec.model_dump() for name, spec in config.extra_lanes.items()}
    for name, model in router.lane_models.items():
        model_id = model_id_of(model)
        if model_id is None:
            msg = f"lane_models[{name!r}]: cannot tell the model ID of {type(model).__name__}"
            raise ConfigError(msg)
        extra[name] = {**extra.get(name, {}), "model": model_id}
    if router.lane_models:
        updates["extra_lanes"] = extra
    classifier_id = model_id_of(router.classifier)
    if classifier_id:
        updates["classifier"] = {"model": classifier_id}
    if updates:
        router.config = config.with_overrides(updates)
    if router.profile is None:
        router.profile = _lanes_profile(router)


def _lanes_profile(router: GeminiRouter) -> ModelProfile | None:
    """The profile every lane shares; None when a lane's profile is unknown."""
    profiles = []
    config = router.config
    for lane, model_id in config.lanes.items():
        spec = config.extra_lanes.get(lane)
        if spec is not None and spec.kind == "image":
            continue  # only image requests reach it: it does not narrow the chat profile
        ready = router.lane_set.ready(lane)
        profile = ready.profile if ready is not None else google_profile(model_id)
        if not profile:
            return None
        profiles.append(profile)
    return shared_profile(profiles)


def check_models(router: GeminiRouter) -> None:
    """Retired models raise; unpriced models and lanes bound to fail on v1 warn.

    Raises:
        RetiredModelError: a lane or the classifier names a shut-down model.
    """
    config = router.config
    catalog = router.catalog or default_catalog()
    for model_id in sorted({*config.lanes.values(), config.classifier.model}):
        if catalog.ensure_servable(model_id) is None:
            msg = f"model {model_id!r} is not in the price catalog: its costs will be None"
            warnings.warn(msg, UnknownPriceWarning, stacklevel=3)
    for lane in ("classifier", *config.lanes):
        version = router.lane_api_version(lane)
        model_id = config.classifier.model if lane == "classifier" else config.lanes[lane]
        problem = v1_problem(model_id, version.version) if version else None
        if problem and version is not None:
            # A ready lane is the caller's: warn with the fix, never change it.
            owner = "ready lane" if router.lane_set.ready(lane) is not None else "lane"
            msg = f"{owner} {lane!r} will fail: {problem} (API version from {version.source})"
            warnings.warn(msg, ApiVersionWarning, stacklevel=3)
