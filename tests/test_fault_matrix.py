"""The fault matrix: every classifier and lane fault on every entry point, through the
real client, with the cost handler's total compared to what the simulator billed,
request by request.

"Billed" is the usage of every reply the simulator delivered whole. Two kinds of
cell differ from Gemini's own bill, by design, and say so below: a lane the router
abandoned (its client timed out, or its reply trickled past ``lane_deadline_seconds``)
is billed by Gemini although no usage ever reached the router, and a stream cut by the
network is billed by Gemini in full although only its first chunk arrived.
"""

from __future__ import annotations

import asyncio
import threading
from decimal import Decimal
from typing import Any

import pytest

from lc_gemini_router import (
    ClassifierSettings,
    LaneError,
    RouterConfig,
    get_gemini_cost_callback,
)
from lc_gemini_router.testing.simulator import GeminiSimulator, SimReply, SimRequest
from tests.routing_kit import LITE, PRO, Backend, cost, is_classifier, live_router

PROMPT = "riddle: who shaves the barber?"  # the classifier scores it hard: Pro answers
MODES = ["invoke", "ainvoke", "stream", "astream", "batch", "abatch"]


class Faulty(Backend):
    """The project's backend, with the classifier slowed down on request."""

    def __init__(self) -> None:
        super().__init__()
        self.classifier_delay = 0.0
        self._never = threading.Event()

    def __call__(self, request: SimRequest) -> SimReply:
        if is_classifier(request) and self.classifier_delay:
            self._never.wait(self.classifier_delay)
        return super().__call__(request)


def _run(router: Any, mode: str) -> Any:
    """One call in ``mode``: the answer (a stream's first chunk), or the error raised."""
    try:
        if mode == "invoke":
            return router.invoke(PROMPT)
        if mode == "batch":
            return router.batch([PROMPT])[0]
        if mode == "stream":
            chunks = list(router.stream(PROMPT))
            return chunks[0]

        async def run() -> Any:
            try:
                if mode == "ainvoke":
                    return await router.ainvoke(PROMPT)
                if mode == "abatch":
                    return (await router.abatch([PROMPT]))[0]
                chunks = [c async for c in router.astream(PROMPT)]
                return chunks[0]
            finally:
                await router.aclose()

        return asyncio.run(run())
    except LaneError as exc:
        return exc


def _billed(requests: list[SimRequest], *, skip: str | None = None) -> Decimal:
    total = Decimal(0)
    for r in requests:
        if r.status != 200 or not r.delivered or r.usage is None or r.model == skip:
            continue
        usage = r.usage
        output = usage.get("candidatesTokenCount", 0) + usage.get("thoughtsTokenCount", 0)
        total += cost(r.model, usage["promptTokenCount"], output)
    return total


CLASSIFIER_FAULTS = ["429", "500", "timeout", "malformed", "empty"]
LANE_FAULTS = ["429", "500", "timeout", "trickle", "cut"]


def _decision(answer: Any) -> dict[str, Any]:
    assert not isinstance(answer, Exception), answer
    decision: dict[str, Any] = answer.response_metadata["lc_gemini_router"]["decision"]
    return decision


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("fault", CLASSIFIER_FAULTS)
def test_classifier_faults(fault: str, mode: str) -> None:
    backend = Faulty()
    config = RouterConfig(classifier=ClassifierSettings(deadline_seconds=0.2, cache_size=0))
    with GeminiSimulator(responder=backend) as sim:
        if fault in ("429", "500"):
            sim.fail_next(int(fault), model=LITE)  # the classifier's request comes first
        elif fault == "timeout":
            backend.classifier_delay = 0.5
        elif fault == "malformed":
            sim.script(LITE, SimReply(text="difficulty: high"))
        else:
            sim.script(LITE, SimReply(text="{}"))
        router = live_router(sim, config=config)
        with get_gemini_cost_callback() as cb:
            answer = _run(router, mode)
            router.close()  # a late classifier reports before the totals are read
        requests = sim.requests
    decision = _decision(answer)
    # No score: the rules' fallback lane (lite) answers, saying why.
    assert (decision["lane"], decision["source"]) == ("lite", "fallback")
    assert decision["classifier_error"]
    assert cb.total_cost == _billed(requests)
    assert cb.unpriced_calls == 0


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("fault", LANE_FAULTS)
def test_lane_faults(fault: str, mode: str) -> None:
    backend = Faulty()
    # The client's own timeout for the timeout cell; the router's lane deadline for the
    # trickle cell (each read of a trickle is well inside the client's timeout).
    timeout = {"timeout": 0.4} if fault == "timeout" else {}
    deadline = 0.4 if fault == "trickle" else None
    config = RouterConfig(
        classifier=ClassifierSettings(cache_size=0), lane_deadline_seconds=deadline
    )
    with GeminiSimulator(responder=backend) as sim:
        if fault in ("429", "500"):
            sim.fail_next(int(fault), model=PRO, count=2)  # and the SDK's one retry
        elif fault == "timeout":
            sim.set_delay(1.0, model=PRO)
        elif fault == "trickle":
            sim.script(PRO, SimReply(text="slow " * 10, trickle_seconds=0.1))
        else:
            sim.script(PRO, SimReply(text="cut " * 60, cut_after=1))
        router = live_router(sim, config=config, **timeout)
        with get_gemini_cost_callback() as cb:
            answer = _run(router, mode)
            router.close()
        requests = sim.requests
    streamed = mode in ("stream", "astream")
    if fault == "cut" and streamed:
        # The first chunk reached the caller before the network failed: answering
        # again elsewhere would repeat tokens, so the lane is named in a LaneError.
        # Gemini bills the whole reply; the router priced what arrived.
        assert isinstance(answer, LaneError) and answer.lane == "pro"
        assert cb.by_role["answer"].calls == 1
        assert cb.total_cost > _billed(requests)  # the first chunk's usage, priced
        return
    decision = _decision(answer)
    assert (decision["lane"], decision["fallback_from"]) == ("lite", "pro")
    if fault in ("timeout", "trickle"):
        # Abandoned by the router: Gemini bills the Pro reply it finished; no usage
        # of it ever reached the router.
        assert cb.total_cost == _billed(requests, skip=PRO)
    else:
        assert cb.total_cost == _billed(requests)
    assert cb.unpriced_calls == 0
