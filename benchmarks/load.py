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
"""

from __future__ import annotations

import asyncio
import threading
import time
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

__all__ = ["CLASSIFIED_GOAL", "run_load"]

CLASSIFIED_GOAL = 0.95
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


def _run(n: int, mode: str) -> dict[str, Any]:
    with GeminiSimulator(responder=_SlowClassifier()) as sim:
        config = RouterConfig(text_rules=False, classifier=ClassifierSettings(cache_size=0))
        router = GeminiRouter(config=config, api_key="test", base_url=sim.base_url, max_retries=1)
        handler = GeminiCostCallbackHandler()
        run: RunnableConfig = {"callbacks": [handler]}
        prompts = _prompts(n)
        answers: list[Any] = [None] * n
        start = time.perf_counter()
        if mode == "async":

            async def burst() -> None:
                results = await asyncio.gather(*(router.ainvoke(p, config=run) for p in prompts))
                answers[:] = results
                await router.aclose()

            asyncio.run(burst())
        else:

            def ask(i: int) -> None:
                answers[i] = router.invoke(prompts[i], config=run)

            threads = [threading.Thread(target=ask, args=(i,)) for i in range(n)]
            for t in threads:
                t.start()
            for t in threads:
                t.join()
            router.close()
        wall = time.perf_counter() - start
        billed = sum((expected_cost(r) for r in sim.requests), Decimal(0))
        classifier_requests = sum(1 for r in sim.requests if is_classifier(r))
    decided = sum(
        1
        for a in answers
        if a.response_metadata["lc_gemini_router"]["decision"]["source"] == "classifier"
    )
    return {
        "calls": n,
        "classified_share": round(decided / n, 4),
        "wall_seconds": round(wall, 2),
        "classifier_requests": classifier_requests,
        "handler_total": str(handler.total_cost),
        "simulator_billed": str(billed),
        "totals_equal": handler.total_cost == billed,
    }


def run_load(calls: int) -> dict[str, Any]:
    """Both modes at ``calls`` concurrent calls."""
    return {
        "classifier_delay_seconds": CLASSIFIER_DELAY,
        "async": _run(calls, "async"),
        "threads": _run(calls, "threads"),
    }
