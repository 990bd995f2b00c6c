"""Image requests go to a lane of kind ``image``, through the real client, priced by size."""

from __future__ import annotations

import json
from decimal import Decimal

import pytest

from lc_gemini_router import ConfigError, LaneSpec, RouterConfig, get_gemini_cost_callback
from lc_gemini_router.testing.simulator import GeminiSimulator, SimReply
from tests.routing_kit import HARD, Backend, live_router

IMAGE = "gemini-3.1-flash-image"
WITH_IMAGE_LANE = RouterConfig(extra_lanes={"image": LaneSpec(model=IMAGE, kind="image")})


@pytest.mark.parametrize(("size", "tokens"), [("1K", 1120), ("2K", 1680)])
def test_a_request_for_images_is_answered_by_the_image_lane(
    sim: GeminiSimulator, size: str, tokens: int
) -> None:
    sim.script(IMAGE, SimReply(text="here", images=[size], prompt_tokens=10, output_tokens=5))
    router = live_router(sim, config=WITH_IMAGE_LANE)
    with get_gemini_cost_callback() as cb:
        answer = router.invoke(
            "a lighthouse at dusk",
            response_modalities=["TEXT", "IMAGE"],
            image_config={"image_size": size, "aspect_ratio": "16:9"},  # not square
        )
    meta = answer.response_metadata["lc_gemini_router"]
    assert (meta["decision"]["lane"], meta["decision"]["model"]) == ("image", IMAGE)
    assert meta["decision"]["source"] == "rule"
    assert [block["type"] for block in answer.content if isinstance(block, dict)] == [
        "text",
        "image_url",
    ]
    # $0.25 / 1M in, $1.50 / 1M text out, $60 / 1M image out; no classifier call.
    expected = (10 * Decimal("0.25") + 5 * Decimal("1.50") + tokens * Decimal("60")) / 10**6
    assert cb.total_cost == expected
    assert Decimal(meta["cost"]["total_cost"]) == expected
    sent = sim.requests
    assert len(sent) == 1 and sent[0].body["generationConfig"]["imageConfig"] == {
        "aspectRatio": "16:9",
        "imageSize": size,
    }


def test_images_without_an_image_lane_are_refused_before_any_request(
    sim: GeminiSimulator,
) -> None:
    router = live_router(sim)
    with pytest.raises(ConfigError, match="no lane of kind 'image' is configured"):
        router.invoke("a lighthouse", response_modalities=["IMAGE"])
    with pytest.raises(ConfigError, match="unknown response modality 'PICTURE'"):
        live_router(sim, config=WITH_IMAGE_LANE).invoke("x", response_modalities=["PICTURE"])
    assert sim.requests == []


def test_the_image_lane_does_not_narrow_the_chat_profile(sim: GeminiSimulator) -> None:
    plain, with_image = live_router(sim), live_router(sim, config=WITH_IMAGE_LANE)
    assert with_image.profile == plain.profile


def test_chat_requests_never_reach_the_image_lane(sim: GeminiSimulator) -> None:
    answer = live_router(sim, config=WITH_IMAGE_LANE).invoke("draw me a riddle in words")
    assert answer.response_metadata["lc_gemini_router"]["decision"]["lane"] != "image"


DRAW = {"difficulty": 0.2, "needs_tools": False, "category": "chat", "wants_image": True}


@pytest.fixture
def backend() -> Backend:
    """The kit's backend; its classifier also says "draw" asks for an image."""
    return Backend(scores={"riddle": HARD, "draw": DRAW})


def test_the_classifier_sends_a_request_for_a_picture_to_the_image_lane(
    sim: GeminiSimulator,
) -> None:
    sim.script(IMAGE, SimReply(text="here", images=["1K"], prompt_tokens=10, output_tokens=5))
    router = live_router(sim, config=WITH_IMAGE_LANE)
    with get_gemini_cost_callback() as cb:
        answer = router.invoke("Please draw a cat on a windowsill")  # no modalities given
    meta = answer.response_metadata["lc_gemini_router"]
    assert (meta["decision"]["lane"], meta["decision"]["source"]) == ("image", "classifier")
    assert "asks for an image" in meta["decision"]["reasons"][-1]
    assert [b["type"] for b in answer.content if isinstance(b, dict)] == ["text", "image_url"]
    classifier, lane = sim.requests
    schema = json.dumps(classifier.response_schema)
    assert "wants_image" in schema
    assert lane.model == IMAGE and lane.wants_images  # asked for text and images
    image = (10 * Decimal("0.25") + 5 * Decimal("1.50") + 1120 * Decimal("60")) / 10**6
    assert cb.by_role["answer"].cost == image
    assert cb.by_role["classifier"].cost == Backend().classifier_cost


def test_without_an_image_lane_the_classifier_is_not_asked_about_images(
    sim: GeminiSimulator,
) -> None:
    answer = live_router(sim).invoke("Please explain the riddle of the sphinx")
    assert answer.response_metadata["lc_gemini_router"]["decision"]["lane"] == "pro"
    assert "wants_image" not in json.dumps(sim.requests[0].response_schema)


def test_budgets_hold_an_image_request_at_its_size_times_its_candidates(
    sim: GeminiSimulator,
) -> None:
    from lc_gemini_router import Budget, BudgetExceededError

    router = live_router(
        sim, config=WITH_IMAGE_LANE, budgets=[Budget(limit="0.10", on_exceed="refuse")]
    )
    modalities = ["TEXT", "IMAGE"]
    text_cap = {"max_output_tokens": 100}
    with pytest.raises(BudgetExceededError) as refused:
        router.invoke(
            "a lighthouse",
            response_modalities=modalities,
            generation_config=text_cap,
            image_config={"image_size": "4K"},
            n=2,
        )
    # Prompt bound 20 tokens (12 bytes + 8), 100 text tokens, 2 x 2,520 image tokens (4K):
    needed = (20 * Decimal("0.25") + 100 * Decimal("1.50") + 2 * 2520 * Decimal("60")) / 10**6
    assert refused.value.needed == needed == Decimal("0.302555")
    assert sim.requests == []
    # One 1K image fits: $0.067355 is held, then the exact cost settled.
    sim.script(IMAGE, SimReply(text="here", images=["1K"], prompt_tokens=10, output_tokens=5))
    answer = router.invoke(
        "a lighthouse",
        response_modalities=modalities,
        generation_config=text_cap,
        image_config={"image_size": "1K"},
    )
    (status,) = router.budget_status()
    assert status.spent == Decimal(
        answer.response_metadata["lc_gemini_router"]["cost"]["total_cost"]
    )
    assert status.reserved == 0
