"""Routing economics and speed of lc-gemini-router, side by side in one run.

    python benchmarks/run.py            # full size (about a minute or two on 2 cores)
    python benchmarks/run.py --quick    # tiny sizes, a few seconds
    python benchmarks/run.py --out /tmp/results.json

Every figure goes to ``benchmarks/results.json`` (or ``--out``) with the machine it
was measured on; a table of the goals (metric, value, goal, met) is printed at the
end. Goals are ratios measured in the same run, never absolute timings. The
economics section needs RouteLLM's data in ``../shared/data/routellm`` (``--data``);
without it that section is skipped and said so.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

if __package__ in (None, ""):  # run as a script: make ``benchmarks`` importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.agents import agent_rows, run_agents
from benchmarks.common import REPO_ROOT, Goal, Sizes, default_data_dir, jsonable, machine_info
from benchmarks.economics import AVOIDED_GOAL, CLASSIFIER_SHARE_GOAL, rules_precision, run_economics
from benchmarks.latency import SPECULATIVE_GOAL, run_latency
from benchmarks.load import CLASSIFIED_GOAL, RETAINED_GOAL, run_load
from benchmarks.overhead import LOOPBACK_GOALS, run_overhead
from benchmarks.scale import MEMORY_GOAL, WALL_GOAL, run_scale

__all__ = ["SECTIONS", "collect_goals", "main"]

SECTIONS = ("overhead", "latency", "economics", "rules_precision", "scale", "load", "agents")


def _at_most(name: str, value: Any, limit: float, unit: str = "x") -> Goal:
    ok = isinstance(value, (int, float)) and value <= limit
    return Goal(name, value, f"<= {limit:g}{unit}", ok)


def _at_least(name: str, value: Any, limit: float) -> Goal:
    ok = isinstance(value, (int, float)) and value >= limit
    return Goal(name, value, f">= {limit:g}", ok)


def _load_goals(load: dict[str, Any], label: str = "") -> list[Goal]:
    goals = []
    slow = load.get("slow_classifier")
    for mode in ("async", "threads"):
        if mode in load:
            figures = load[mode]
            name = f"load: {figures['calls']} {mode} calls{label}"
            share = figures["classified_share"]
            goals.append(_at_least(f"{name} decided by the classifier", share, CLASSIFIED_GOAL))
            exact = figures["totals_equal"]
            goals.append(Goal(f"{name}: handler total = simulator billing", exact, "True", exact))
            kept = figures.get("second_burst_retained_bytes")
            if kept is not None:  # bounded tables only: flat in the number of calls
                goals.append(_at_most(f"{name}: bytes kept after them", kept, RETAINED_GOAL, " B"))
    if slow:
        delay = slow["classifier_delay_seconds"]
        goals += _load_goals(slow, f" ({delay * 1000:g} ms classifier)")
    return goals


def collect_goals(results: dict[str, Any]) -> list[Goal]:
    """The pass/fail lines, from whichever sections ran."""
    goals: list[Goal] = _load_goals(results.get("load") or {})
    loopback = (results.get("overhead") or {}).get("loopback") or {}
    for kind, label in (
        ("rule", "rule path"),
        ("cache", "cache hit"),
        ("classifier", "classifier path"),
        ("stream", "drained stream"),
    ):
        if kind in loopback:
            value = loopback[kind]["ratio_median"]
            name = f"overhead: {label} vs bare calls (real client, loopback)"
            goals.append(_at_most(name, value, LOOPBACK_GOALS[kind]))
    latency = results.get("latency") or {}
    if "invoke_lite_path" in latency:
        goals += [
            _at_most(
                "latency: speculative invoke vs direct lite",
                latency["invoke_lite_path"]["speculative_ratio"],
                SPECULATIVE_GOAL,
            ),
            _at_most(
                "latency: speculative ainvoke vs direct lite",
                latency["ainvoke_lite_path"]["speculative_ratio"],
                SPECULATIVE_GOAL,
            ),
            _at_most(
                "latency: speculative stream TTFT vs direct lite",
                latency["stream_ttft_lite_path"]["speculative_ratio"],
                SPECULATIVE_GOAL,
            ),
            _at_most(
                "latency: speculative astream TTFT vs direct lite",
                latency["astream_ttft_lite_path"]["speculative_ratio"],
                SPECULATIVE_GOAL,
            ),
        ]
    if "invoke_lite_path_equal_latencies" in latency:
        goals.append(
            _at_most(
                "latency: speculative invoke vs direct lite, classifier as slow as lite",
                latency["invoke_lite_path_equal_latencies"]["speculative_ratio"],
                SPECULATIVE_GOAL,
            )
        )
    economics = results.get("economics") or {}
    if "once" in economics:
        goals += [
            _at_most(
                "economics: classifier share of spend (once)",
                economics["once"]["classifier_spend_share"],
                CLASSIFIER_SHARE_GOAL,
                "",
            ),
            _at_most(
                "economics: classifier share of spend (replay)",
                economics["replay"]["classifier_spend_share"],
                CLASSIFIER_SHARE_GOAL,
                "",
            ),
            _at_least(
                "economics: classifier calls avoided (replay)",
                economics["replay"]["classifier_calls_avoided"],
                AVOIDED_GOAL,
            ),
        ]
    scale = results.get("scale") or {}
    if "abatch" in scale:
        abatch = scale["abatch"]
        goals += [
            _at_most("scale: abatch wall vs ideal", abatch["wall_vs_ideal"], WALL_GOAL),
            _at_most(
                "scale: router abatch wall vs bare lane abatch",
                abatch["wall_vs_bare_abatch"],
                WALL_GOAL,
            ),
            _at_most(
                "scale: handler size, end vs first phase",
                abatch["handler"]["size_ratio_end_vs_first"],
                MEMORY_GOAL,
            ),
            Goal(
                "scale: handler runs in flight at end",
                abatch["handler"]["runs_in_flight_end"],
                "== 0",
                abatch["handler"]["runs_in_flight_end"] == 0,
            ),
            Goal("scale: abatch costs exact", abatch["costs_exact"], "true", abatch["costs_exact"]),
            Goal(
                "scale: loopback costs exact",
                scale["loopback"]["costs_exact"],
                "true",
                scale["loopback"]["costs_exact"],
            ),
        ]
    return goals


def _info_rows(results: dict[str, Any]) -> list[tuple[str, str]]:
    """Figures worth seeing beside the goals (no pass/fail)."""
    rows: list[tuple[str, str]] = []
    overhead = results.get("overhead") or {}
    for kind in ("classifier", "rule", "cache"):
        if kind in overhead:
            o = overhead[kind]
            rows.append(
                (
                    f"overhead: {kind} path per call (zero-latency fakes, {o['ratio_median']}x)",
                    f"{o['routed_median_us']:.0f} us vs {o['bare_median_us']:.0f} us "
                    f"(+{o['overhead_median_us']:.0f} us)",
                )
            )
    for kind, loop in (overhead.get("loopback") or {}).items():
        rows.append(
            (
                f"overhead: {kind} path, real client on loopback",
                f"{loop['routed_median_us']:.0f} us vs {loop['bare_median_us']:.0f} us "
                f"(+{loop['overhead_median_us']:.0f} us)",
            )
        )
    latency = results.get("latency") or {}
    if "invoke_lite_path" in latency:
        rows.append(
            (
                "latency: sequential invoke vs direct lite",
                f"{latency['invoke_lite_path']['sequential_ratio']:.3f}x",
            )
        )
        fast = latency["stream_ttft_fast_first_token"]
        rows.append(
            (
                "latency: spec. TTFT, lite token before classifier",
                f"{fast['speculative_ratio']:.3f}x (floor {fast['structural_floor_ratio']:.2f}x)",
            )
        )
        esc = latency["invoke_escalated_pro_path"]
        rows.append(
            ("latency: escalated, speculative vs sequential", f"{esc['speculative_ratio']:.3f}x")
        )
    economics = results.get("economics") or {}
    if "once" in economics:
        for run in ("once", "replay"):
            e = economics[run]
            spend = f"{e['spend_vs_all_pro']:.3f} (vs handler reference_cost: "
            rows.append(
                (
                    f"economics ({run}): spend vs all-Pro",
                    spend + f"{e['spend_vs_reference']:.3f})",
                )
            )
            needed = e["pro_share_needed_for_classifier_goal"]
            rows.append(
                (
                    f"economics ({run}): Pro share of answers",
                    f"{e['pro_share_of_answers']:.3f} (classifier share <= 5% needs >= {needed})",
                )
            )
        call = economics["once"]["classifier_call"]
        means = economics["once"]["mean_cost_per_request_usd"]
        rows.append(
            (
                "economics: classifier call vs lite answer",
                f"${call['cost_per_call_usd']:.7f} vs ${means['lite_answer']:.7f} "
                f"({call['mean_input_tokens']:.0f} in, {call['instruction_tokens']} instruction)",
            )
        )
    rules = results.get("rules_precision") or {}
    if "rule_to_lite" in rules:
        for key in ("rule_to_lite", "rule_to_pro"):
            r = rules[key]
            base = rules["base_rate_needs_strong"]
            rows.append(
                (
                    f"rules: {key.replace('_', ' ')} needing strong",
                    f"{r['needs_strong']}/{r['count']} (base rate {base:.3f})",
                )
            )
    rows += agent_rows(results.get("agents") or {})
    scale = results.get("scale") or {}
    if "abatch" in scale:
        a = scale["abatch"]
        rows.append(("scale: abatch CPU per request", f"{a['cpu_us_per_request']:.0f} us"))
        rows.append(("scale: abatch requests/s", f"{a['requests_per_s']:.0f}"))
        probe = scale["memory_probe"]
        rows.append(
            (
                "scale: handler growth per call (tracemalloc)",
                f"{probe['retained_growth_bytes_per_call']} B",
            )
        )
        rows.append(("scale: loopback requests/s", f"{scale['loopback']['requests_per_s']:.0f}"))
    return rows


def _fmt(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return f"{value:.4f}"
    return str(value)


def render_table(goals: Sequence[Goal], info: Sequence[tuple[str, str]]) -> str:
    rows = [("metric", "value", "goal", "met")]
    rows += [(g.name, _fmt(g.value), g.goal, "yes" if g.met else "NO") for g in goals]
    rows += [(name, value, "-", "-") for name, value in info]
    widths = [max(len(r[i]) for r in rows) for i in range(4)]
    lines = []
    for index, row in enumerate(rows):
        lines.append("  ".join(cell.ljust(widths[i]) for i, cell in enumerate(row)).rstrip())
        if index == 0:
            lines.append("  ".join("-" * w for w in widths))
    return "\n".join(lines)


def _step(
    name: str, work: Callable[[], Any], results: dict[str, Any], timings: dict[str, float]
) -> None:
    print(f"[benchmarks] {name} ...", file=sys.stderr, flush=True)
    start = time.perf_counter()
    results[name] = work()
    timings[name] = round(time.perf_counter() - start, 2)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--quick", action="store_true", help="tiny sizes (a few seconds)")
    parser.add_argument(
        "--out",
        type=Path,
        default=REPO_ROOT / "benchmarks" / "results.json",
        help="where to write the JSON (default: benchmarks/results.json)",
    )
    parser.add_argument(
        "--data",
        type=Path,
        default=default_data_dir(),
        help="RouteLLM data directory (default: ../shared/data/routellm)",
    )
    parser.add_argument(
        "--only",
        nargs="+",
        choices=SECTIONS,
        help="run only these sections (for development; the goals cover what ran)",
    )
    args = parser.parse_args(argv)
    sizes = Sizes.tiny() if args.quick else Sizes.full()
    wanted = set(args.only or SECTIONS)
    started = time.perf_counter()
    results: dict[str, Any] = {
        "machine": {**machine_info(), "mode": "quick" if sizes.quick else "full"}
    }
    timings: dict[str, float] = {}
    have_data = (args.data / "question.jsonl").is_file()
    skipped = f"RouteLLM data not found at {args.data}"
    if "overhead" in wanted:
        _step("overhead", lambda: run_overhead(sizes), results, timings)
    if "latency" in wanted:
        _step("latency", lambda: run_latency(sizes), results, timings)
    if "economics" in wanted:
        if have_data:
            _step("economics", lambda: run_economics(sizes, args.data), results, timings)
        else:
            results["economics"] = {"skipped": skipped}
    if "rules_precision" in wanted:
        if have_data:
            _step("rules_precision", lambda: rules_precision(args.data), results, timings)
        else:
            results["rules_precision"] = {"skipped": skipped}
    if "scale" in wanted:
        _step("scale", lambda: run_scale(sizes), results, timings)
    if "load" in wanted:
        _step("load", lambda: run_load(sizes.load_calls), results, timings)
    if "agents" in wanted:
        _step("agents", run_agents, results, timings)
    goals = collect_goals(results)
    results["goals"] = {g.name: g.to_json() for g in goals}
    results["machine"]["sizes"] = dataclasses.asdict(sizes)
    results["machine"]["section_seconds"] = timings
    results["machine"]["total_seconds"] = round(time.perf_counter() - started, 2)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(jsonable(results), indent=2) + "\n", encoding="utf-8")
    print(render_table(goals, _info_rows(results)))
    if not have_data and wanted & {"economics", "rules_precision"}:
        print(f"\neconomics skipped: {skipped}")
    met = sum(g.met for g in goals)
    print(f"\n{met}/{len(goals)} goals met; figures in {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
