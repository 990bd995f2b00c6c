"""Classifier admission under load, through the real client: deadlines counted from
when a call is sent, a bounded number in flight, withdrawn calls never sent, and late
classifier costs that survive the caller's event loop."""

from __future__ import annotations

import asyncio
import threading
from typing import Any

import pytest

from lc_gemini_router import (
    ClassifierSettings,
    GeminiRouter,
    RouterConfig,
    get_gemini_cost_callback,
)
from lc_gemini_router.testing.simulator import GeminiSimulator, SimReply, SimRequest
from tests.routing_kit import PRO, Backend, is_classifier, live_router


class SlowClassifier(Backend):
    """The classifier answers after ``delay`` seconds (a server delay); lanes at once."""

    def __init__(self, delay: float) -> None:
        super().__init__()
        self.delay = delay
        self._never = threading.Event()

    def __call__(self, request: SimRequest) -> SimReply:
        if is_classifier(request):
            self._never.wait(self.delay)  # the server's latency, not a test timer
        return super().__call__(request)


def _router(sim: GeminiSimulator, **settings: Any) -> GeminiRouter:
    classifier = ClassifierSettings(cache_size=0, **settings)
    return live_router(sim, config=RouterConfig(classifier=classifier, text_rules=False))


def _prompts(n: int) -> list[str]:
    return [f"riddle number {i}: who shaves the barber?" for i in range(n)]


def _sources(answers: list[Any]) -> list[tuple[str, str | None]]:
    decisions = [a.response_metadata["lc_gemini_router"]["decision"] for a in answers]
    return [(d["source"], d.get("classifier_error")) for d in decisions]


def _classifier_requests(sim: GeminiSimulator) -> int:
    return sum(1 for r in sim.requests if is_classifier(r))


@pytest.mark.parametrize("how", ["threads", "async"])
def test_the_deadline_counts_from_when_the_call_is_sent(how: str) -> None:
    # Two slots, twelve callers, 0.25 s per classifier call: six waves, the last two
    # ending 1.25 s and 1.5 s after they were asked for. Counted from the ask, a 1 s
    # deadline would expire for four of the twelve; counted from the send, for none.
    with GeminiSimulator(responder=SlowClassifier(0.25)) as sim:
        router = _router(sim, max_in_flight=2, deadline_seconds=1.0)
        router.invoke("riddle zero: warm up")  # builds the clients outside the burst
        prompts = _prompts(12)
        if how == "async":

            async def burst() -> list[Any]:
                try:
                    return list(await asyncio.gather(*(router.ainvoke(p) for p in prompts)))
                finally:
                    await router.aclose()

            answers = asyncio.run(burst())
        else:
            answers = [None] * len(prompts)

            def ask(i: int) -> None:
                answers[i] = router.invoke(prompts[i])

            threads = [threading.Thread(target=ask, args=(i,)) for i in range(len(prompts))]
            for t in threads:
                t.start()
            for t in threads:
                t.join()
        router.close()
    assert _sources(answers) == [("classifier", None)] * 12
    assert {a.response_metadata["lc_gemini_router"]["decision"]["model"] for a in answers} == {PRO}


def test_a_call_that_finds_no_slot_skips_the_classifier_and_sends_nothing() -> None:
    with GeminiSimulator(responder=SlowClassifier(0.5)) as sim:
        router = _router(sim, max_in_flight=1, admission_wait_seconds=0.05)

        async def burst() -> list[Any]:
            try:
                return list(await asyncio.gather(*(router.ainvoke(p) for p in _prompts(4))))
            finally:
                await router.aclose()

        answers = asyncio.run(burst())
        sent = _classifier_requests(sim)
    sources = _sources(answers)
    assert sources.count(("classifier", None)) == 1
    busy = [error for source, error in sources if source == "fallback"]
    assert len(busy) == 3
    assert all(e is not None and e.startswith("classifier busy") for e in busy)
    assert sent == 1  # the three that found no slot were never sent
    # Skipping is not a classifier fault: the breaker stays closed.
    assert router.classifier_runner.breaker.allow() is not False


def test_threads_that_gave_up_never_send_their_classifier_call() -> None:
    with GeminiSimulator(responder=SlowClassifier(0.5)) as sim:
        router = _router(sim, max_in_flight=1, admission_wait_seconds=0.05)
        answers: list[Any] = []
        lock = threading.Lock()

        def ask(prompt: str) -> None:
            answer = router.invoke(prompt)
            with lock:
                answers.append(answer)

        threads = [threading.Thread(target=ask, args=(p,)) for p in _prompts(6)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        router.close()  # waits for the call on the wire: no request can come later
        sent = _classifier_requests(sim)
    assert sent == 1
    assert sum(1 for s, _ in _sources(answers) if s == "fallback") == 5


def test_a_cancelled_async_caller_withdraws_its_queued_classifier_call() -> None:
    with GeminiSimulator(responder=SlowClassifier(0.4)) as sim:
        router = _router(sim, max_in_flight=1)
        first, second = _prompts(2)

        async def main() -> None:
            holder = asyncio.ensure_future(router.ainvoke(first))
            with pytest.raises(asyncio.TimeoutError):
                await asyncio.wait_for(router.ainvoke(second), timeout=0.1)  # gives up
            await holder
            await router.aclose()

        asyncio.run(main())
        sent = _classifier_requests(sim)
    assert sent == 1


def test_a_late_classifier_cost_is_flushed_by_aclose() -> None:
    backend = SlowClassifier(0.4)
    with GeminiSimulator(responder=backend) as sim:
        router = _router(sim, deadline_seconds=0.05)

        async def main() -> Any:
            answer = await router.ainvoke(_prompts(1)[0])
            await router.aclose()  # the classifier call, still on the wire, ends and reports
            return answer

        with get_gemini_cost_callback() as cb:
            answer = asyncio.run(main())
    decision = answer.response_metadata["lc_gemini_router"]["decision"]
    assert decision["classifier_error"] == "timeout after 0.05s"
    assert cb.by_role["classifier"].calls == 1
    assert cb.by_role["classifier"].cost == backend.classifier_cost


def test_the_breaker_state_is_readable() -> None:
    from lc_gemini_router import CircuitBreaker

    now = [0.0]
    breaker = CircuitBreaker(threshold=2, cooldown=10, clock=lambda: now[0])
    assert (breaker.state, breaker.failures) == ("closed", 0)
    breaker.record_failure()
    breaker.record_failure()
    assert (breaker.state, breaker.failures) == ("open", 2)
    now[0] = 10.0
    assert breaker.state == "half_open"  # the next caller is the trial
    assert breaker.allow()
    assert breaker.state == "half_open" and not breaker.allow()  # one trial only
    breaker.record_success()
    assert (breaker.state, breaker.failures) == ("closed", 0)
