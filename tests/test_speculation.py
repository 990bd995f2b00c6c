"""Speculative start: the lite answer runs while the classifier decides."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from langchain_core.callbacks import BaseCallbackHandler

from lc_gemini_router import RouterConfig, get_gemini_cost_callback
from lc_gemini_router.keys import WASTED_EVENT
from lc_gemini_router.testing.simulator import GeminiSimulator
from tests.fakes import BlockingStreamModel, FakeClassifierModel, UsageFakeChatModel
from tests.routing_kit import PRO, Backend, is_classifier, live_router
from tests.test_router import HARD, decision_of, make_router

SPECULATIVE = RouterConfig(speculative=True)
LITE_COST = Decimal("0.000275")
PRO_COST = Decimal("0.0022")
CLASSIFIER_COST = Decimal("0.00006")


class Events(BaseCallbackHandler):
    def __init__(self) -> None:
        self.wasted: list[dict[str, Any]] = []

    def on_custom_event(self, name: str, data: Any, **kwargs: Any) -> None:
        if name == WASTED_EVENT:
            self.wasted.append(data)


def test_lite_decision_answers_from_the_speculative_call() -> None:
    lite = UsageFakeChatModel(text="lite says hi")
    router = make_router(lite=lite, config=SPECULATIVE)
    events = Events()
    with get_gemini_cost_callback() as cb:
        message = router.invoke("capital of Peru?", config={"callbacks": [events]})
    assert message.text == "lite says hi"
    assert decision_of(message)["lane"] == "lite"
    assert events.wasted == []
    assert cb.total_cost == LITE_COST + CLASSIFIER_COST  # nothing spent twice


def test_escalation_discards_lite_work_and_reports_it_as_wasted() -> None:
    router = make_router(config=SPECULATIVE)
    events = Events()
    with get_gemini_cost_callback() as cb:
        message = router.invoke("solve the riddle", config={"callbacks": [events]})
    assert decision_of(message)["lane"] == "pro"
    assert message.text == "pro thinks hard"
    # The fast fake finished before it could be closed: its whole usage was spent.
    assert len(events.wasted) == 1
    assert events.wasted[0]["usage"]["input_tokens"] == 500
    assert events.wasted[0]["estimated"] is False
    assert events.wasted[0]["cost"]["total_cost"] == str(LITE_COST)
    assert cb.by_role["speculative"].cost == LITE_COST
    assert cb.total_cost == PRO_COST + CLASSIFIER_COST + LITE_COST


def test_stream_speculation_uses_the_buffered_chunks() -> None:
    router = make_router(config=SPECULATIVE)
    chunks = list(router.stream("capital of Peru?"))
    assert "".join(c.text for c in chunks) == "lite says hi"


async def test_async_escalation_cancels_the_lite_stream_mid_way() -> None:
    lite = BlockingStreamModel(text="never finished")
    router = make_router(lite=lite, config=SPECULATIVE)
    events = Events()
    with get_gemini_cost_callback() as cb:
        message = await router.ainvoke("solve the riddle", config={"callbacks": [events]})
    assert message.text == "pro thinks hard"
    # Cancelled after its first chunk: the prompt and 3 output tokens were consumed.
    assert [w["usage"]["output_tokens"] for w in events.wasted] == [3]
    wasted = Decimal("0.000125") + Decimal("0.0000045")  # 500 x $0.25 + 3 x $1.50, per 1M
    assert cb.by_role["speculative"].cost == wasted
    assert cb.total_cost == PRO_COST + CLASSIFIER_COST + wasted


async def test_async_lite_decision_streams_from_the_speculative_call() -> None:
    router = make_router(config=SPECULATIVE)
    text = "".join([c.text async for c in router.astream("capital of Peru?")])
    assert text == "lite says hi"


def test_no_speculation_when_rules_or_cache_decide() -> None:
    classifier = FakeClassifierModel(scores={"riddle": HARD})
    lite = UsageFakeChatModel(text="lite says hi")
    router = make_router(classifier=classifier, lite=lite, config=SPECULATIVE)
    events = Events()
    with get_gemini_cost_callback() as cb:
        router.invoke("Translate 'hi' into French", config={"callbacks": [events]})  # rule
        router.invoke("solve the riddle", config={"callbacks": [events]})  # classifier
        router.invoke("solve the riddle", config={"callbacks": [events]})  # cache: no waste
    assert len(events.wasted) == 1
    assert cb.by_role["speculative"].calls == 1


def test_live_speculation_through_the_real_client() -> None:
    backend = Backend()
    # The lite lane answers on a model of its own, slowed down, so the escalated call's
    # speculative stream is cancelled before its first chunk: its waste is the estimate
    # of its prompt (17 characters -> 4 tokens) at that model's input rate, exactly.
    slow_lite = "gemini-3.5-flash"
    backend.lane_tokens[slow_lite] = (500, 100, 0)
    with GeminiSimulator(responder=backend) as sim:
        sim.set_delay(0.3, model=slow_lite)
        config = RouterConfig(speculative=True, lite_model=slow_lite)
        router = live_router(sim, config=config)
        with get_gemini_cost_callback() as cb:
            easy = router.invoke("What is the capital of Peru?")
            hard = router.invoke("solve this riddle")
        lanes = [r.model for r in sim.requests if not is_classifier(r)]
    assert decision_of(easy)["lane"] == "lite" and decision_of(hard)["lane"] == "pro"
    assert sorted(lanes) == sorted([slow_lite, slow_lite, PRO])  # one speculative call each
    assert all(r.stream for r in sim.requests if r.model == slow_lite)
    wasted = cb.by_role["speculative"]
    assert (wasted.calls, wasted.input_tokens, wasted.output_tokens) == (1, 4, 0)
    flash_in, flash_out = Decimal("1.50"), Decimal("9.00")  # gemini-3.5-flash per 1M
    assert wasted.cost == 4 * flash_in / 1_000_000
    flash_answer = (500 * flash_in + 100 * flash_out) / 1_000_000
    assert cb.total_cost == (
        flash_answer + backend.answer_cost(PRO) + 2 * backend.classifier_cost + wasted.cost
    )
