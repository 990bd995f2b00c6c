"""Section 6, load: a burst of concurrent calls with a 50 ms classifier, through the
real client on a loopback simulator.

``n`` concurrent ``ainvoke`` calls (one event loop) and ``n`` threads of ``invoke``,
every prompt left open by the rules, the classifier answering after 50 ms (a server
delay) and the lanes at once. Reported per mode: the share of calls the classifier
decided (the goal: at least 95%; before admission control, 400 async calls gave 0%),
the wall time, the classifier requests the simulator received, and whether the cost
handler's total equals, to the ``Decimal``, the sum of what the simulator billed,
request by request. The handler is passed in each call's config, since threads do
not inherit ``get_gemini_cost_callback()``'s context.

Memory: a second burst of ``n`` calls, through a second router and the same handler,
is traced (tracemalloc). Once that router is closed and its answers and the
simulator's log are let go, what the burst left allocated is what outlives ``n``
calls: the handler's bounded memory of its last 1,024 runs, and nothing per call.
"""

from __future__ import annotations

import asyncio
import gc
import threading
import time
import tracemalloc
from decimal import Decimal
from typing import Any

from langchain_core.runnables import RunnableConfig

from benchmarks.sim import expected_cost, is_classifier, respond
from lc_gemini_router import (
    ClassifierSettings,
    GeminiCostCallbackHandler,
    GeminiRouter,
    RouterConfig,
)
from lc_gemini_router.testing.simulator import GeminiSimulator, SimReply, SimRequest

__all__ = ["CLASSIFIED_GOAL", "RETAINED_GOAL", "run_load"]

CLASSIFIED_GOAL = 0.95
RETAINED_GOAL = 1_000_000
"""Bytes a burst may leave allocated once it is let go: the handler's bounded memory of
its last 1,024 runs (about 160 kB) and small change, whatever the burst's size."""
CLASSIFIER_DELAY = 0.05


class _SlowClassifier:
    def __init__(self) -> None:
        self._never = threading.Event()

    def __call__(self, request: SimRequest) -> SimReply:
        if is_classifier(request):
            self._never.wait(CLASSIFIER_DELAY)  # the server's latency
        return respond(request)


def _prompts(n: int) -> list[str]:
    # Half hard, half easy; all distinct (no cache hits) and open to the classifier.
    return [f"riddle {i}: who shaves the barber?" if i % 2 else f"note {i}" for i in range(n)]


def _burst(router: GeminiRouter, prompts: list[str], mode: str, run: RunnableConfig) -> list[Any]:
    answers: list[Any] = [None] * len(prompts)
    if mode == "async":

        async def burst() -> None:
            results = await asyncio.gather(*(router.ainvoke(p, config=run) for p in prompts))
            answers[:] = results
            await router.aclose()

        asyncio.run(burst())
    else:

        def ask(i: int) -> None:
            answers[i] = router.invoke(prompts[i], config=run)

        threads = [threading.Thread(target=ask, args=(i,)) for i in range(len(prompts))]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    return answers


def _decided(answers: list[Any]) -> int:
    return sum(
        1
        for a in answers
        if a.response_metadata["lc_gemini_router"]["decision"]["source"] == "classifier"
    )


def _run(n: int, mode: str) -> dict[str, Any]:
    with GeminiSimulator(responder=_SlowClassifier()) as sim:
        config = RouterConfig(text_rules=False, classifier=ClassifierSettings(cache_size=0))
        router = GeminiRouter(config=config, api_key="test", base_url=sim.base_url, max_retries=1)
        handler = GeminiCostCallbackHandler()
        run: RunnableConfig = {"callbacks": [handler]}
        start = time.perf_counter()
        answers = _burst(router, _prompts(n), mode, run)
        wall = time.perf_counter() - start
        billed = sum((expected_cost(r) for r in sim.requests), Decimal(0))
        classifier_requests = sum(1 for r in sim.requests if is_classifier(r))
        decided = _decided(answers)
        exact = handler.total_cost == billed
        router.close()
        # The second burst, traced: what stays allocated once it is let go.
        del answers, router
        sim.reset()
        gc.collect()
        tracemalloc.start()
        try:
            second = GeminiRouter(
                config=config, api_key="test", base_url=sim.base_url, max_retries=1
            )
            again = _burst(second, [f"again {p}" for p in _prompts(n)], mode, run)
            second.close()
            # (Tracing slows each call about 5x: this burst's decisions say nothing.)
            second_billed = sum((expected_cost(r) for r in sim.requests), Decimal(0))
            del again, second
            sim.reset()
            gc.collect()
            retained, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
    return {
        "calls": n,
        "classified_share": round(decided / n, 4),
        "wall_seconds": round(wall, 2),
        "classifier_requests": classifier_requests,
        "handler_total": str(handler.total_cost),
        "simulator_billed": str(billed + second_billed),
        "totals_equal": exact and handler.total_cost == billed + second_billed,
        "second_burst_retained_bytes": retained,
        "second_burst_retained_bytes_per_call": round(retained / n),
        "second_burst_peak_bytes": peak,
    }


def run_load(calls: int) -> dict[str, Any]:
    """Both modes at ``calls`` concurrent calls."""
    return {
        "classifier_delay_seconds": CLASSIFIER_DELAY,
        "async": _run(calls, "async"),
        "threads": _run(calls, "threads"),
    }
