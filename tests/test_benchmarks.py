"""The benchmark runs at its tiny size and writes every figure; no timing is asserted.

``python benchmarks/run.py --quick`` runs once for the module (a few seconds).  The
economics checks use the RouteLLM data that ships with the package.
"""

from __future__ import annotations

import contextlib
import datetime
import json
from decimal import Decimal
from typing import Any

import pytest
from benchmarks.common import default_data_dir
from benchmarks.overhead import LOOPBACK_GOALS
from benchmarks.run import SECTIONS, main

# Whole-suite runs only: the drift checks in CI leave them out (see .ci/run).
pytestmark = pytest.mark.slow

DATA = default_data_dir()
LABELS = {
    "rule": "rule path",
    "cache": "cache hit",
    "classifier": "classifier path",
    "stream": "drained stream",
}


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> tuple[dict[str, Any], str]:
    out = tmp_path_factory.mktemp("benchmarks") / "results.json"
    capture = tmp_path_factory.mktemp("stdout") / "table.txt"
    with capture.open("w", encoding="utf-8") as stream, contextlib.redirect_stdout(stream):
        code = main(["--quick", "--out", str(out), "--data", str(DATA)])
    assert code == 0
    return json.loads(out.read_text(encoding="utf-8")), capture.read_text(encoding="utf-8")


def _number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _ratio(value: Any) -> bool:
    return _number(value) and value > 0


def test_json_has_every_section_and_the_machine(run: tuple[dict[str, Any], str]) -> None:
    results, _ = run
    assert set(results) == {"machine", *SECTIONS, "goals"}
    machine = results["machine"]
    assert isinstance(machine["platform"], str) and machine["platform"]
    assert isinstance(machine["python"], str) and machine["python"].count(".") >= 1
    assert isinstance(machine["cpu_count"], int) and machine["cpu_count"] >= 1
    datetime.datetime.fromisoformat(machine["date"])
    assert machine["mode"] == "quick"


def test_overhead_figures(run: tuple[dict[str, Any], str]) -> None:
    overhead = run[0]["overhead"]
    for path in ("classifier", "rule", "cache"):
        figures = overhead[path]
        assert figures["decision_source"] == [path]  # the intended path was measured
        for key in ("bare_median_us", "routed_median_us", "ratio_median", "ratio_total"):
            assert _ratio(figures[key]), (path, key)
        assert _number(figures["overhead_median_us"])
        assert isinstance(figures["met"], bool)
    for profile in overhead["profile"].values():  # only paths that missed their goal
        assert profile["top_self_time"] and profile["router_functions_by_cumulative_time"]
        assert _ratio(profile["profiled_us_per_call"])
    goals = run[0]["goals"]
    for path, limit in LOOPBACK_GOALS.items():
        figures = overhead["loopback"][path]
        for key in ("bare_median_us", "routed_median_us", "ratio_median"):
            assert _ratio(figures[key]), (path, key)
        # The goal line says exactly what the figure says, met or missed.
        assert figures["met"] is (figures["ratio_median"] <= limit)
        label = LABELS[path]
        name = f"overhead: {label} vs bare calls (real client, loopback)"
        expected = {"value": figures["ratio_median"], "goal": f"<= {limit:g}x"}
        assert goals[name] == {**expected, "met": figures["met"]}


def test_latency_figures(run: tuple[dict[str, Any], str]) -> None:
    latency = run[0]["latency"]
    assert {"lite/classifier", "pro/classifier"} <= set(latency["routed_paths_seen"])
    for section in ("invoke_lite_path", "ainvoke_lite_path"):
        for key in ("direct_median_s", "sequential_median_s", "speculative_median_s"):
            assert _ratio(latency[section][key]), (section, key)
        assert _ratio(latency[section]["speculative_ratio"])
        assert _ratio(latency[section]["sequential_ratio"])
    for section in ("stream_ttft_lite_path", "astream_ttft_lite_path"):
        assert _ratio(latency[section]["speculative_ratio"])
    fast = latency["stream_ttft_fast_first_token"]
    assert _ratio(fast["structural_floor_ratio"]) and _ratio(fast["speculative_ratio_vs_floor"])
    assert _ratio(latency["invoke_escalated_pro_path"]["speculative_ratio"])


def test_scale_figures(run: tuple[dict[str, Any], str]) -> None:
    scale = run[0]["scale"]
    abatch = scale["abatch"]
    assert abatch["requests"] == abatch["lane_calls"] == 500
    assert abatch["decision_sources"] == {"rule": 500}
    assert abatch["costs_exact"] is True
    Decimal(abatch["total_cost_usd"])
    for key in ("wall_s", "ideal_s", "wall_vs_ideal", "requests_per_s", "cpu_us_per_request"):
        assert _ratio(abatch[key]), key
    handler = abatch["handler"]
    assert handler["runs_in_flight_end"] == 0
    assert _ratio(handler["retained_bytes_end"]) and _ratio(handler["size_ratio_end_vs_first"])
    probe = scale["memory_probe"]
    assert probe["handler_calls"] >= probe["calls_end"]
    assert _number(probe["retained_growth_bytes_per_call"])
    loopback = scale["loopback"]
    assert loopback["costs_exact"] is True and loopback["http_errors"] == 0
    assert Decimal(loopback["total_cost_usd"]) == Decimal(loopback["expected_cost_usd"]) > 0
    assert _ratio(loopback["requests_per_s"])


def test_load_figures(run: tuple[dict[str, Any], str]) -> None:
    load = run[0]["load"]
    slow = load["slow_classifier"]
    assert slow["classifier_delay_seconds"] > load["classifier_delay_seconds"]
    for figures in (load["async"], load["threads"], slow["async"], slow["threads"]):
        assert figures["calls"] == 40
        # Every prompt is open to the classifier: one classifier request per call.
        assert figures["classifier_requests"] == 40
        assert figures["classified_share"] >= 0.95
        assert figures["totals_equal"] is True
        assert Decimal(figures["handler_total"]) == Decimal(figures["simulator_billed"]) > 0
    for mode in ("async", "threads"):
        figures = load[mode]
        assert 0 < figures["second_burst_retained_bytes"] <= figures["second_burst_peak_bytes"]


def test_goals_and_table(run: tuple[dict[str, Any], str]) -> None:
    results, table = run
    goals = results["goals"]
    sections = {name.split(":")[0] for name in goals}
    assert sections == {"overhead", "latency", "scale", "economics", "load"}
    for name, goal in goals.items():
        assert set(goal) == {"value", "goal", "met"}, name
        assert isinstance(goal["goal"], str) and isinstance(goal["met"], bool)
        assert goal["value"] is not None
        assert name in table
    assert table.splitlines()[0].split() == ["metric", "value", "goal", "met"]


def test_economics_and_rules_precision(run: tuple[dict[str, Any], str]) -> None:
    results = run[0]
    economics = results["economics"]
    assert economics["prompts"]["mt_bench"] > 0 and economics["prompts"]["gsm8k"] > 0
    for key in ("once", "replay"):
        figures = economics[key]
        assert figures["answer_costs_exact"] is True
        assert sum(figures["answers_by_lane"].values()) == figures["requests"]
        for share in ("classifier_spend_share", "pro_share_of_answers", "spend_vs_all_pro"):
            assert 0 <= figures[share] <= 1, (key, share)
        assert 0 <= figures["classifier_calls_avoided"] <= 1
        assert Decimal(figures["total_cost_usd"]) == Decimal(
            figures["classifier_cost_usd"]
        ) + Decimal(figures["answer_cost_usd"]) + Decimal(figures["speculative_cost_usd"])
    # Replayed prompts are served from the decision cache.
    assert (
        economics["replay"]["classifier_calls_avoided"]
        > economics["once"]["classifier_calls_avoided"]
    )
    assert economics["replay"]["classifier_calls"] == economics["once"]["classifier_calls"]
    assert economics["rule_decisions_match_router"] is True
    rules = results["rules_precision"]
    assert rules["prompts"] == 1399
    for key in ("rule_to_lite", "rule_to_pro", "left_to_classifier"):
        assert isinstance(rules[key]["count"], int) and isinstance(rules[key]["needs_strong"], int)
    assert rules["rules_fired"] == rules["rule_to_lite"]["count"] + rules["rule_to_pro"]["count"]
    assert 0 < rules["base_rate_needs_strong"] < 1


def test_agent_policies(run: tuple[dict[str, Any], str]) -> None:
    agents = run[0]["agents"]
    assert agents["turns"] >= 60
    assert set(agents["groups"]) == {"easy_lookup", "engineering", "long_loop"}
    steps = agents["all_pro"]["steps"]
    for name in ("all_pro", "before", "now"):
        policy = agents[name]
        assert policy["steps"] == steps  # the same agent steps, priced per lane
        assert sum(policy["steps_by_lane"].values()) == steps
        total = Decimal(policy["answer_cost_usd"]) + Decimal(policy["classifier_cost_usd"])
        assert Decimal(policy["total_cost_usd"]) == total
    assert agents["all_pro"]["steps_by_lane"]["pro"] == steps
    # The old defaults sent every step of these tool-bound turns to pro_tools.
    assert agents["before"]["steps_by_lane"]["pro_tools"] == steps
    now = agents["now"]
    assert now["spend_vs_all_pro"] < agents["before"]["spend_vs_all_pro"]
    assert now["classifier_calls"] == agents["turns"]  # one per turn, then sticky
    assert now["hard_turns_kept_on_lite"] <= now["hard_turns"]
