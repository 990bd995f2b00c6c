"""GeminiCostCallbackHandler and get_gemini_cost_callback, on fake models (pure logic).

The same handler driven through the real ChatGoogleGenerativeAI client and the
loopback Gemini server is tested in test_callbacks_live.py.
"""

from __future__ import annotations

import asyncio
import io
import json
from decimal import Decimal
from pathlib import Path

import pytest
from langchain_core.exceptions import ModelAPIError
from langchain_core.runnables import RunnableLambda

from lc_gemini_router import (
    GeminiCostCallbackHandler,
    UnknownPriceWarning,
    UsageTotals,
    default_catalog,
    get_gemini_cost_callback,
)
from lc_gemini_router.keys import CLASSIFIER_TAG, ROLE_METADATA_KEY, SERVICE_TIER_METADATA_KEY
from tests.fakes import UsageFakeChatModel

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
        )
    }
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


def test_failed_runs_count_nothing_and_do_not_crash() -> None:
    good = UsageFakeChatModel()
    bad = UsageFakeChatModel(fail=True)
    with get_gemini_cost_callback() as cb:
        good.invoke("x")
        with pytest.raises(ModelAPIError):
            bad.invoke("x")
        with pytest.raises(ModelAPIError):
            list(bad.stream("x"))
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
