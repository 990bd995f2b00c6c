"""Shared pieces of the benchmarks: sizes, timing helpers, machine description, goals."""

from __future__ import annotations

import cProfile
import datetime
import os
import platform
import statistics
import subprocess
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from decimal import Decimal
from importlib import metadata
from pathlib import Path
from typing import Any

from lc_gemini_router import default_catalog

__all__ = [
    "REPO_ROOT",
    "Goal",
    "Sizes",
    "default_data_dir",
    "jsonable",
    "lane_cost",
    "machine_info",
    "median_us",
    "profile_calls",
    "ratio",
]

REPO_ROOT = Path(__file__).resolve().parents[1]
PACKAGES = (
    "lc-gemini-router",
    "langchain-core",
    "langchain-google-genai",
    "google-genai",
    "httpx2",
    "pydantic",
)
"""Installed versions recorded with every run: the figures depend on them."""


def default_data_dir() -> Path:
    """RouteLLM's labelled data: the copy that ships with the package."""
    from lc_gemini_router.tools.evaluation import BUNDLED_DATA

    return BUNDLED_DATA


@dataclass(frozen=True)
class Sizes:
    """How big each section runs (``--quick`` shrinks everything)."""

    quick: bool
    overhead_iterations: int
    overhead_warmup: int
    loopback_overhead_iterations: int
    latency_scale: float
    """Multiplier on the simulated latencies (classifier 200 ms, lite 300 ms, pro 1.5 s)."""
    latency_reps: int
    escalation_reps: int
    economics_stride: int
    """Use every n-th prompt of each data set (1 = all of them)."""
    replay_repeats: int
    scale_requests: int
    scale_first_phase: int
    """Requests after which the handler's memory is measured the first time."""
    scale_latency: float
    loopback_requests: int
    memory_probe_calls: tuple[int, int]
    load_calls: int = 1_000
    """Concurrent calls of the load section (async and threads)."""

    @classmethod
    def full(cls) -> Sizes:
        return cls(
            quick=False,
            overhead_iterations=2000,
            overhead_warmup=200,
            loopback_overhead_iterations=300,
            latency_scale=1.0,
            latency_reps=5,
            escalation_reps=2,
            economics_stride=1,
            replay_repeats=3,
            scale_requests=10_000,
            scale_first_phase=1_000,
            scale_latency=0.05,
            loopback_requests=200,
            memory_probe_calls=(1_000, 10_000),
        )

    @classmethod
    def tiny(cls) -> Sizes:
        return cls(
            quick=True,
            overhead_iterations=150,
            overhead_warmup=30,
            loopback_overhead_iterations=20,
            latency_scale=0.1,
            latency_reps=2,
            escalation_reps=1,
            economics_stride=16,
            replay_repeats=3,
            scale_requests=500,
            scale_first_phase=100,
            scale_latency=0.05,
            loopback_requests=20,
            memory_probe_calls=(100, 500),
            load_calls=40,
        )


@dataclass(frozen=True)
class Goal:
    """One pass/fail line of the results table."""

    name: str
    value: float | bool | None
    goal: str
    met: bool

    def to_json(self) -> dict[str, Any]:
        return {"value": self.value, "goal": self.goal, "met": self.met}


def ratio(numerator: float, denominator: float) -> float:
    return numerator / denominator if denominator else float("inf")


def median_us(samples_ns: Sequence[int]) -> float:
    """Median of nanosecond samples, in microseconds."""
    return statistics.median(samples_ns) / 1000


def _version(package: str) -> str | None:
    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError:
        return None


def _git_commit() -> str | None:
    """The measured source's commit (with ``+dirty`` when ``src/`` has local changes)."""
    try:
        head = subprocess.run(
            ["git", "-C", str(REPO_ROOT), "rev-parse", "--short", "HEAD"],
            capture_output=True,
            text=True,
            timeout=10,
            check=True,
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "-C", str(REPO_ROOT), "status", "--porcelain", "--", "src"],
            capture_output=True,
            text=True,
            timeout=10,
            check=True,
        ).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return None
    return f"{head}+dirty" if dirty else head or None


def machine_info() -> dict[str, Any]:
    """What the figures were measured on."""
    return {
        "git_commit": _git_commit(),
        "platform": platform.platform(),
        "machine": platform.machine(),
        "processor": platform.processor() or None,
        "python": sys.version.split()[0],
        "python_implementation": platform.python_implementation(),
        "cpu_count": os.cpu_count(),
        "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "packages": {name: _version(name) for name in PACKAGES},
    }


def jsonable(value: Any) -> Any:
    """Decimals as strings (exact), tuples as lists, recursively."""
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [jsonable(v) for v in value]
    if isinstance(value, float) and value != value:  # NaN is not JSON
        return None
    return value


def _rates(model: str) -> tuple[Decimal, Decimal]:
    entry = default_catalog().get(model, warn=False)
    tier = entry.tier("standard") if entry else None
    if tier is None or tier.input is None or tier.output is None:
        msg = f"no standard price for {model}"
        raise LookupError(msg)
    return tier.input, tier.output


def lane_cost(model: str, input_tokens: int, output_tokens: int) -> Decimal:
    """Standard-tier cost from the catalog's rates (prompts here are far below 200k)."""
    rate_in, rate_out = _rates(model)
    return (input_tokens * rate_in + output_tokens * rate_out) / Decimal(1_000_000)


def _where(filename: str) -> str:
    """A short name for a profiled function's file."""
    for marker in ("site-packages/", "/src/", "/benchmarks/"):
        if marker in filename:
            tail = filename.split(marker, 1)[1]
            return ("benchmarks/" if marker == "/benchmarks/" else "") + tail
    if filename.startswith("<"):
        return filename
    return "stdlib:" + Path(filename).name


def _group(filename: str) -> str:
    short = _where(filename)
    if short.startswith("lc_gemini_router/"):
        return "lc_gemini_router." + Path(short).stem
    if short.startswith("benchmarks/"):
        return "benchmark fakes"
    if "/" in short and not short.startswith("stdlib:"):
        return short.split("/", 1)[0]
    return "stdlib and builtins"


def _profile(call: Callable[[], object], calls: int) -> dict[Any, Any]:
    profiler = cProfile.Profile()
    profiler.enable()
    for _ in range(calls):
        call()
    profiler.disable()
    profiler.create_stats()  # the snapshot pstats.Stats(profiler) would read
    return profiler.stats


def _self_by_group(raw: dict[Any, Any]) -> dict[str, float]:
    groups: dict[str, float] = {}
    for (filename, _line, _name), entry in raw.items():
        groups[_group(filename)] = groups.get(_group(filename), 0.0) + entry[2]
    return groups


def profile_calls(
    call: Callable[[], object],
    calls: int,
    *,
    baseline: Callable[[], object] | None = None,
    top: int = 15,
) -> dict[str, Any]:
    """cProfile ``calls`` runs of ``call``: where the time goes, per package and function.

    The profiler sees the calling thread only: work handed to other threads (the
    router's classifier call) shows as ``lock_wait_us_per_call``.

    Returns the per-call time under the profiler, self time by package
    (``lc_gemini_router.router``, ``langchain_core``, ``pydantic``...), the functions
    with the most self time, and the router's own functions by cumulative time. With
    ``baseline`` (the bare call), also the extra self time per package over it.
    """
    raw = _profile(call, calls)
    total = sum(entry[2] for entry in raw.values())
    groups = _self_by_group(raw)
    rows = [
        (f"{_where(filename)}:{line}({name})", entry[1], entry[2], entry[3], filename)
        for (filename, line, name), entry in raw.items()
    ]

    def row(entry: tuple[str, int, float, float, str]) -> dict[str, Any]:
        label, ncalls, tottime, cumtime, _ = entry
        return {
            "function": label,
            "calls_per_call": round(ncalls / calls, 2),
            "self_us_per_call": round(tottime / calls * 1e6, 2),
            "cumulative_us_per_call": round(cumtime / calls * 1e6, 2),
        }

    by_self = sorted(rows, key=lambda r: r[2], reverse=True)[:top]
    router_rows = [r for r in rows if "lc_gemini_router" in r[4]]
    by_cum = sorted(router_rows, key=lambda r: r[3], reverse=True)[:top]
    waits = sum(e[2] for (f, _l, name), e in raw.items() if "acquire" in name and "lock" in name)
    result: dict[str, Any] = {
        "profiled_calls": calls,
        "profiled_us_per_call": round(total / calls * 1e6, 2),
        "lock_wait_us_per_call": round(waits / calls * 1e6, 2),
        "self_time_share_by_package": {
            k: round(v / total, 4) for k, v in sorted(groups.items(), key=lambda kv: -kv[1])
        },
        "top_self_time": [row(r) for r in by_self],
        "router_functions_by_cumulative_time": [row(r) for r in by_cum],
    }
    if baseline is not None:
        base = _profile(baseline, calls)
        base_groups = _self_by_group(base)
        extra = {
            k: round((groups.get(k, 0.0) - base_groups.get(k, 0.0)) / calls * 1e6, 2)
            for k in set(groups) | set(base_groups)
        }
        result["baseline_profiled_us_per_call"] = round(
            sum(entry[2] for entry in base.values()) / calls * 1e6, 2
        )
        result["extra_self_us_per_call_by_package"] = dict(
            sorted(extra.items(), key=lambda kv: -kv[1])
        )
    return result
