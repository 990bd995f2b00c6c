"""Section 4, scale: many concurrent requests, the cost handler's memory, a loopback run.

* ``router.abatch(inputs, config={"max_concurrency": 64})`` over requests a text rule
  decides (each is exactly one lane call of 50 ms, simulated with ``asyncio.sleep``),
  against the ideal ``n * 50 ms / 64`` and against the bare lite lane's own ``abatch``
  of the same requests (which pays LangChain's per-call CPU, as the ideal does not).
  The run is split after the first ``scale_first_phase`` requests to measure the
  handler there and at the end (the split costs at most one 50 ms tail). Process CPU
  time is reported too: one event loop cannot finish faster than the CPU work of its
  requests.
* The handler's retained size (recursive ``sys.getsizeof`` of its state) after the
  first phase and at the end, and ``len(handler._runs)``; plus a ``tracemalloc``
  probe that feeds a handler router-shaped runs directly, measuring what it retains.
  The handler's in-flight table keeps the capacity it reached at 64 concurrent runs;
  with ``--quick`` (100 then 500 requests) it has not reached it after the first
  phase, so the quick size ratio reads high. Judge the full run.
* A loopback run: ``GeminiSimulator`` and real ``ChatGoogleGenerativeAI`` lanes built
  by ``GeminiRouter(api_key="test", base_url=..., max_retries=1)``, through
  ``abatch``: requests per second, and whether the handler's total equals the sum
  computed from the simulator's scripted token counts and the catalog's rates.
"""

from __future__ import annotations

import asyncio
import gc
import sys
import time
import tracemalloc
import uuid
from decimal import Decimal
from typing import Any

from langchain_core.language_models import LanguageModelInput
from langchain_core.messages import AIMessage, HumanMessage
from langchain_core.outputs import ChatGeneration, LLMResult

from benchmarks.common import Sizes, lane_cost, ratio
from benchmarks.fakes import (
    LITE,
    PRO,
    PRO_TOOLS,
    KeywordClassifier,
    LaneFake,
    make_usage,
    tokens_for,
)
from benchmarks.sim import expected_cost, is_classifier, respond
from lc_gemini_router import (
    GeminiCostCallbackHandler,
    GeminiRouter,
    get_gemini_cost_callback,
)
from lc_gemini_router.testing.simulator import GeminiSimulator

__all__ = ["MEMORY_GOAL", "WALL_GOAL", "run_scale"]

CONCURRENCY = 64
WALL_GOAL = 1.25
MEMORY_GOAL = 1.10
"""Handler size at the end / after the first phase: "flat" means about 1."""
LANE_OUTPUT_TOKENS = 100


def deep_size(obj: object, seen: set[int] | None = None) -> int:
    """Bytes of ``obj`` and everything it holds (containers, dataclasses, objects)."""
    seen = set() if seen is None else seen
    if id(obj) in seen:
        return 0
    seen.add(id(obj))
    size = sys.getsizeof(obj)
    if isinstance(obj, dict):
        size += sum(deep_size(k, seen) + deep_size(v, seen) for k, v in obj.items())
    elif isinstance(obj, (list, tuple, set, frozenset)):
        size += sum(deep_size(v, seen) for v in obj)
    elif hasattr(obj, "__dict__") and not isinstance(obj, type):
        size += deep_size(vars(obj), seen)
    return size


_HANDLER_STATE = ("_runs", "_totals", "_by_model", "_by_role", "_decisions", "_warned")


def handler_size(handler: GeminiCostCallbackHandler) -> int:
    """Retained size of the handler's own state (the shared price catalog excluded)."""
    seen: set[int] = set()
    return sum(deep_size(getattr(handler, name), seen) for name in _HANDLER_STATE)


def _in_flight(handler: GeminiCostCallbackHandler) -> int:
    return len(handler._runs)


def _rule_texts(n: int) -> list[str]:
    return [f"Translate 'order number {i}' into French" for i in range(n)]


def _inputs(texts: list[str]) -> list[LanguageModelInput]:
    return list(texts)


async def _abatch_run(sizes: Sizes) -> dict[str, Any]:
    latency = sizes.scale_latency
    lite = LaneFake(model_name=LITE, latency=latency, output_tokens=LANE_OUTPUT_TOKENS)
    router = GeminiRouter(
        classifier=KeywordClassifier(latency=latency),
        lite=lite,
        pro=LaneFake(model_name=PRO, latency=latency),
        pro_tools=LaneFake(model_name=PRO_TOOLS, latency=latency),
    )
    config: Any = {"max_concurrency": CONCURRENCY}
    await router.abatch(_inputs(_rule_texts(CONCURRENCY)), config=config)  # warm-up
    n, first = sizes.scale_requests, sizes.scale_first_phase
    texts = _rule_texts(n)
    inputs = _inputs(texts)
    gc.collect()
    with get_gemini_cost_callback() as cb:
        cpu0, t0 = time.process_time(), time.perf_counter()
        replies = await router.abatch(inputs[:first], config=config)
        t1, cpu1 = time.perf_counter(), time.process_time()
        size_first, in_flight_first = handler_size(cb), _in_flight(cb)
        cpu2, t2 = time.process_time(), time.perf_counter()
        replies += await router.abatch(inputs[first:], config=config)
        t3, cpu3 = time.perf_counter(), time.process_time()
        size_end, in_flight_end = handler_size(cb), _in_flight(cb)
    wall = (t1 - t0) + (t3 - t2)
    cpu = (cpu1 - cpu0) + (cpu3 - cpu2)
    ideal = n * latency / CONCURRENCY
    # The fair baseline: the same requests through the lite lane's own abatch, which
    # pays LangChain's per-call CPU too (the "ideal" assumes none).
    bare_start = time.perf_counter()
    await lite.abatch([[HumanMessage(text)] for text in texts], config=config)
    bare = time.perf_counter() - bare_start
    lanes = {r.response_metadata["lc_gemini_router"]["decision"]["lane"] for r in replies}
    expected = sum(
        (lane_cost(LITE, tokens_for(len(text)), LANE_OUTPUT_TOKENS) for text in texts),
        Decimal(0),
    )
    return {
        "requests": n,
        "lane_calls": cb.calls,
        "latency_per_call_s": latency,
        "max_concurrency": CONCURRENCY,
        "decision_sources": cb.decision_sources,
        "lanes": sorted(lanes),
        "wall_s": round(wall, 4),
        "ideal_s": round(ideal, 4),
        "wall_vs_ideal": round(ratio(wall, ideal), 4),
        "bare_abatch_wall_s": round(bare, 4),
        "wall_vs_bare_abatch": round(ratio(wall, bare), 4),
        "requests_per_s": round(n / wall, 1),
        "cpu_s": round(cpu, 4),
        "cpu_us_per_request": round(cpu / n * 1e6, 1),
        "cpu_vs_ideal": round(ratio(cpu, ideal), 4),
        "costs_exact": cb.total_cost == expected and cb.calls == n,
        "total_cost_usd": cb.total_cost,
        "handler": {
            "calls_first": first,
            "calls_end": n,
            "retained_bytes_first": size_first,
            "retained_bytes_end": size_end,
            "size_ratio_end_vs_first": round(ratio(size_end, size_first), 4),
            "runs_in_flight_first": in_flight_first,
            "runs_in_flight_end": in_flight_end,
        },
    }


def _feed(handler: GeminiCostCallbackHandler, result: LLMResult, count: int) -> None:
    for _ in range(count):
        run_id = uuid.uuid4()
        handler.on_chat_model_start({}, [[]], run_id=run_id, metadata={})
        handler.on_llm_end(result, run_id=run_id)


def memory_probe(calls: tuple[int, int]) -> dict[str, Any]:
    """tracemalloc: what a handler retains after ``calls[0]`` and ``calls[1]`` runs."""
    decision = {"lane": "lite", "model": LITE, "source": "rule", "reasons": ["text rule"]}
    message = AIMessage(
        content="ok",
        usage_metadata=make_usage(500, 100),
        response_metadata={"model_name": LITE, "lc_gemini_router": {"decision": decision}},
    )
    result = LLMResult(generations=[[ChatGeneration(message=message)]])
    handler = GeminiCostCallbackHandler()
    _feed(handler, result, 50)  # first-use caches outside the measurement
    first, end = calls
    gc.collect()
    tracemalloc.start()
    try:
        base = tracemalloc.get_traced_memory()[0]
        _feed(handler, result, first)
        gc.collect()
        after_first = tracemalloc.get_traced_memory()[0] - base
        _feed(handler, result, end - first)
        gc.collect()
        after_end = tracemalloc.get_traced_memory()[0] - base
        peak = tracemalloc.get_traced_memory()[1] - base
    finally:
        tracemalloc.stop()
    return {
        "calls_first": first,
        "calls_end": end,
        "retained_bytes_first": after_first,
        "retained_bytes_end": after_end,
        "retained_growth_bytes_per_call": round((after_end - after_first) / (end - first), 3),
        "peak_bytes": peak,
        "handler_calls": handler.calls,
    }


# -- loopback --------------------------------------------------------------------------


def _loopback_prompt(i: int) -> str:
    if i % 4 == 0:
        return f"Translate 'invoice {i}' into German"  # a text rule: lite, no classifier
    if i % 4 == 1:
        return f"Solve riddle {i} about the three doors"  # classifier: pro
    return f"What could explain loopback observation {i}?"  # classifier: lite


async def _loopback(n: int) -> dict[str, Any]:
    with GeminiSimulator(responder=respond) as sim:
        router = GeminiRouter(api_key="test", base_url=sim.base_url, max_retries=1)
        try:
            # httpx's async pools: one awaited call per client first (classifier, lite,
            # pro), then the concurrent batch.
            await router.ainvoke("What could explain the warm-up?")
            await router.ainvoke("Solve the warm-up riddle")
            sim.reset()
            prompts = [_loopback_prompt(i) for i in range(n)]
            with get_gemini_cost_callback() as cb:
                start = time.perf_counter()
                replies = await router.abatch(
                    _inputs(prompts), config={"max_concurrency": CONCURRENCY}
                )
                wall = time.perf_counter() - start
        finally:
            await router.aclose()
        served = [r for r in sim.requests if r.status == 200]
        failed = [r for r in sim.requests if r.status != 200]
    expected = sum((expected_cost(r) for r in served), Decimal(0))
    lanes: dict[str, int] = {}
    for reply in replies:
        lane = reply.response_metadata["lc_gemini_router"]["decision"]["lane"]
        lanes[lane] = lanes.get(lane, 0) + 1
    return {
        "requests": n,
        "http_requests": len(served),
        "http_errors": len(failed),
        "classifier_calls": sum(1 for r in served if is_classifier(r)),
        "answers_by_lane": dict(sorted(lanes.items())),
        "wall_s": round(wall, 4),
        "requests_per_s": round(n / wall, 1),
        "total_cost_usd": cb.total_cost,
        "expected_cost_usd": expected,
        "costs_exact": cb.total_cost == expected and cb.calls == len(served),
    }


def run_scale(sizes: Sizes) -> dict[str, Any]:
    abatch = asyncio.run(_abatch_run(sizes))
    probe = memory_probe(sizes.memory_probe_calls)
    loopback = asyncio.run(_loopback(sizes.loopback_requests))
    return {
        "abatch": abatch,
        "memory_probe": probe,
        "loopback": loopback,
        "goals": {"wall_vs_ideal": WALL_GOAL, "handler_size_ratio": MEMORY_GOAL},
    }
