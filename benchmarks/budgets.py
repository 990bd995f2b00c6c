"""What the budget guard costs per call: with the in-memory store and with a real Redis.

    python benchmarks/budgets.py            # 200 calls per case (about half a minute)
    python benchmarks/budgets.py --quick    # 20 calls per case
    python benchmarks/budgets.py --out /tmp/budgets.json

Each case runs sequential ``invoke`` calls through the real client on the loopback
simulator: the rule path (one lite request) and the classifier path (classifier plus
lite, each prompt new so no cached score). Figures: the median latency per call, its
ratio to the same call without budgets, and for Redis the round trips each call makes
(the commands the client sends; a Lua script is one). The loopback figures move with
the machine's load; ``guard_us_per_call`` isolates the guard itself: the same rule-path
call on zero-latency fake lanes, with budgets minus without. Results go to
``benchmarks/results-budgets.json`` (or ``--out``) with the machine they were measured
on; goals are ratios, never absolute timings.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

if __package__ in (None, ""):  # run as a script: make ``benchmarks`` importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import redis

from benchmarks.common import REPO_ROOT, machine_info
from benchmarks.fakes import LITE, PRO, PRO_TOOLS, LaneFake
from benchmarks.sim import respond
from lc_gemini_router import Budget, GeminiRouter, MemoryStore, RedisStore
from lc_gemini_router.testing.redis_server import RedisServer
from lc_gemini_router.testing.simulator import GeminiSimulator

__all__ = ["GUARD_GOAL", "main", "run_budgets"]

GUARD_GOAL = 0.25
"""The guard's own cost (Redis included) at most a quarter of a bare loopback call."""
_PATHS: dict[str, Callable[[int], str]] = {
    "rule": lambda i: f"Translate 'word {i}' into French",
    "classifier": lambda i: f"solve the riddle number {i}",
}


def _median_ms(samples: list[float]) -> float:
    return round(statistics.median(samples) * 1000, 3)


class _RoundTrips:
    """Counts the commands the blocking Redis clients send (a Lua script is one)."""

    def __init__(self) -> None:
        self.count = 0
        self._original: Callable[..., Any] = redis.Redis.execute_command

    def __enter__(self) -> _RoundTrips:
        original = self._original

        def counted(client: redis.Redis, *args: Any, **options: Any) -> Any:
            self.count += 1
            return original(client, *args, **options)

        redis.Redis.execute_command = counted  # type: ignore[method-assign,assignment]
        return self

    def __exit__(self, *exc: object) -> None:
        redis.Redis.execute_command = self._original  # type: ignore[method-assign]


def _guard_us(server_url: str, calls: int) -> dict[str, float]:
    """The guard's own cost per call: zero-latency fake lanes, budgets minus none."""
    lanes = {"lite": LaneFake(model_name=LITE), "pro": LaneFake(model_name=PRO)}
    lanes["pro_tools"] = LaneFake(model_name=PRO_TOOLS)
    stores = {"none": None, "memory": MemoryStore(), "redis": RedisStore(server_url)}
    samples: dict[str, list[float]] = {kind: [] for kind in stores}
    routers = {
        kind: GeminiRouter(
            api_key="bench", budgets=[Budget(limit="1000")] if store else [], store=store, **lanes
        )
        for kind, store in stores.items()
    }
    for i in range(calls * 5):
        for kind, router in routers.items():
            start = time.perf_counter()
            router.invoke(_PATHS["rule"](i))
            samples[kind].append(time.perf_counter() - start)
    stores["redis"].close()  # type: ignore[union-attr]
    bare = statistics.median(samples["none"])
    return {
        kind: round((statistics.median(samples[kind]) - bare) * 1e6, 1)
        for kind in ("memory", "redis")
    }


def run_budgets(calls: int) -> dict[str, Any]:
    """Median latency per call and Redis round trips per call, by path and store.

    The three routers of a path take turns call by call, so a machine that gets busier
    during the run slows them alike.
    """
    results: dict[str, Any] = {"calls": calls}
    with GeminiSimulator(responder=respond) as sim, RedisServer() as server:
        for path, prompt in _PATHS.items():
            stores = {"none": None, "memory": MemoryStore(), "redis": RedisStore(server.url)}
            routers = {
                kind: GeminiRouter(
                    api_key="bench",
                    base_url=sim.base_url,
                    max_retries=1,
                    max_tokens=1000,
                    budgets=[Budget(limit="1000")] if store is not None else [],
                    store=store,
                )
                for kind, store in stores.items()
            }
            samples: dict[str, list[float]] = {kind: [] for kind in routers}
            for router in routers.values():
                router.invoke(prompt(-1))  # warm: clients, pools, scripts loaded
            with _RoundTrips() as trips:
                for i in range(calls):
                    for kind, router in routers.items():
                        start = time.perf_counter()
                        router.invoke(f"{prompt(i)} ({kind})")
                        samples[kind].append(time.perf_counter() - start)
            bare = _median_ms(samples["none"])
            figures: dict[str, Any] = {"none": {"median_ms": bare}}
            for kind in ("memory", "redis"):
                median = _median_ms(samples[kind])
                figures[kind] = {"median_ms": median, "ratio_to_no_budget": round(median / bare, 3)}
            figures["redis"]["round_trips_per_call"] = round(trips.count / calls, 2)
            results[path] = figures
            for router in routers.values():
                router.close()
            stores["redis"].close()  # type: ignore[union-attr]
        results["guard_us_per_call"] = _guard_us(server.url, calls)
    share = round(
        results["guard_us_per_call"]["redis"] / 1000 / results["rule"]["none"]["median_ms"], 3
    )
    results["goal"] = {
        "metric": "guard with Redis (fake lanes) vs a bare loopback call (rule path)",
        "value": share,
        "goal": f"<= {GUARD_GOAL:g}x",
        "met": share <= GUARD_GOAL,
    }
    return results


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="20 calls per case")
    parser.add_argument("--out", type=Path, default=REPO_ROOT / "benchmarks/results-budgets.json")
    args = parser.parse_args(argv)
    results = {"machine": machine_info(), "budgets": run_budgets(20 if args.quick else 200)}
    args.out.write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")
    print(json.dumps(results["budgets"], indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
