"""GeminiCostCallbackHandler and get_gemini_cost_callback, on fake models (pure logic).

The same handler driven through the real ChatGoogleGenerativeAI client and the
loopback Gemini server is tested in test_callbacks_live.py.
"""

from __future__ import annotations

import asyncio
import io
import json
from collections.abc import Generator
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timezone
from decimal import Decimal, localcontext
from pathlib import Path
from typing import Any

import pytest
from langchain_core.exceptions import ModelAPIError
from langchain_core.runnables import RunnableLambda
from langchain_core.runnables.config import ContextThreadPoolExecutor

from lc_gemini_router import (
    GeminiCostCallbackHandler,
    PriceCatalog,
    UnknownPriceWarning,
    UnverifiedPriceWarning,
    UsageTotals,
    default_catalog,
    get_gemini_cost_callback,
)
from lc_gemini_router.keys import CLASSIFIER_TAG, ROLE_METADATA_KEY, SERVICE_TIER_METADATA_KEY
from lc_gemini_router.pricing.catalog import ModelPrice
from tests.fakes import ManualClock, UsageFakeChatModel, image_block

LITE_500_100 = Decimal("0.000275")
PRO_500_100 = Decimal("0.0022")  # 500 x $2 + 100 x $12, per 1M


def test_invoke_is_priced_exactly_with_reference_and_savings() -> None:
    llm = UsageFakeChatModel()
    with get_gemini_cost_callback() as cb:
        llm.invoke("hi")
        llm.invoke("hi again")
    assert cb.calls == 2
    assert cb.total_cost == 2 * LITE_500_100
    assert cb.reference_cost == 2 * PRO_500_100
    assert cb.savings == 2 * (PRO_500_100 - LITE_500_100)
    assert cb.by_model == {
        "gemini-3.1-flash-lite": UsageTotals(
            calls=2,
            input_tokens=1000,
            output_tokens=200,
            cost=2 * LITE_500_100,
            reference_cost=2 * PRO_500_100,
            # Standard-tier calls: the standard cost is the cost itself.
            standard_cost=2 * LITE_500_100,
            standard_reference_cost=2 * PRO_500_100,
        )
    }
    assert cb.tier_savings == 0
    assert set(cb.by_role) == {"answer"}


def test_stream_usage_on_chunks_and_model_name_on_last_chunk() -> None:
    llm = UsageFakeChatModel(text="one two three four", output_tokens=103, thinking_tokens=40)
    with get_gemini_cost_callback() as cb:
        chunks = list(llm.stream("hi"))
    assert "".join(str(c.content) for c in chunks) == "one two three four"
    assert cb.calls == 1
    assert cb.output_tokens == 103 and cb.reasoning_tokens == 40
    assert cb.total_cost == Decimal("0.000125") + Decimal("0.0001545")


async def test_astream_and_ainvoke() -> None:
    llm = UsageFakeChatModel()
    with get_gemini_cost_callback() as cb:
        await llm.ainvoke("hi")
        async for _ in llm.astream("hi"):
            pass
    assert cb.calls == 2
    assert cb.total_cost == 2 * LITE_500_100


def test_batch_counts_every_call_once() -> None:
    llm = UsageFakeChatModel()
    with get_gemini_cost_callback() as cb:
        llm.batch(["a"] * 25, config={"max_concurrency": 8})
    assert cb.calls == 25
    assert cb.total_cost == 25 * LITE_500_100


async def test_thousand_concurrent_calls_lose_nothing() -> None:
    llm = UsageFakeChatModel()
    with get_gemini_cost_callback() as cb:
        await asyncio.gather(*(llm.ainvoke(f"q{i}") for i in range(1000)))
        await llm.abatch(["b"] * 200)
    assert cb.calls == 1200
    assert cb.total_cost == 1200 * LITE_500_100
    assert cb.input_tokens == 1200 * 500
    # Memory is per model and role, not per call: no run is left in flight.
    assert cb._runs == {}
    assert len(cb.by_model) == 1


def test_a_failed_call_without_usage_counts_nothing() -> None:
    good = UsageFakeChatModel()
    bad = UsageFakeChatModel(fail=True)
    with get_gemini_cost_callback() as cb:
        good.invoke("x")
        with pytest.raises(ModelAPIError):
            bad.invoke("x")
    assert cb.calls == 1
    assert cb.total_cost == LITE_500_100
    assert cb._runs == {}


def test_unknown_model_counts_as_unpriced_and_warns_once() -> None:
    llm = UsageFakeChatModel(model_name="my-finetune")
    with get_gemini_cost_callback() as cb:
        with pytest.warns(UnknownPriceWarning, match="my-finetune"):
            llm.invoke("x")
        llm.invoke("x")  # no second warning: pytest's "error" filter would fail the test
    assert cb.calls == 2 and cb.unpriced_calls == 2
    assert cb.total_cost == 0 and cb.reference_cost == 0
    assert cb.by_model["my-finetune"].unpriced_calls == 2


def test_pricing_never_raises_even_when_warnings_are_errors() -> None:
    # pyproject's filterwarnings turns warnings into errors: the run must still succeed.
    llm = UsageFakeChatModel(model_name="gemini-unknown")
    with get_gemini_cost_callback() as cb:
        assert llm.invoke("x").content == "ok then fine"
    assert cb.unpriced_calls == 1


def test_roles_from_metadata_and_classifier_tag() -> None:
    llm = UsageFakeChatModel()
    with get_gemini_cost_callback() as cb:
        llm.invoke("x", config={"tags": [CLASSIFIER_TAG]})
        llm.invoke("x", config={"metadata": {ROLE_METADATA_KEY: "speculative"}})
        llm.invoke("x")
    assert {role: t.calls for role, t in cb.by_role.items()} == {
        "classifier": 1,
        "speculative": 1,
        "answer": 1,
    }


def test_role_is_inherited_by_child_runs_in_a_chain() -> None:
    llm = UsageFakeChatModel()
    chain = RunnableLambda(lambda x: x) | llm
    with get_gemini_cost_callback() as cb:
        chain.invoke("x", config={"metadata": {ROLE_METADATA_KEY: "classifier"}})
    assert cb.by_role["classifier"].calls == 1


def test_service_tier_from_handler_and_run_metadata() -> None:
    llm = UsageFakeChatModel()
    with get_gemini_cost_callback(service_tier="batch") as cb:
        llm.invoke("x")
        llm.invoke("x", config={"metadata": {SERVICE_TIER_METADATA_KEY: "priority"}})
    assert cb.total_cost == Decimal("0.0001375") + Decimal("0.000495")


def test_custom_catalog_and_reference_model() -> None:
    catalog = default_catalog().with_prices(
        "gemini-3.1-flash-lite", input="0", output="0", cached_input="0"
    )
    llm = UsageFakeChatModel()
    with get_gemini_cost_callback(catalog=catalog, reference_model="gemini-3.5-flash") as cb:
        llm.invoke("x")
    assert cb.total_cost == 0
    assert cb.reference_cost == Decimal("0.00165")  # 500 x $1.50 + 100 x $9.00, per 1M


def test_nested_contexts_both_count_and_reset_after_block() -> None:
    llm = UsageFakeChatModel()
    with get_gemini_cost_callback() as outer:
        llm.invoke("x")
        with get_gemini_cost_callback() as inner:
            llm.invoke("x")
        llm.invoke("x")
    llm.invoke("after")  # not counted anywhere
    assert inner.calls == 1
    assert outer.calls == 3
    assert outer.total_cost == 3 * LITE_500_100


def test_context_resets_when_block_raises() -> None:
    llm = UsageFakeChatModel()
    with pytest.raises(KeyError), get_gemini_cost_callback() as cb:
        raise KeyError("boom")
    llm.invoke("x")
    assert cb.calls == 0


def test_explicit_handler_via_config() -> None:
    handler = GeminiCostCallbackHandler()
    UsageFakeChatModel().invoke("x", config={"callbacks": [handler]})
    assert handler.total_cost == LITE_500_100


def test_json_lines_log_to_stream_and_file(tmp_path: Path) -> None:
    stream = io.StringIO()
    path = tmp_path / "costs.jsonl"
    llm = UsageFakeChatModel(cached_tokens=100, thinking_tokens=10)
    with get_gemini_cost_callback(log=stream), get_gemini_cost_callback(log=path):
        llm.invoke("x", config={"tags": [CLASSIFIER_TAG]})
        llm.invoke("x")
    lines = [json.loads(line) for line in stream.getvalue().splitlines()]
    # The inner handler (file) forwards to the outer (stream): each call once per log.
    assert len(lines) == 2
    assert [json.loads(line)["run_id"] for line in path.read_text().splitlines()] == [
        line["run_id"] for line in lines
    ]
    first = lines[0]
    assert first["role"] == "classifier"
    assert first["model"] == "gemini-3.1-flash-lite"
    assert (first["input_tokens"], first["cached_tokens"]) == (500, 100)
    assert (first["output_tokens"], first["reasoning_tokens"]) == (100, 10)
    # 400 fresh x $0.25 + 100 cached x $0.025 + 100 x $1.50, per 1M
    assert first["cost"] == "0.0002525"
    assert first["cost_breakdown"]["cached_input_cost"] == "0.0000025"
    assert first["decision"] is None
    assert lines[1]["role"] == "answer"


def test_handler_rejects_unknown_service_tier() -> None:
    with pytest.raises(ValueError, match="unknown service tier"):
        # "turbo" is deliberately not a ServiceTier: the error path under test.
        GeminiCostCallbackHandler(service_tier="turbo")  # type: ignore[arg-type]


def test_nested_handlers_price_with_their_own_settings() -> None:
    llm = UsageFakeChatModel()
    free = default_catalog().with_prices(
        "gemini-3.1-flash-lite", input="0", output="0", cached_input="0"
    )
    with (
        get_gemini_cost_callback() as outer,
        get_gemini_cost_callback(catalog=free, reference_model=None) as inner,
    ):
        llm.invoke("x")
    assert inner.total_cost == 0 and inner.reference_cost == 0
    assert outer.total_cost == LITE_500_100  # not the inner block's free catalog
    assert outer.reference_cost == PRO_500_100  # nor its missing reference model


def test_only_answers_have_a_reference_cost() -> None:
    # An all-Pro setup would make the answer calls, never the classifier's.
    llm = UsageFakeChatModel()
    with get_gemini_cost_callback() as cb:
        llm.invoke("x", config={"tags": [CLASSIFIER_TAG]})
        llm.invoke("x")
    assert cb.by_role["classifier"].reference_cost == 0
    assert cb.by_role["answer"].reference_cost == PRO_500_100
    assert cb.savings == PRO_500_100 - 2 * LITE_500_100


# -- the audit (issue 15) --------------------------------------------------------------

IMAGE = "gemini-3.1-flash-image"
ONE_1K_IMAGE = Decimal("0.0672")  # 1,120 image tokens x $60/1M


def candidates_fake(candidates: int = 2) -> UsageFakeChatModel:
    """``n`` candidates, each one 1K image (1,120 output tokens), sharing one usage."""
    return UsageFakeChatModel(
        model_name=IMAGE,
        input_tokens=32,
        output_tokens=1120 * candidates,
        content=[image_block(1024, 1024)],
        candidates=candidates,
    )


def test_every_candidate_image_is_priced() -> None:
    with get_gemini_cost_callback() as cb:
        candidates_fake().invoke("two cats, please")
    # 32 prompt tokens x $0.25 + two 1K images x 1,120 tokens x $60, per 1M
    assert cb.total_cost == Decimal("0.000008") + 2 * ONE_1K_IMAGE == Decimal("0.134408")
    assert cb.totals.images == 2
    assert cb.calls == 1


def test_an_image_answer_is_its_own_reference() -> None:
    # An all-Pro setup would send an image request to the image model all the same.
    with get_gemini_cost_callback() as cb:
        candidates_fake(1).invoke("a cat")
        UsageFakeChatModel().invoke("hi")
    assert cb.by_model[IMAGE].reference_cost == cb.by_model[IMAGE].cost
    assert cb.by_model[IMAGE].cost == Decimal("0.000008") + ONE_1K_IMAGE
    assert cb.savings == PRO_500_100 - LITE_500_100


class BrokenCatalog(PriceCatalog):
    """A custom catalog whose lookups fail (a price service that is down, say)."""

    def get(self, model: str, **kwargs: Any) -> ModelPrice | None:
        msg = "price service unavailable"
        raise RuntimeError(msg)


def test_a_call_whose_pricing_raises_counts_as_unpriced() -> None:
    broken = BrokenCatalog(list(default_catalog()))
    with get_gemini_cost_callback(catalog=broken) as cb:
        with pytest.warns(UnknownPriceWarning, match="price service unavailable"):
            UsageFakeChatModel().invoke("x")
        UsageFakeChatModel().invoke("x")  # warned once
    assert cb.calls == 2 and cb.unpriced_calls == 2
    assert cb.input_tokens == 1000 and cb.total_cost == 0


def test_a_stream_that_fails_is_billed_for_the_usage_it_reported() -> None:
    # Three words: the first two chunks (the prompt's 500 tokens, 33 + 33 output) arrive,
    # the last fails. Gemini bills what it reported; the model comes from ls_model_name.
    with get_gemini_cost_callback() as cb, pytest.raises(ModelAPIError):
        list(UsageFakeChatModel(fail=True).stream("x"))
    assert cb.calls == 1 and cb.unpriced_calls == 0
    assert (cb.input_tokens, cb.output_tokens) == (500, 66)
    assert cb.total_cost == Decimal("0.000125") + Decimal("0.000099")
    assert cb._runs == {}


def test_a_stream_closed_early_is_billed_for_its_prompt() -> None:
    with get_gemini_cost_callback() as cb:
        stream = UsageFakeChatModel().stream("x")
        next(stream)
        assert isinstance(stream, Generator)
        stream.close()  # the caller stops reading: LangChain ends the run with an error
    assert cb.calls == 1
    assert (cb.input_tokens, cb.output_tokens) == (500, 33)
    assert cb.total_cost == Decimal("0.000125") + Decimal("0.0000495")


def test_a_stream_without_model_name_is_priced_on_the_runs_model() -> None:
    with get_gemini_cost_callback() as cb:
        list(UsageFakeChatModel(report_model_name=False).stream("x"))
    assert cb.unpriced_calls == 0
    assert cb.total_cost == LITE_500_100
    assert set(cb.by_model) == {"gemini-3.1-flash-lite"}


def test_an_unknown_service_tier_in_metadata_warns_and_is_unpriced() -> None:
    with get_gemini_cost_callback() as cb, pytest.warns(UnknownPriceWarning, match="'turbo'"):
        UsageFakeChatModel().invoke("x", config={"metadata": {SERVICE_TIER_METADATA_KEY: "turbo"}})
    assert cb.calls == 1 and cb.unpriced_calls == 1 and cb.total_cost == 0


def test_totals_are_exact_whatever_decimal_context_is_active() -> None:
    llm = UsageFakeChatModel(cached_tokens=100, thinking_tokens=10)
    with localcontext() as ctx:
        ctx.prec = 3
        with get_gemini_cost_callback() as cb:
            for _ in range(3):
                llm.invoke("x")
        # Literals: arithmetic here would round at this context's 3 digits.
        assert cb.total_cost == Decimal("0.0007575")  # 3 x 0.0002525
        assert cb.reference_cost == Decimal("0.00606")  # 3 x (400 x $2 + 100 x $0.20 + 100 x $12)
        assert cb.savings == Decimal("0.0053025")


def test_plain_threads_need_the_handler_in_config_or_a_process_wide_block() -> None:
    llm = UsageFakeChatModel()
    with ThreadPoolExecutor(2) as pool:
        with get_gemini_cost_callback() as context_only:
            list(pool.map(llm.invoke, ["a", "b"]))  # a ContextVar does not cross threads
        handler = GeminiCostCallbackHandler()
        list(pool.map(lambda q: llm.invoke(q, config={"callbacks": [handler]}), ["a", "b"]))
        with get_gemini_cost_callback(process_wide=True) as everywhere:
            list(pool.map(llm.invoke, ["a", "b", "c"]))
        llm.invoke("after")  # the block ended: counted nowhere
    with get_gemini_cost_callback() as copied, ContextThreadPoolExecutor(2) as context_pool:
        list(context_pool.map(llm.invoke, ["a", "b"]))  # copies the context to its threads
    assert copied.calls == 2
    assert context_only.calls == 0
    assert handler.calls == 2 and handler.total_cost == 2 * LITE_500_100
    assert everywhere.calls == 3 and everywhere.total_cost == 3 * LITE_500_100


# -- price rules the handler applies (issue 15, section 3) -------------------------------


def test_the_handler_prices_each_call_on_its_own_day() -> None:
    # Two calls to gemini-4-argon, either side of its 2026-12-01 price change.
    clock = ManualClock(datetime(2026, 11, 30, 23, 59, tzinfo=timezone.utc).timestamp())
    catalog = PriceCatalog(default_catalog().entries())  # its once-only warning not yet given
    handler = GeminiCostCallbackHandler(catalog=catalog, reference_model=None, clock=clock)
    llm = UsageFakeChatModel(model_name="gemini-4-argon")
    with pytest.warns(UnverifiedPriceWarning, match="secondary sources"):
        llm.invoke("x", config={"callbacks": [handler]})
    clock.now += 120  # 00:01 on 2026-12-01
    llm.invoke("x", config={"callbacks": [handler]})
    # 500 x $2 + 100 x $10, then 500 x $4 + 100 x $20, per 1M
    assert handler.total_cost == Decimal("0.002") + Decimal("0.004")


def test_the_handler_on_a_free_tier_key_records_it() -> None:
    log = io.StringIO()
    with get_gemini_cost_callback(free_tier=True, log=log) as cb:
        UsageFakeChatModel().invoke("x")
    assert cb.total_cost == 0 and cb.unpriced_calls == 0
    assert cb.reference_cost == PRO_500_100  # Pro has no free tier
    line = json.loads(log.getvalue())
    assert line["free_tier"] is True and line["cost"] == "0"
    assert line["cost_breakdown"]["free_tier"] is True


def grounded_fake(queries: int) -> UsageFakeChatModel:
    """Replies as a Gemini 3 model that ran Google Search ``queries`` times."""
    grounding = {"web_search_queries": [f"query {i}" for i in range(queries)]}
    return UsageFakeChatModel(extra_metadata={"grounding_metadata": grounding})


def test_search_queries_use_the_free_allowance_first_then_cost_14_per_1000() -> None:
    llm = grounded_fake(2)
    with get_gemini_cost_callback(free_search_queries=3) as cb:
        llm.invoke("x")  # both free: 1 left
        llm.invoke("x")  # one free, one billed
        llm.invoke("x")  # both billed
    assert (cb.totals.search_queries, cb.totals.free_search_queries) == (6, 3)
    assert cb.free_search_queries_left == 0
    assert cb.total_cost == 3 * LITE_500_100 + 3 * Decimal("0.014")
    # The reference prices the same searches: routing saves nothing on them.
    assert cb.savings == 3 * (PRO_500_100 - LITE_500_100)


def test_no_free_search_queries_are_assumed() -> None:
    with get_gemini_cost_callback() as cb:
        grounded_fake(1).invoke("x")
    assert cb.totals.free_search_queries == 0
    assert cb.total_cost == LITE_500_100 + Decimal("0.014")
