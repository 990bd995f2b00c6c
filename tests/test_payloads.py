"""The router's cost metadata (callbacks/payloads.py): every candidate, the run's tier."""

from __future__ import annotations

from decimal import Decimal

from langchain_core.messages import AIMessage
from langchain_core.outputs import ChatGeneration, ChatResult

from lc_gemini_router import RouteDecision
from lc_gemini_router.callbacks.payloads import annotate, waste_payload
from lc_gemini_router.keys import ROUTER_METADATA_KEY
from tests.fakes import image_block, make_usage

DECISION = RouteDecision(lane="lite", model="gemini-3.1-flash-image", source="rule")


def result(candidates: int, content: list[str | dict[str, object]]) -> ChatResult:
    usage = make_usage(32, 1120 * candidates)  # one usage covers every candidate
    return ChatResult(
        generations=[
            ChatGeneration(
                message=AIMessage(
                    content=list(content),
                    usage_metadata=usage,
                    response_metadata={"model_name": "gemini-3.1-flash-image"},
                )
            )
            for _ in range(candidates)
        ]
    )


def test_annotate_prices_the_images_of_every_candidate() -> None:
    answer = result(2, [image_block(1024, 1024)])
    payload = annotate(answer, DECISION, None, None)
    # 32 prompt tokens x $0.25 + 2 x 1,120 image tokens x $60, per 1M
    assert payload["answer"]["cost"]["total_cost"] == "0.134408"
    meta = answer.generations[0].message.response_metadata[ROUTER_METADATA_KEY]
    assert meta["cost"]["total_cost"] == "0.134408"


def test_annotate_prices_at_the_runs_service_tier() -> None:
    answer = result(1, [image_block(1376, 768)])  # a 16:9 1K image
    payload = annotate(answer, DECISION, None, None, service_tier="batch")
    # 32 x $0.125 + 1,120 x $30, per 1M
    assert payload["answer"]["cost"]["total_cost"] == "0.033604"
    assert Decimal(payload["answer"]["cost"]["breakdown"]["image_output_cost"]) == Decimal("0.0336")


def test_waste_is_priced_at_the_runs_service_tier() -> None:
    from lc_gemini_router.callbacks.payloads import StreamTally

    tally = StreamTally(usage=make_usage(500, 100), model_name="gemini-3.1-flash-lite")
    payload = waste_payload(tally, [], "gemini-3.1-flash-lite", None, service_tier="flex")
    assert payload["cost"]["total_cost"] == "0.0001375"
