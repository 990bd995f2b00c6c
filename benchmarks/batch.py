"""The batch lane against the standard tier: the same routed requests, spend, time, memory.

    python benchmarks/batch.py            # 10,000 requests (3 to 5 minutes on 2 cores)
    python benchmarks/batch.py --quick    # 200 requests, a few seconds
    python benchmarks/batch.py --out /tmp/batch.json

One run sends the same mixed requests (3 in 4 easy, 1 in 4 hard; 1 in 10 left to the
classifier, the rest decided by the text rules) two ways, each through a fresh router
whose lanes are real ``ChatGoogleGenerativeAI`` clients and google-genai's batch client:

* **batch lane**: ``router.submit_batch(prompts)`` (routing, then one Gemini batch job per
  model), then ``job.wait()`` (polls, collects, prices every answer at the batch tier);
* **standard tier**: ``await router.abatch(prompts, config={"max_concurrency": 64})``.

The simulator (``GeminiSimulator`` with ``benchmarks/sim.py``'s scripted token counts)
holds every generateContent reply for the lane's simulated latency (``sim.set_delay`` per
model; the classifier is a Flash-Lite call, so it waits as long as a lite answer); batch
items are answered when their job is read, with no delay. The timed runs share this
process with it, as the other loopback benchmarks do (the CPU times include its work);
the memory pass runs it in a child process, so ``tracemalloc`` counts the client alone.

Figures: the answer spend of each run and their exact ``Decimal`` ratio (the batch tier
is half the standard price: the goal is ``<= 0.51``), the classifier spend (the same
calls at the standard tier in both), the total ratio, the all-Pro references; the wall
time of ``submit_batch`` against the wall time of the whole ``abatch`` run; the peak
``tracemalloc`` memory of submit + collect and its bytes per item (a separate, smaller
pass: tracing slows the client about five times); and whether each run's handler total
equals, to the ``Decimal``, the sum of what the simulator billed, request by request.
Results go to ``benchmarks/results-batch.json`` (or ``--out``) with the machine they were
measured on; goals are ratios measured in the same run, never absolute timings.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import dataclasses
import gc
import json
import multiprocessing
import os
import sys
import time
import tracemalloc
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from decimal import Decimal
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any, TypeVar

if __package__ in (None, ""):  # run as a script: make ``benchmarks`` importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from langchain_core.messages import AIMessage, BaseMessage

from benchmarks.common import REPO_ROOT, Goal, jsonable, machine_info, ratio
from benchmarks.fakes import LITE, PRO
from benchmarks.sim import respond
from lc_gemini_router import (
    GeminiCostCallbackHandler,
    GeminiRouter,
    default_catalog,
    get_gemini_cost_callback,
)
from lc_gemini_router.keys import ROUTER_METADATA_KEY
from lc_gemini_router.pricing.catalog import ServiceTier
from lc_gemini_router.testing.simulator import GeminiSimulator

__all__ = [
    "ANSWER_RATIO_GOAL",
    "SUBMIT_WALL_GOAL",
    "BatchSizes",
    "collect_goals",
    "main",
    "prompt",
    "run_batch",
]

ANSWER_RATIO_GOAL = 0.51
"""Batch-lane answer spend / the same answers on the standard tier (the tier is half)."""
SUBMIT_WALL_GOAL = 0.5
"""Handing the requests to the batch lane takes at most half as long as answering them."""
CONCURRENCY = 64
T = TypeVar("T")
BILLED_TIER: dict[str, ServiceTier] = {"batchGenerateContent": "batch"}
"""The tier each simulator method is billed at (anything else: standard)."""


@dataclass(frozen=True)
class BatchSizes:
    """How big the run is (``--quick`` shrinks it)."""

    quick: bool
    requests: int
    memory_requests: int
    """Requests of the ``tracemalloc`` pass (tracing slows the client about five times)."""
    lite_latency: float
    """Seconds the simulator holds a Flash-Lite reply (lite answers and the classifier)."""
    pro_latency: float

    @classmethod
    def full(cls) -> BatchSizes:
        return cls(False, 10_000, 500, 0.05, 0.25)

    @classmethod
    def tiny(cls) -> BatchSizes:
        return cls(True, 200, 40, 0.01, 0.05)


def prompt(i: int) -> str:
    """Request ``i`` of the mix; 20 in a row: 15 easy and 5 hard, 2 left to the classifier."""
    slot = i % 20
    if slot == 0:  # no rule applies; the classifier scores it easy: lite
        return f"What could explain observation {i} in last night's readings?"
    if slot == 1:  # no rule applies; the classifier scores it hard: pro
        return f"Solve riddle {i}: what has keys but opens no locks?"
    if slot < 6:  # the proof rule: pro, no classifier call
        return f"Prove that the sum of the first {i} odd numbers is {i} squared."
    return f"Translate 'invoice {i}' into German"  # the translation rule: lite


# -- the simulator: in this process for the timed runs, in a child for the memory pass ------

Billing = list[tuple[str, str, int, dict[str, Any] | None]]
"""Every logged request: method, model, HTTP status, usage metadata."""


def _rows(sim: GeminiSimulator) -> Billing:
    return [(r.method, r.model, r.status, r.usage) for r in sim.requests]


class Simulator:
    """A ``GeminiSimulator`` in this process, holding replies for the lanes' latencies."""

    def __init__(self, delays: dict[str, float]) -> None:
        self._delays = delays
        self._sim = GeminiSimulator(responder=respond).start()
        self._hold()
        self.base_url = self._sim.base_url

    def _hold(self) -> None:
        for model, seconds in self._delays.items():
            self._sim.set_delay(seconds, model=model)

    def reset(self) -> None:
        """Forget the logged requests and the batch jobs (the delays stay)."""
        self._sim.reset()  # forgets the delays too
        self._hold()

    def billing(self) -> Billing:
        return _rows(self._sim)

    def close(self) -> None:
        self._sim.close()

    def __enter__(self) -> Simulator:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _serve(conn: Connection, delays: dict[str, float]) -> None:
    """Child process: a :class:`Simulator` driven over ``conn`` (url, reset, billing, close)."""
    with Simulator(delays) as sim:
        while True:
            try:
                command = conn.recv()
            except EOFError:  # the parent went away
                return
            answer: Any = None
            if command == "url":
                answer = sim.base_url
            elif command == "reset":
                sim.reset()
            elif command == "billing":
                answer = sim.billing()
            else:
                conn.send(None)
                return
            conn.send(answer)


class SimulatorProcess:
    """A :class:`Simulator` in its own process, so ``tracemalloc`` here sees the client only.

    Not for timing: a threaded HTTP server alone on its interpreter answers 64 keep-alive
    connections more slowly than one sharing the client's (``abatch`` took twice as long).
    """

    def __init__(self, delays: dict[str, float]) -> None:
        context = multiprocessing.get_context("spawn")  # this process runs threads
        self._conn, child = context.Pipe()
        self._process = context.Process(
            target=_serve, args=(child, delays), name="gemini-simulator", daemon=True
        )
        self._process.start()
        child.close()
        self.base_url: str = self._ask("url")

    def _ask(self, command: str) -> Any:
        self._conn.send(command)
        return self._conn.recv()

    def reset(self) -> None:
        """Forget the logged requests and the batch jobs (the delays stay)."""
        self._ask("reset")

    def billing(self) -> Billing:
        rows: Billing = self._ask("billing")
        return rows

    def close(self) -> None:
        with contextlib.suppress(OSError, EOFError):  # the child is gone already
            self._ask("close")
        self._process.join(timeout=10)
        if self._process.is_alive():
            self._process.terminate()
            self._process.join(timeout=5)
        self._conn.close()

    def __enter__(self) -> SimulatorProcess:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _billed(rows: Billing) -> dict[str, Any]:
    """What the simulator billed, request by request, at the catalog's rates for its tier."""
    catalog = default_catalog()
    total, billed, failed = Decimal(0), 0, 0
    by_method: Counter[str] = Counter()
    for method, model, status, usage in rows:
        if status != 200 or usage is None:
            failed += 1
            continue
        entry = catalog.get(model, warn=False)
        prices = entry.tier(BILLED_TIER.get(method, "standard")) if entry else None
        if prices is None or prices.input is None or prices.output is None:
            msg = f"no price for {model} ({method})"
            raise LookupError(msg)
        output = usage.get("candidatesTokenCount", 0) + usage.get("thoughtsTokenCount", 0)
        cost = usage["promptTokenCount"] * prices.input + output * prices.output
        total += cost / Decimal(1_000_000)
        billed += 1
        by_method[method] += 1
    return {"usd": total, "requests": billed, "failed": failed, "by_method": dict(by_method)}


# -- the two runs -----------------------------------------------------------------------------


def _no_sleep(seconds: float) -> None:
    """Polls follow each other at once: the simulator's jobs are done when first read."""


WARM_UP = [
    "Translate 'warm-up' into German",
    "What could explain the warm-up?",
    "Solve the warm-up riddle",
]


def _router(sim: Simulator | SimulatorProcess) -> GeminiRouter:
    return GeminiRouter(api_key="bench", base_url=sim.base_url, max_retries=1)


def _lanes(messages: Sequence[BaseMessage | Any]) -> list[str | None]:
    return [
        m.response_metadata[ROUTER_METADATA_KEY]["decision"]["lane"]
        if isinstance(m, AIMessage)
        else None
        for m in messages
    ]


def _sources(messages: Sequence[BaseMessage | Any]) -> dict[str, int]:
    counts = Counter(
        m.response_metadata[ROUTER_METADATA_KEY]["decision"]["source"]
        for m in messages
        if isinstance(m, AIMessage)
    )
    return dict(sorted(counts.items()))


def _spend(cb: GeminiCostCallbackHandler) -> dict[str, Any]:
    answer = cb.by_role.get("answer")
    classifier = cb.by_role.get("classifier")
    return {
        "answer_cost_usd": answer.cost if answer else Decimal(0),
        "answer_calls": answer.calls if answer else 0,
        "classifier_cost_usd": classifier.cost if classifier else Decimal(0),
        "classifier_calls": classifier.calls if classifier else 0,
        "total_cost_usd": cb.total_cost,
        "answers_standard_cost_usd": answer.standard_cost if answer else Decimal(0),
        "all_pro_same_tier_usd": cb.reference_cost,
        "all_pro_standard_tier_usd": cb.totals.standard_reference_cost,
        "tier_savings_usd": cb.tier_savings,
        "handler_calls": cb.calls,
        "unpriced_calls": cb.totals.unpriced_calls,
    }


def _exact(cb: GeminiCostCallbackHandler, billed: dict[str, Any]) -> bool:
    return bool(
        cb.total_cost == billed["usd"] and cb.calls == billed["requests"] and not billed["failed"]
    )


def _batch_lane(sim: Simulator, prompts: list[str]) -> tuple[dict[str, Any], list[Any]]:
    router = _router(sim)
    try:
        # One small job first: google-genai's batch modules imported, connections opened.
        router.submit_batch(WARM_UP).wait(poll_every=0, sleep=_no_sleep)
        sim.reset()
        gc.collect()
        with get_gemini_cost_callback() as cb:
            cpu0, t0 = time.process_time(), time.perf_counter()
            job = router.submit_batch(prompts, display_name="benchmark")
            t1, cpu1 = time.perf_counter(), time.process_time()
            results = job.wait(poll_every=0, sleep=_no_sleep)
            t2, cpu2 = time.perf_counter(), time.process_time()
        billed = _billed(sim.billing())
    finally:
        router.close()
    answers = sum(isinstance(r, AIMessage) for r in results)
    figures = {
        "requests": len(prompts),
        "answers": answers,
        "item_errors": len(results) - answers,
        "state": job.state.value,
        "gemini_jobs": len(job.gemini_jobs),
        "decision_sources": _sources(results),
        "submit_wall_s": round(t1 - t0, 3),
        "submit_cpu_s": round(cpu1 - cpu0, 3),
        "collect_wall_s": round(t2 - t1, 3),
        "collect_cpu_s": round(cpu2 - cpu1, 3),
        **_spend(cb),
        "simulator_billed_usd": billed["usd"],
        "simulator_billed_requests": billed["by_method"],
        "simulator_failed_requests": billed["failed"],
        "totals_equal": _exact(cb, billed),
    }
    return figures, results


async def _standard(
    sim: Simulator, prompts: list[str], sizes: BatchSizes
) -> tuple[dict[str, Any], list[Any]]:
    router = _router(sim)
    try:
        for text in WARM_UP:  # one awaited call per client (classifier, lite, pro) first
            await router.ainvoke(text)
        sim.reset()
        gc.collect()
        with get_gemini_cost_callback() as cb:
            cpu0, t0 = time.process_time(), time.perf_counter()
            results = await router.abatch(list(prompts), config={"max_concurrency": CONCURRENCY})
            t1, cpu1 = time.perf_counter(), time.process_time()
        billed = _billed(sim.billing())
    finally:
        await router.aclose()
    lanes = _lanes(results)
    classifier_calls = cb.by_role["classifier"].calls if "classifier" in cb.by_role else 0
    waits = {"lite": sizes.lite_latency, "pro": sizes.pro_latency}
    latency = sum(waits[lane] for lane in lanes if lane) + classifier_calls * sizes.lite_latency
    figures = {
        "requests": len(prompts),
        "answers": sum(isinstance(r, AIMessage) for r in results),
        "max_concurrency": CONCURRENCY,
        "decision_sources": _sources(results),
        "wall_s": round(t1 - t0, 3),
        "cpu_s": round(cpu1 - cpu0, 3),
        "cpu_us_per_request": round((cpu1 - cpu0) / len(prompts) * 1e6, 1),
        "latency_floor_s": round(latency / CONCURRENCY, 3),
        **_spend(cb),
        "simulator_billed_usd": billed["usd"],
        "simulator_billed_requests": billed["by_method"],
        "simulator_failed_requests": billed["failed"],
        "totals_equal": _exact(cb, billed),
    }
    return figures, results


def _memory(sim: SimulatorProcess, prompts: list[str]) -> dict[str, Any]:
    """Peak and retained ``tracemalloc`` memory of submit + collect (the handler included)."""
    router = _router(sim)
    try:
        router.submit_batch(WARM_UP).wait(poll_every=0, sleep=_no_sleep)
        sim.reset()
        gc.collect()
        tracemalloc.start()
        try:
            base = tracemalloc.get_traced_memory()[0]
            with get_gemini_cost_callback():
                job = router.submit_batch(prompts, display_name="memory")
                results = job.wait(poll_every=0, sleep=_no_sleep)
            gc.collect()
            current, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
    finally:
        router.close()
    n = len(prompts)
    return {
        "requests": n,
        "answers": sum(isinstance(r, AIMessage) for r in results),
        "peak_bytes": peak - base,
        "peak_bytes_per_item": round((peak - base) / n),
        "retained_bytes": current - base,
        "retained_bytes_per_item": round((current - base) / n),
        "retained_holds": "the job (its record) and the results, still referenced",
        "simulator": "in another process: not counted",
    }


def _ratio_of(numerator: Decimal, denominator: Decimal) -> Decimal | None:
    return numerator / denominator if denominator else None


def _step(label: str, timings: dict[str, float], work: Callable[..., T], *args: Any) -> T:
    print(f"[batch] {label} ...", file=sys.stderr, flush=True)
    start = time.perf_counter()
    result = work(*args)
    timings[label] = round(time.perf_counter() - start, 2)
    return result


def run_batch(sizes: BatchSizes) -> dict[str, Any]:
    """Both runs on one simulator in this process, then the memory pass on one in a child."""
    prompts = [prompt(i) for i in range(sizes.requests)]
    delays = {LITE: sizes.lite_latency, PRO: sizes.pro_latency}
    timings: dict[str, float] = {}
    with Simulator(delays) as sim:
        lane, lane_results = _step("batch lane", timings, _batch_lane, sim, prompts)
        standard, standard_results = _step(
            "standard tier", timings, asyncio.run, _standard(sim, prompts, sizes)
        )
    with SimulatorProcess(delays) as child:
        memory = _step("memory pass", timings, _memory, child, prompts[: sizes.memory_requests])
    answers = _ratio_of(lane["answer_cost_usd"], standard["answer_cost_usd"])
    totals = _ratio_of(lane["total_cost_usd"], standard["total_cost_usd"])
    lanes = _lanes(lane_results)
    comparison = {
        "answer_spend_ratio": float(answers) if answers is not None else None,
        "answer_spend_ratio_exact": answers,
        "total_spend_ratio": float(totals) if totals is not None else None,
        "total_spend_ratio_exact": totals,
        "classifier_spend_equal": lane["classifier_cost_usd"] == standard["classifier_cost_usd"]
        and lane["classifier_calls"] == standard["classifier_calls"],
        # The batch answers priced at the standard tier are exactly the abatch answers.
        "batch_answers_at_standard_equal_abatch": lane["answers_standard_cost_usd"]
        == standard["answer_cost_usd"],
        "same_decisions": lanes == _lanes(standard_results),
        "answers_by_lane": dict(sorted(Counter(lane for lane in lanes if lane).items())),
        "submit_wall_ratio": round(ratio(lane["submit_wall_s"], standard["wall_s"]), 4),
        "submit_and_collect_wall_ratio": round(
            ratio(lane["submit_wall_s"] + lane["collect_wall_s"], standard["wall_s"]), 4
        ),
        "submit_cpu_ratio": round(ratio(lane["submit_cpu_s"], standard["cpu_s"]), 4),
    }
    return {
        "requests": sizes.requests,
        "mix": "per 20: 15 easy (14 translation rule, 1 classifier), 5 hard (4 proof rule, "
        "1 classifier)",
        "latencies_s": {"lite_and_classifier": sizes.lite_latency, "pro": sizes.pro_latency},
        "batch_lane": lane,
        "standard_abatch": standard,
        "comparison": comparison,
        "memory": memory,
        "phase_seconds": timings,
    }


# -- goals, table, file -------------------------------------------------------------------


def _at_most(name: str, value: Any, limit: float) -> Goal:
    ok = isinstance(value, (int, float)) and value <= limit
    return Goal(name, value, f"<= {limit:g}x", ok)


def _true(name: str, value: Any) -> Goal:
    return Goal(name, bool(value), "True", value is True)


def collect_goals(batch: dict[str, Any]) -> list[Goal]:
    """The pass/fail lines of the batch section."""
    comparison, n = batch["comparison"], batch["requests"]
    lane, standard = batch["batch_lane"], batch["standard_abatch"]
    every = lane["answers"] == standard["answers"] == n
    return [
        _at_most(
            f"batch: {n} answers, batch lane spend vs abatch (standard tier)",
            comparison["answer_spend_ratio"],
            ANSWER_RATIO_GOAL,
        ),
        _at_most(
            f"batch: {n} requests, submit_batch wall vs abatch wall",
            comparison["submit_wall_ratio"],
            SUBMIT_WALL_GOAL,
        ),
        _true(
            "batch: classifier spend the same in both runs", comparison["classifier_spend_equal"]
        ),
        _true("batch: the same routing decisions in both runs", comparison["same_decisions"]),
        _true("batch: every request answered in both runs", every),
        _true("batch: batch lane handler total = simulator billing", lane["totals_equal"]),
        _true("batch: abatch handler total = simulator billing", standard["totals_equal"]),
    ]


def info_rows(batch: dict[str, Any]) -> list[tuple[str, str]]:
    """Figures worth seeing beside the goals (no pass/fail)."""
    c, lane, standard, memory = (
        batch["comparison"],
        batch["batch_lane"],
        batch["standard_abatch"],
        batch["memory"],
    )
    return [
        ("batch: answer spend ratio, exact", str(c["answer_spend_ratio_exact"])),
        (
            "batch: answers, batch lane vs abatch",
            f"${lane['answer_cost_usd']} vs ${standard['answer_cost_usd']}",
        ),
        (
            "batch: classifier (standard tier, both runs)",
            f"${lane['classifier_cost_usd']} ({lane['classifier_calls']} calls)",
        ),
        ("batch: total spend ratio", f"{c['total_spend_ratio']:.4f}"),
        (
            "batch: all-Pro reference, batch / standard tier",
            f"${lane['all_pro_same_tier_usd']} / ${lane['all_pro_standard_tier_usd']}",
        ),
        (
            "batch: submit / collect / abatch wall",
            f"{lane['submit_wall_s']:.1f} s / {lane['collect_wall_s']:.1f} s / "
            f"{standard['wall_s']:.1f} s (latency floor {standard['latency_floor_s']:.1f} s)",
        ),
        (
            "batch: client CPU, submit / collect / abatch",
            f"{lane['submit_cpu_s']:.1f} s / {lane['collect_cpu_s']:.1f} s / "
            f"{standard['cpu_s']:.1f} s",
        ),
        (
            f"batch: tracemalloc, submit + collect of {memory['requests']}",
            f"peak {memory['peak_bytes_per_item']} B/item, "
            f"retained {memory['retained_bytes_per_item']} B/item",
        ),
    ]


def _load_average() -> float | None:
    """The 1-minute load average (processes wanting a CPU), where the OS reports one."""
    try:
        return round(os.getloadavg()[0], 2)
    except (AttributeError, OSError):
        return None


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--quick", action="store_true", help="200 requests (a few seconds)")
    parser.add_argument(
        "--out",
        type=Path,
        default=REPO_ROOT / "benchmarks" / "results-batch.json",
        help="where to write the JSON (default: benchmarks/results-batch.json)",
    )
    args = parser.parse_args(argv)
    sizes = BatchSizes.tiny() if args.quick else BatchSizes.full()
    started = time.perf_counter()
    results: dict[str, Any] = {
        "machine": {**machine_info(), "mode": "quick" if sizes.quick else "full"}
    }
    load_before = _load_average()
    results["batch"] = run_batch(sizes)
    # Other work on the machine slows both runs; the figures are ratios within one run.
    results["machine"]["load_average_1min"] = {"start": load_before, "end": _load_average()}
    goals = collect_goals(results["batch"])
    results["goals"] = {g.name: g.to_json() for g in goals}
    results["machine"]["sizes"] = dataclasses.asdict(sizes)
    results["machine"]["total_seconds"] = round(time.perf_counter() - started, 2)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(jsonable(results), indent=2) + "\n", encoding="utf-8")
    from benchmarks.run import render_table  # the table of run.py, same columns

    print(render_table(goals, info_rows(results["batch"])))
    met = sum(g.met for g in goals)
    print(f"\n{met}/{len(goals)} goals met; figures in {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
