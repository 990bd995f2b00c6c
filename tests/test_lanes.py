"""Lanes as data: extra lanes by name, validated references, ready lane models, the profile
the lanes share, and token counting through a lane, through the real client."""

from __future__ import annotations

from typing import Any

import pytest
from langchain_google_genai import ChatGoogleGenerativeAI

from lc_gemini_router import (
    ConfigError,
    GeminiRouter,
    LaneSpec,
    RouterConfig,
    UnknownLaneError,
    UnknownPriceWarning,
)
from lc_gemini_router.testing.simulator import GeminiSimulator
from tests.routing_kit import LITE, PRO, Backend, is_classifier, live_router

FLASH = "gemini-3.5-flash"


@pytest.fixture
def backend() -> Backend:
    backend = Backend()
    backend.lane_tokens[FLASH] = (500, 100, 0)
    return backend


def flash_config(**kwargs: Any) -> RouterConfig:
    return RouterConfig(extra_lanes={"flash": LaneSpec(model=FLASH, fallback="lite")}, **kwargs)


def test_an_extra_lane_answers_by_name(sim: GeminiSimulator) -> None:
    router = live_router(sim, config=flash_config())
    reply = router.invoke("what is the capital of Peru?", lane="flash")
    decision = reply.response_metadata["lc_gemini_router"]["decision"]
    assert (decision["lane"], decision["model"], decision["source"]) == ("flash", FLASH, "override")
    assert [r.model for r in sim.requests] == [FLASH]
    assert router.lane_api_version("flash").version == "v1beta"  # type: ignore[union-attr]


def test_an_extra_lane_falls_back_to_its_own_fallback(sim: GeminiSimulator) -> None:
    router = live_router(sim, config=flash_config())
    sim.fail_next(503, model=FLASH)
    reply = router.invoke("what is the capital of Peru?", lane="flash")
    decision = reply.response_metadata["lc_gemini_router"]["decision"]
    assert (decision["lane"], decision["fallback_from"]) == ("lite", "flash")
    assert [(r.model, r.status) for r in sim.requests] == [(FLASH, 503), (LITE, 200)]


def test_settings_can_name_an_extra_lane(sim: GeminiSimulator) -> None:
    config = flash_config(long_context_tokens=5, long_context_lane="flash")
    reply = live_router(sim, config=config).invoke("a prompt that is long enough here")
    assert reply.response_metadata["lc_gemini_router"]["decision"]["lane"] == "flash"
    assert not any(is_classifier(r) for r in sim.requests)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"long_context_lane": "flsh"}, "long_context_lane: unknown lane 'flsh'; valid: lite"),
        ({"error_fallbacks": {"lite": "prro"}}, "unknown lane 'prro'; did you mean 'pro'?"),
        ({"classifier": {"fallback_lane": "turbo"}}, "classifier.fallback_lane: unknown lane"),
        ({"extra_lanes": {"pro": {"model": FLASH}}}, "must be a new lowercase name"),
        ({"extra_lanes": {"x": {"model": FLASH, "fallback": "x"}}}, "cannot fall back to itself"),
        ({"extra_lanes": {"x": {"model": FLASH, "kind": "batch"}}}, "extra_lanes.x.kind"),
    ],
)
def test_every_lane_reference_is_checked(kwargs: dict[str, Any], message: str) -> None:
    with pytest.raises(ConfigError, match=message.replace("(", r"\(").replace("?", r"\?")):
        RouterConfig(**kwargs)


def test_an_unknown_lane_per_call_sends_nothing(sim: GeminiSimulator) -> None:
    router = live_router(sim, config=flash_config())
    with pytest.raises(UnknownLaneError, match="expected one of: lite, pro, pro_tools, flash"):
        router.invoke("hello", lane="flashy")
    assert sim.requests == []


def test_a_ready_model_adds_its_lane(sim: GeminiSimulator) -> None:
    mine = ChatGoogleGenerativeAI(
        model=FLASH, google_api_key="t", base_url=sim.base_url, api_version="v1beta"
    )
    router = live_router(sim, lane_models={"flash": mine})
    assert router.config.lanes["flash"] == FLASH
    assert router.lane_model("flash") is mine
    router.invoke("hello", lane="flash")
    assert [r.model for r in sim.requests] == [FLASH]
    router.close()  # the caller's model is left open
    assert mine.client is not None


def test_the_profile_is_what_every_lane_can_do() -> None:
    profile = GeminiRouter(api_key="k").profile
    assert profile is not None
    assert profile["structured_output"] is True and profile["tool_calling"] is True
    assert profile["max_input_tokens"] == 1_048_576
    assert "reasoning_effort_levels" not in profile  # lanes differ: not the router's to claim
    with pytest.warns(UnknownPriceWarning):
        unknown = GeminiRouter(api_key="k", config=RouterConfig(pro_model="gemini-9-unknown"))
    assert unknown.profile is None  # a lane nobody describes: claim nothing


def test_tokens_are_counted_by_the_lite_lane(sim: GeminiSimulator) -> None:
    router = live_router(sim)
    assert router.get_num_tokens("x" * 400) == 100
    assert [(r.model, r.method) for r in sim.requests] == [(LITE, "countTokens")]


def test_a_per_call_model_pins_the_lane(sim: GeminiSimulator) -> None:
    router = live_router(sim)
    reply = router.invoke("what is the capital of Peru?", model=PRO)
    meta = reply.response_metadata
    assert (meta["lc_gemini_router"]["decision"]["lane"], meta["model_name"]) == ("pro", PRO)
    other = router.invoke("what is the capital of Peru?", model=FLASH)
    assert other.response_metadata["model_name"] == FLASH  # no lane has it: pro's slot
    assert not any(is_classifier(r) for r in sim.requests)
