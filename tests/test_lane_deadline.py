"""A reply that trickles in (every read inside the client's timeout, the whole far
beyond it) is bounded by ``lane_deadline_seconds``, through the real client."""

from __future__ import annotations

import asyncio
import threading
import time
from typing import Any

import pytest

from lc_gemini_router import ClassifierSettings, RouterConfig
from lc_gemini_router.testing.simulator import GeminiSimulator, SimReply
from tests.routing_kit import LITE, PRO, live_router

PROMPT = "riddle: who shaves the barber?"
# 16 bytes per write, 0.1 s apart: the reply's first event alone (a few hundred
# bytes) takes seconds, each read well inside the client's 2 s timeout.
TRICKLE = SimReply(text="a slow answer " * 40, trickle_seconds=0.1)


def _answer(router: Any, how: str) -> Any:
    if how == "invoke":
        return router.invoke(PROMPT, lane="pro")
    if how == "stream":
        chunks = list(router.stream(PROMPT, lane="pro"))
        return chunks[0]  # the first chunk carries the decision

    async def run() -> Any:
        try:
            if how == "ainvoke":
                return await router.ainvoke(PROMPT, lane="pro")
            chunks = [c async for c in router.astream(PROMPT, lane="pro")]
            return chunks[0]
        finally:
            await router.aclose()

    return asyncio.run(run())


@pytest.mark.parametrize("how", ["invoke", "ainvoke", "stream", "astream"])
def test_a_trickling_lane_is_cut_at_its_deadline_and_answered_on_the_fallback(
    sim: GeminiSimulator, how: str
) -> None:
    sim.script(PRO, TRICKLE)
    router = live_router(sim, config=RouterConfig(lane_deadline_seconds=0.5), timeout=2)
    started = time.monotonic()
    answer = _answer(router, how)
    took = time.monotonic() - started
    router.close()
    decision = answer.response_metadata["lc_gemini_router"]["decision"]
    assert (decision["lane"], decision["model"], decision["fallback_from"]) == ("lite", LITE, "pro")
    assert any("LaneTimeout" in reason for reason in decision["reasons"])
    assert took < 2.0  # the trickled reply alone takes several seconds


def test_without_a_deadline_the_trickle_holds_the_lane_past_the_client_timeout(
    sim: GeminiSimulator,
) -> None:
    # The fault is real: the client's 2 s timeout alone does not end it.
    sim.script(PRO, SimReply(text="slow " * 8, trickle_seconds=0.1))
    router = live_router(sim, timeout=2)
    started = time.monotonic()
    answer = router.invoke(PROMPT, lane="pro")
    took = time.monotonic() - started
    router.close()
    assert answer.response_metadata["lc_gemini_router"]["decision"]["model"] == PRO
    assert took > 2.0


def test_a_negative_trickle_is_refused() -> None:
    with pytest.raises(ValueError, match="trickle_seconds must be >= 0"):
        SimReply(trickle_seconds=-1)


def test_a_read_timeout_of_the_client_falls_back(sim: GeminiSimulator) -> None:
    # The SDK re-raises httpx's ReadTimeout unwrapped once its retries are spent: a
    # fault of the lane, not of the request, so the fallback lane answers.
    sim.set_delay(1.5, model=PRO)
    router = live_router(sim, timeout=0.5)
    answer = router.invoke(PROMPT, lane="pro")
    router.close()
    decision = answer.response_metadata["lc_gemini_router"]["decision"]
    assert (decision["lane"], decision["fallback_from"]) == ("lite", "pro")
    assert "ReadTimeout" in decision["reasons"][-1]


def test_bounded_lane_calls_of_many_threads_run_side_by_side(sim: GeminiSimulator) -> None:
    # Each bounded call reads its stream on a thread of its own. On the router's pool
    # (2 classifier threads here) the 40 calls of 0.3 s would go two at a time, 6 s in
    # all, and most would pass their 5 s deadline queued behind each other.
    sim.set_delay(0.3, model=PRO)
    config = RouterConfig(lane_deadline_seconds=5.0, classifier=ClassifierSettings(max_in_flight=2))
    router = live_router(sim, config=config)
    answers: list[Any] = [None] * 40

    def ask(i: int) -> None:
        answers[i] = router.invoke(f"{PROMPT} {i}", lane="pro")

    threads = [threading.Thread(target=ask, args=(i,)) for i in range(40)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    router.close()
    decisions = [a.response_metadata["lc_gemini_router"]["decision"] for a in answers]
    assert [(d["model"], d["fallback_from"]) for d in decisions] == [(PRO, None)] * 40
    assert [r.model for r in sim.requests] == [PRO] * 40  # none timed out and went again
