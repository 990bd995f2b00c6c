"""Section 6, load: a burst of concurrent calls with a 50 ms classifier, through the
real client on a loopback simulator.

``n`` concurrent ``ainvoke`` calls (one event loop) and ``n`` threads of ``invoke``,
every prompt left open by the rules, the classifier answering after 50 ms (a server
delay) and the lanes at once, with the default ``ClassifierSettings``. Reported per
mode: the share of calls the classifier decided (the goal: at least 95%; before
admission control, 400 async calls gave 0%), the wall time, the classifier requests the
simulator received, and whether the cost handler's total equals, to the ``Decimal``,
the sum of what the simulator billed, request by request. The handler is passed in
each call's config, since threads do not inherit ``get_gemini_cost_callback()``'s
context. The same burst runs again with a 500 ms classifier (``slow_classifier``,
about what Gemini takes): fewer classifier slots would help a CPU-bound burst and
starve this one, so the defaults must hold for both.

Memory: a second burst of ``n`` calls (50 ms), through a second router and the same
handler, is traced (tracemalloc). Once that router is closed and its answers are let
go, what the burst left allocated is what outlives ``n`` calls: the handler's bounded
memory of its last 1,024 runs, and nothing per call.

The simulator runs in its own process (``benchmarks/sim_process.py``), as Gemini does:
in this one its CPU would queue under the client's GIL and the figures would measure
the stand-in as much as the router.
"""

from __future__ import annotations

import asyncio
import gc
import threading
import time
import tracemalloc
from typing import Any

from langchain_core.runnables import RunnableConfig

from benchmarks.sim_process import CLASSIFIER_DELAY, Billing, SimulatorProcess
from lc_gemini_router import (
    ClassifierSettings,
    GeminiCostCallbackHandler,
    GeminiRouter,
    RouterConfig,
)

__all__ = ["CLASSIFIED_GOAL", "RETAINED_GOAL", "run_load"]

CLASSIFIED_GOAL = 0.95
RETAINED_GOAL = 1_000_000
"""Bytes a burst may leave allocated once it is let go: the handler's bounded memory of
its last 1,024 runs (about 160 kB) and small change, whatever the burst's size."""
SLOW_CLASSIFIER_DELAY = 0.5


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


def _router(sim: SimulatorProcess) -> GeminiRouter:
    config = RouterConfig(text_rules=False, classifier=ClassifierSettings(cache_size=0))
    return GeminiRouter(config=config, api_key="test", base_url=sim.base_url, max_retries=1)


def _first_burst(
    sim: SimulatorProcess, n: int, mode: str
) -> tuple[dict[str, Any], GeminiCostCallbackHandler, Billing]:
    """One burst on a new router and handler: its figures, the handler, the billing."""
    router = _router(sim)
    handler = GeminiCostCallbackHandler()
    start = time.perf_counter()
    answers = _burst(router, _prompts(n), mode, {"callbacks": [handler]})
    wall = time.perf_counter() - start
    router.close()
    billing = sim.billing()
    figures = {
        "calls": n,
        "classified_share": round(_decided(answers) / n, 4),
        "wall_seconds": round(wall, 2),
        "classifier_requests": billing.classifier_requests,
        "handler_total": str(handler.total_cost),
        "simulator_billed": str(billing.billed),
        "totals_equal": handler.total_cost == billing.billed,
    }
    return figures, handler, billing


def _run(n: int, mode: str) -> dict[str, Any]:
    with SimulatorProcess() as sim:
        figures, handler, first = _first_burst(sim, n, mode)
        # The second burst, traced: what stays allocated once it is let go.
        run: RunnableConfig = {"callbacks": [handler]}
        sim.reset()
        gc.collect()
        tracemalloc.start()
        try:
            second = _router(sim)
            again = _burst(second, [f"again {p}" for p in _prompts(n)], mode, run)
            second.close()
            # (Tracing slows each call about 5x: this burst's decisions say nothing.)
            del again, second
            gc.collect()
            retained, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
        billed = first.billed + sim.billing().billed
    return {
        **figures,
        "handler_total": str(handler.total_cost),
        "simulator_billed": str(billed),
        "totals_equal": figures["totals_equal"] and handler.total_cost == billed,
        "second_burst_retained_bytes": retained,
        "second_burst_retained_bytes_per_call": round(retained / n),
        "second_burst_peak_bytes": peak,
    }


def _slow(n: int, mode: str) -> dict[str, Any]:
    with SimulatorProcess(SLOW_CLASSIFIER_DELAY) as sim:
        return _first_burst(sim, n, mode)[0]


def run_load(calls: int) -> dict[str, Any]:
    """Both modes at ``calls`` concurrent calls."""
    return {
        "classifier_delay_seconds": CLASSIFIER_DELAY,
        "async": _run(calls, "async"),
        "threads": _run(calls, "threads"),
        "slow_classifier": {
            "classifier_delay_seconds": SLOW_CLASSIFIER_DELAY,
            "async": _slow(calls, "async"),
            "threads": _slow(calls, "threads"),
        },
    }
