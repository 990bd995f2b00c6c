"""One call, its arguments sorted into routing settings and lane arguments.

Everything here runs before any request is sent, so a mistake in a per-call
setting is a typed error that costs nothing.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass, field
from typing import Any

from langchain_core.language_models import BaseChatModel
from langchain_core.messages import BaseMessage

from lc_gemini_router.config import RouterConfig
from lc_gemini_router.errors import (
    ConfigError,
    LaneFailure,
    UnknownLaneError,
)
from lc_gemini_router.pricing.catalog import PriceCatalog, normalize_model_id
from lc_gemini_router.routing.inputs import check_messages, check_window
from lc_gemini_router.routing.policy import RouteDecision, RouteRequest, rule_decision
from lc_gemini_router.routing.request import (
    ROUTER_KWARGS,
    check_per_call,
    normalise_tool_choice,
    tool_names,
)

__all__ = ["Call", "prepare"]


@dataclass
class Call:
    """One call after its arguments are sorted into routing and lane arguments."""

    request: RouteRequest
    config: RouterConfig
    lane_kwargs: dict[str, Any]
    ruled: RouteDecision | None
    """The rules' decision, computed once; None when the classifier must score."""
    failures: list[LaneFailure] = field(default_factory=list)
    """Lanes that already failed in this call, for a LaneError that names them all."""
    scope_keys: dict[str, str] = field(default_factory=dict)
    """Budget scope values given in the call's router settings (``user="alice"``)."""

    @property
    def needs_classifier(self) -> bool:
        return self.config.classifier.enabled and self.ruled is None

    def kwargs_for(self, lane: str) -> dict[str, Any]:
        """The lane arguments for ``lane``: an image lane the classifier chose is asked
        for text and images (the caller gave no ``response_modalities``)."""
        spec = self.config.extra_lanes.get(lane)
        if spec is None or spec.kind != "image" or "response_modalities" in self.lane_kwargs:
            return self.lane_kwargs
        return {**self.lane_kwargs, "response_modalities": _modalities(["TEXT", "IMAGE"])}


def prepare(
    messages: list[BaseMessage],
    kwargs: Mapping[str, Any],
    *,
    base: RouterConfig,
    published: Mapping[str, Any],
    ready: Callable[[str], BaseChatModel | None],
    catalog: PriceCatalog,
    scopes: Collection[str] = (),
    scope_values: Mapping[str, Any] | None = None,
) -> Call:
    """Sort one call's arguments and apply the rules.

    ``base`` is the router's config, ``published`` the run's ``configurable``
    settings, ``ready`` the caller's own lane models (which a per-call model ID
    cannot replace), ``scopes`` the keys budgets are kept per (``"user"``): their
    values are taken out of the settings, else read from ``scope_values`` (the
    run's other ``configurable`` values).

    Raises:
        UnsupportedInputError, ConfigError, UnknownLaneError, RetiredModelError:
            before any request is sent.
    """
    check_messages(messages)
    overrides: dict[str, Any] = dict(published)
    lane_kwargs: dict[str, Any] = {}
    for key, value in kwargs.items():
        if key in ROUTER_KWARGS:
            overrides[key] = value
        else:
            lane_kwargs[key] = value
    values = scope_values or {}
    scope_keys = {n: str(v) for n in scopes if (v := overrides.pop(n, values.get(n)))}
    # LangChain's per-call model override: answer on that model, without routing.
    pinned = lane_kwargs.pop("model", None)
    if "response_modalities" in lane_kwargs:
        lane_kwargs["response_modalities"] = _modalities(lane_kwargs["response_modalities"])
    check_per_call(overrides, lane_kwargs)
    lane = overrides.pop("lane", None)
    config = base.with_overrides(overrides)
    if pinned and lane is None:
        model_id = normalize_model_id(str(pinned))
        lane = next((n for n, m in config.lanes.items() if m == model_id), None)
        if lane is None:  # a model no lane has: the pro lane answers on it
            lane, config = "pro", config.with_overrides({"pro_model": model_id})
    if lane == "batch" and lane not in config.lanes:
        msg = (
            "lane 'batch' is the Gemini Batch API, whose answers take up to 24 h: use "
            "router.batch(inputs, lane='batch') or submit_batch(); invoke and stream "
            "answer at once"
        )
        raise ConfigError(msg)
    if lane is not None and lane not in config.lanes:
        raise UnknownLaneError(str(lane), tuple(config.lanes))
    _check_lane_overrides(config, base, ready, catalog)
    tools = lane_kwargs.get("tools") or []
    names = tuple(n for t in tools if isinstance(t, Mapping) for n in tool_names(t))
    request = RouteRequest(
        messages=tuple(messages),
        tool_names=names,
        tool_choice=normalise_tool_choice(lane_kwargs.get("tool_choice")),
        lane_override=lane,
        structured_output="response_json_schema" in lane_kwargs
        or lane_kwargs.get("response_mime_type") == "application/json",
        wants_images=_wants_images(lane_kwargs.get("response_modalities")),
        overrides=overrides,
    )
    check_window(request, config.max_prompt_tokens)
    ruled = rule_decision(request, config)
    return Call(
        request=request,
        config=config,
        lane_kwargs=lane_kwargs,
        ruled=ruled,
        scope_keys=scope_keys,
    )


def _check_lane_overrides(
    config: RouterConfig,
    base: RouterConfig,
    ready: Callable[[str], BaseChatModel | None],
    catalog: PriceCatalog,
) -> None:
    """Per-call lane models pass the constructor's checks, before any API call."""
    if config is base:  # no per-call settings: nothing new to check
        return
    for lane, model_id in config.lanes.items():
        if model_id == base.lanes.get(lane):
            continue
        if ready(lane) is not None:
            msg = (
                f"lane {lane!r} is a ready chat model; a per-call model "
                f"({model_id!r}) cannot replace it"
            )
            raise ConfigError(msg)
        # RetiredModelError for a shut-down ID; a warning for an unknown price.
        catalog.ensure_servable(model_id)


def _modalities(value: Any) -> Any:
    """``["TEXT", "IMAGE"]`` as google-genai ``Modality`` values, which the lanes need."""
    if not isinstance(value, (list, tuple)):
        return value
    from langchain_google_genai import Modality

    known = {m.value: m for m in Modality}
    out = []
    for item in value:
        if isinstance(item, str):
            if item.upper() not in known:  # google-genai's enum would only warn
                msg = f"unknown response modality {item!r}; expected one of {', '.join(known)}"
                raise ConfigError(msg)
            item = known[item.upper()]
        out.append(item)
    return out


def _wants_images(modalities: Any) -> bool:
    """Whether ``response_modalities`` (names or google-genai ``Modality`` values) ask
    for images."""
    if not isinstance(modalities, (list, tuple, set, frozenset)):
        return False
    return any(str(getattr(m, "value", m)).upper() == "IMAGE" for m in modalities)
