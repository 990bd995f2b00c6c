"""The one pipeline, through the real client on the simulator: the four entry points agree,
state is injectable and shared, the breaker lets one trial through, speculation reports
its waste at the decision in every mode, and the router owns its thread pool."""

from __future__ import annotations

import asyncio
from decimal import Decimal
from typing import Any

import pytest
from langchain_core.callbacks import BaseCallbackHandler
from langchain_core.messages import AIMessage, AIMessageChunk
from langchain_core.runnables import RunnableConfig

from lc_gemini_router import (
    COST_EVENT,
    DECISION_EVENT,
    CircuitBreaker,
    RouterConfig,
    ScoreCache,
    get_gemini_cost_callback,
)
from lc_gemini_router.keys import WASTED_EVENT
from lc_gemini_router.lanes import speculation
from lc_gemini_router.testing.simulator import GeminiSimulator
from tests.fakes import ManualClock
from tests.routing_kit import LITE, PRO, Backend, is_classifier, live_router

HARD_PROMPT = "solve the riddle of the sphinx"


class Events(BaseCallbackHandler):
    """The router's custom events, in order."""

    def __init__(self) -> None:
        self.seen: list[tuple[str, Any]] = []

    def on_custom_event(self, name: str, data: Any, **kwargs: Any) -> None:
        self.seen.append((name, data))


def merged(chunks: list[AIMessageChunk]) -> AIMessageChunk:
    total = chunks[0]
    for chunk in chunks[1:]:
        total = total + chunk
    return total


async def run_four(router: Any, prompt: str) -> dict[str, tuple[AIMessage, Events, Decimal]]:
    """The same request through invoke, ainvoke, stream and astream."""
    out: dict[str, tuple[AIMessage, Events, Decimal]] = {}
    for how in ("invoke", "ainvoke", "stream", "astream"):
        events = Events()
        config: RunnableConfig = {"callbacks": [events]}
        with get_gemini_cost_callback() as cb:
            if how == "invoke":
                message: AIMessage = router.invoke(prompt, config=config)
            elif how == "ainvoke":
                message = await router.ainvoke(prompt, config=config)
            elif how == "stream":
                message = merged(list(router.stream(prompt, config=config)))
            else:
                message = merged([c async for c in router.astream(prompt, config=config)])
        out[how] = (message, events, cb.total_cost)
    return out


@pytest.mark.parametrize(
    ("prompt", "lane"), [("what is the capital of Peru?", "lite"), (HARD_PROMPT, "pro")]
)
async def test_the_four_entry_points_report_the_same(
    sim: GeminiSimulator, backend: Backend, prompt: str, lane: str
) -> None:
    router = live_router(sim, score_cache=ScoreCache(size=0, ttl=1))  # classify every time
    results = await run_four(router, prompt)
    model = {"lite": LITE, "pro": PRO}[lane]
    expected_cost = backend.answer_cost(model) + backend.classifier_cost
    for how, (message, events, total) in results.items():
        meta = message.response_metadata["lc_gemini_router"]
        assert meta["decision"]["lane"] == lane, how
        assert meta["cost"]["total_cost"] == str(backend.answer_cost(model)), how
        assert meta["classifier"]["cost"] == str(backend.classifier_cost), how
        assert total == expected_cost, how
        assert [name for name, _ in events.seen] == [DECISION_EVENT, COST_EVENT], how
    decisions = {
        how: r[0].response_metadata["lc_gemini_router"]["decision"] for how, r in results.items()
    }
    assert len({repr(sorted(d.items())) for d in decisions.values()}) == 1
    payloads = [dict(r[1].seen[1][1]) for r in results.values()]
    answers = [p["answer"]["cost"]["total_cost"] for p in payloads]
    assert answers == [str(backend.answer_cost(model))] * 4


def test_two_routers_share_one_injected_score_cache(sim: GeminiSimulator) -> None:
    shared = ScoreCache(size=100, ttl=3600)
    first, second = live_router(sim, score_cache=shared), live_router(sim, score_cache=shared)
    assert first.classifier_runner.cache is second.classifier_runner.cache is shared
    first.invoke(HARD_PROMPT)
    reply = second.invoke(HARD_PROMPT)
    assert reply.response_metadata["lc_gemini_router"]["decision"]["source"] == "cache"
    assert sum(1 for r in sim.requests if is_classifier(r)) == 1
    assert (shared.hits, len(shared)) == (1, 1)


def test_a_shared_breaker_opens_for_every_router(sim: GeminiSimulator) -> None:
    clock = ManualClock(0.0)
    breaker = CircuitBreaker(threshold=1, cooldown=30, clock=clock)
    first, second = live_router(sim, breaker=breaker), live_router(sim, breaker=breaker)
    sim.fail_next(500, model=LITE)  # the classifier's one failure opens the circuit
    failed = first.invoke(HARD_PROMPT).response_metadata["lc_gemini_router"]["decision"]
    assert failed["classifier_error"].startswith("GoogleAPIError: 500 INTERNAL")
    assert breaker.is_open
    decision = second.invoke(HARD_PROMPT).response_metadata["lc_gemini_router"]["decision"]
    assert decision["classifier_error"] == "classifier circuit open (cooling down)"
    assert sum(1 for r in sim.requests if is_classifier(r)) == 1


async def test_half_open_breaker_sends_one_trial_among_many_callers(
    sim: GeminiSimulator,
) -> None:
    clock = ManualClock(0.0)
    breaker = CircuitBreaker(threshold=1, cooldown=30, clock=clock)
    breaker.record_failure()  # open
    clock.now = 30.0  # cooled down: half-open
    sim.set_delay(0.2, model=LITE)  # the trial is still in flight while the others arrive
    router = live_router(sim, breaker=breaker, score_cache=ScoreCache(size=0, ttl=1))
    replies = await asyncio.gather(*(router.ainvoke(f"{HARD_PROMPT} {i}") for i in range(50)))
    classifier_requests = [r for r in sim.requests if is_classifier(r)]
    assert len(classifier_requests) == 1
    sources = [r.response_metadata["lc_gemini_router"]["decision"]["source"] for r in replies]
    assert sources.count("classifier") == 1 and sources.count("fallback") == 49
    assert not breaker.is_open  # the trial succeeded: closed again
    await router.aclose()


def test_a_trial_that_never_reports_is_replaced_after_a_cooldown() -> None:
    clock = ManualClock(0.0)
    breaker = CircuitBreaker(threshold=1, cooldown=30, clock=clock)
    breaker.record_failure()
    clock.now = 30.0
    assert breaker.allow() and not breaker.allow()  # one trial, the next caller waits
    clock.now = 59.9
    assert not breaker.allow()
    clock.now = 60.0
    assert breaker.allow()  # the first trial's caller went away: a new trial


@pytest.mark.parametrize("how", ["invoke", "stream", "ainvoke", "astream"])
async def test_speculative_waste_is_reported_at_the_decision(
    sim: GeminiSimulator, backend: Backend, how: str
) -> None:
    slow_lite = "gemini-3.5-flash"  # the lite lane, slow; the classifier stays fast
    backend.lane_tokens[slow_lite] = (500, 100, 0)
    sim.set_delay(0.3, model=slow_lite)  # the speculative stream has sent nothing yet
    config = RouterConfig(speculative=True, lite_model=slow_lite)
    router = live_router(sim, config=config)
    events = Events()
    run: RunnableConfig = {"callbacks": [events]}
    if how == "invoke":
        router.invoke(HARD_PROMPT, config=run)
    elif how == "stream":
        list(router.stream(HARD_PROMPT, config=run))
    elif how == "ainvoke":
        await router.ainvoke(HARD_PROMPT, config=run)
    else:
        [c async for c in router.astream(HARD_PROMPT, config=run)]
    assert [name for name, _ in events.seen] == [DECISION_EVENT, WASTED_EVENT, COST_EVENT]
    wasted = events.seen[1][1]
    assert (wasted["model"], wasted["estimated"]) == (slow_lite, True)  # nothing arrived yet


def test_the_router_owns_its_pool() -> None:
    assert not hasattr(speculation, "background_executor")  # no module-level pool
    with GeminiSimulator(responder=Backend()) as sim:
        router = live_router(sim)
        router.invoke(HARD_PROMPT)
        pool = router.lane_set.pool
        assert pool is not None
        router.close()
        assert router.lane_set.pool is None
        with pytest.raises(RuntimeError, match="shutdown"):
            pool.submit(print)


def test_one_handler_attached_twice_counts_each_call_once(
    sim: GeminiSimulator, backend: Backend
) -> None:
    router = live_router(sim)
    with get_gemini_cost_callback() as cb:
        router.invoke(HARD_PROMPT, config={"callbacks": [cb]})  # the hook and config
    assert (cb.by_role["classifier"].calls, cb.by_role["answer"].calls) == (1, 1)
    assert cb.total_cost == backend.answer_cost(PRO) + backend.classifier_cost


def test_langchain_cache_hits_are_not_billed(sim: GeminiSimulator, backend: Backend) -> None:
    from langchain_core.caches import InMemoryCache

    router = live_router(sim, cache=InMemoryCache())
    with get_gemini_cost_callback() as cb:
        first = router.invoke(HARD_PROMPT)
        again = router.invoke(HARD_PROMPT)
    assert again.text == first.text
    assert sum(1 for r in sim.requests if not is_classifier(r)) == 1  # one real answer
    assert (cb.calls, cb.llm_cache_hits) == (2, 1)  # its classifier call and the answer
    assert cb.total_cost == backend.answer_cost(PRO) + backend.classifier_cost
