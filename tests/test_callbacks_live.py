"""Cost callbacks driving the real ChatGoogleGenerativeAI over HTTP (loopback Gemini)."""

from __future__ import annotations

import asyncio
import io
import json
import re
from decimal import Decimal
from typing import Any

import pytest
from langchain_google_genai import ChatGoogleGenerativeAI

from lc_gemini_router import LaneError, get_gemini_cost_callback, price_usage
from lc_gemini_router.testing.simulator import GeminiSimulator, SimReply, SimRequest
from tests.routing_kit import PRO, Backend, live_router

MILLION = Decimal(1_000_000)


def lite_cost(prompt: int, output: int, *, cached: int = 0) -> Decimal:
    rate_in, rate_out, rate_cached = Decimal("0.25"), Decimal("1.50"), Decimal("0.025")
    return ((prompt - cached) * rate_in + output * rate_out + cached * rate_cached) / MILLION


def numbered(request: SimRequest) -> SimReply:
    """Request "q<N>" gets N+10 prompt tokens and N%7+1 output tokens."""
    match = re.search(r"q(\d+)", request.text)
    assert match is not None, request.text
    n = int(match.group(1))
    return SimReply(text=f"answer {n}", prompt_tokens=n + 10, output_tokens=n % 7 + 1)


def expected(ns: range) -> Decimal:
    return sum((lite_cost(n + 10, n % 7 + 1) for n in ns), Decimal(0))


def llm(
    sim: GeminiSimulator, model: str = "gemini-3.1-flash-lite", **kwargs: Any
) -> ChatGoogleGenerativeAI:
    return ChatGoogleGenerativeAI(
        model=model,
        google_api_key="test",
        base_url=sim.base_url,
        max_retries=1,
        api_version="v1beta",
        **kwargs,
    )


def test_invoke_with_cache_and_thinking_priced_exactly(gemini_sim: GeminiSimulator) -> None:
    gemini_sim.script(
        None,
        SimReply(
            "ok", prompt_tokens=5000, cached_tokens=4000, output_tokens=50, thinking_tokens=200
        ),
    )
    with get_gemini_cost_callback() as cb:
        message = llm(gemini_sim).invoke("summarise the attached contract")
    assert message.usage_metadata is not None
    assert message.usage_metadata["output_tokens"] == 250  # thinking is output
    # 1,000 fresh x $0.25 + 4,000 cached x $0.025 + 250 x $1.50, per 1M
    assert cb.total_cost == Decimal("0.000725")
    assert cb.cached_tokens == 4000 and cb.reasoning_tokens == 200
    totals = cb.by_model["gemini-3.1-flash-lite"]
    assert (totals.calls, totals.input_tokens, totals.output_tokens) == (1, 5000, 250)


def test_stream_usage_summed_from_chunks(gemini_sim: GeminiSimulator) -> None:
    gemini_sim.script(
        None, SimReply("one two three four five six", prompt_tokens=900, output_tokens=60)
    )
    with get_gemini_cost_callback() as cb:
        chunks = list(llm(gemini_sim).stream("count to six"))
    assert len([c for c in chunks if c.content]) >= 3
    assert cb.calls == 1
    assert cb.total_cost == lite_cost(900, 60)


async def test_ainvoke_and_astream(gemini_sim: GeminiSimulator) -> None:
    gemini_sim.script(None, SimReply("a", prompt_tokens=500, output_tokens=100))
    gemini_sim.script(None, SimReply("b c d", prompt_tokens=500, output_tokens=100))
    model = llm(gemini_sim)
    with get_gemini_cost_callback() as cb:
        await model.ainvoke("x")
        async for _ in model.astream("y"):
            pass
    await model.aclose()  # the async transport must close on this event loop
    assert cb.total_cost == 2 * Decimal("0.000275")


def test_batch(gemini_sim: GeminiSimulator) -> None:
    simulator = GeminiSimulator(responder=numbered)
    with simulator, get_gemini_cost_callback() as cb:
        llm(simulator).batch([f"q{n}" for n in range(40)], config={"max_concurrency": 8})
    assert cb.calls == 40
    assert cb.total_cost == expected(range(40))


@pytest.mark.slow
async def test_thousand_concurrent_calls_priced_exactly() -> None:
    with GeminiSimulator(responder=numbered) as sim:
        model = llm(sim)
        # One call first: it opens httpx's async pool, which otherwise rescans a
        # 1,000-deep queue on every connection change (about 6x slower).
        await model.ainvoke("q0")
        with get_gemini_cost_callback() as cb:
            await asyncio.gather(*(model.ainvoke(f"q{n}") for n in range(1000)))
        await model.aclose()
        assert len(sim.requests) == 1001
    assert cb.calls == 1000
    assert cb.unpriced_calls == 0
    assert cb.total_cost == expected(range(1000))
    assert cb._runs == {}  # nothing left in flight: memory does not grow with calls


def test_pro_long_prompt_through_the_client(gemini_sim: GeminiSimulator) -> None:
    gemini_sim.script(
        None,
        SimReply(
            "done",
            prompt_tokens=250_000,
            cached_tokens=60_000,
            output_tokens=600,
            thinking_tokens=400,
        ),
    )
    with get_gemini_cost_callback() as cb:
        llm(gemini_sim, "gemini-3.1-pro-preview").invoke("read all of this")
    assert cb.total_cost == Decimal("0.802")
    assert cb.reference_cost == Decimal("0.802")  # the reference model is Pro itself
    assert cb.savings == 0


def test_generated_image_priced_from_reply_blocks(gemini_sim: GeminiSimulator) -> None:
    gemini_sim.script(
        None, SimReply("here it is", prompt_tokens=20, output_tokens=4, images=["1K"])
    )
    with get_gemini_cost_callback() as cb:
        message = llm(gemini_sim, "gemini-3.1-flash-image").invoke("draw a cat")
    assert message.usage_metadata is not None
    assert message.usage_metadata["output_tokens"] == 1124
    expected_cost = price_usage("gemini-3.1-flash-image", message.usage_metadata, images=["1K"])
    assert expected_cost is not None
    assert (
        cb.total_cost
        == expected_cost.total
        == Decimal("0.000005") + Decimal("0.000006") + Decimal("0.0672")
    )
    assert cb.totals.images == 1


@pytest.mark.parametrize("status", [429, 503])
def test_failed_call_counts_nothing(gemini_sim: GeminiSimulator, status: int) -> None:
    gemini_sim.fail_next(status)
    gemini_sim.script(None, SimReply("fine", prompt_tokens=500, output_tokens=100))
    model = llm(gemini_sim)
    with get_gemini_cost_callback() as cb:
        with pytest.raises(Exception, match=str(status)):
            model.invoke("first")
        model.invoke("second")
    assert len(gemini_sim.requests) == 2
    assert cb.calls == 1
    assert cb.total_cost == Decimal("0.000275")


# -- the audit (issue 15), through the real client --------------------------------------


def test_two_candidate_images_are_both_priced(gemini_sim: GeminiSimulator) -> None:
    gemini_sim.script(None, SimReply(prompt_tokens=32, output_tokens=0, images=["1K"]))
    with get_gemini_cost_callback() as cb:
        llm(gemini_sim, "gemini-3.1-flash-image", n=2).invoke("two cats")
    # 32 x $0.25 + 2 x 1,120 image tokens x $60, per 1M (was $0.068888: one image as text)
    assert cb.total_cost == Decimal("0.134408")
    assert (cb.totals.images, cb.output_tokens) == (2, 2240)
    assert cb.savings == 0  # an image answer is its own reference


def test_a_non_square_1k_image_is_billed_as_1k(gemini_sim: GeminiSimulator) -> None:
    gemini_sim.script(None, SimReply(prompt_tokens=20, output_tokens=0, images=["1K"]))
    image = llm(gemini_sim, "gemini-3.1-flash-image", image_config={"aspect_ratio": "16:9"})
    with get_gemini_cost_callback() as cb:
        image.invoke("a wide landscape")  # 1376 x 768
    assert cb.total_cost == Decimal("0.000005") + Decimal("0.0672")


def test_a_stream_cut_off_mid_reply_is_billed_for_what_gemini_reported(
    gemini_sim: GeminiSimulator,
) -> None:
    # Events of "one two ", "three four ", "five six": two arrive, with the 900-token
    # prompt and floor(60 x 19 / 27) = 42 output tokens, then the connection drops.
    text = "one two three four five six"
    gemini_sim.script(None, SimReply(text, prompt_tokens=900, output_tokens=60, cut_after=2))
    log = io.StringIO()
    with (
        get_gemini_cost_callback(log=log) as cb,
        pytest.raises(Exception, match="incomplete chunked read"),
    ):
        list(llm(gemini_sim).stream("count to six"))
    assert cb.calls == 1 and cb.unpriced_calls == 0
    assert (cb.input_tokens, cb.output_tokens) == (900, 42)
    assert cb.total_cost == lite_cost(900, 42) == Decimal("0.000288")
    record = json.loads(log.getvalue())
    assert record["error"] == "RemoteProtocolError"
    assert record["model"] == "gemini-3.1-flash-lite"  # from the run's ls_model_name


def test_a_stream_without_finish_reason_is_priced_on_its_model(
    gemini_sim: GeminiSimulator,
) -> None:
    gemini_sim.script(
        None, SimReply("one two three", prompt_tokens=900, output_tokens=60, finish_reason=None)
    )
    with get_gemini_cost_callback() as cb:
        list(llm(gemini_sim).stream("count"))
    assert cb.unpriced_calls == 0
    assert cb.total_cost == lite_cost(900, 60)


def test_grounded_answers_pay_per_query_after_the_free_allowance(
    gemini_sim: GeminiSimulator,
) -> None:
    queries = ["weather paris", "paris forecast"]
    for _ in range(2):
        gemini_sim.script(
            None, SimReply("Sunny.", prompt_tokens=500, output_tokens=100, search_queries=queries)
        )
    with get_gemini_cost_callback(free_search_queries=3) as cb:
        llm(gemini_sim).invoke("weather in Paris?")
        llm(gemini_sim).invoke("and tomorrow?")
    # Four queries: three free, one at $14 per 1,000.
    assert (cb.totals.search_queries, cb.totals.free_search_queries) == (4, 3)
    assert cb.total_cost == 2 * lite_cost(500, 100) + Decimal("0.014")
    assert cb.free_search_queries_left == 0


def test_a_routed_stream_cut_off_is_billed_on_the_model_the_router_chose(
    gemini_sim: GeminiSimulator,
) -> None:
    # The router's run names the lite model (ls_model_name); its decision names Pro.
    gemini_sim.responder = Backend()
    text = "one two three four five six"
    gemini_sim.script(PRO, SimReply(text, prompt_tokens=900, output_tokens=60, cut_after=2))
    router = live_router(gemini_sim)
    with (
        get_gemini_cost_callback() as cb,
        pytest.raises(LaneError, match="incomplete chunked read"),
    ):
        list(router.stream("solve the riddle", lane="pro"))
    assert set(cb.by_model) == {PRO}
    # 900 x $2 + 42 x $12, per 1M
    assert cb.total_cost == Decimal("0.002304")
