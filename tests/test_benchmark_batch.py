"""``benchmarks/batch.py --quick`` runs and writes every figure; no timing is asserted.

The quick run (200 requests, a few seconds) goes once for the module: both runs on the
loopback simulator, the memory pass on one in a child process.
"""

from __future__ import annotations

import contextlib
import datetime
import json
from decimal import Decimal
from typing import Any

import pytest
from benchmarks.batch import ANSWER_RATIO_GOAL, SUBMIT_WALL_GOAL, main, prompt

# Whole-suite runs only: the drift checks in CI leave them out (see .ci/run).
pytestmark = pytest.mark.slow

REQUESTS = 200


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> tuple[dict[str, Any], str]:
    out = tmp_path_factory.mktemp("benchmarks") / "results-batch.json"
    capture = tmp_path_factory.mktemp("stdout") / "table.txt"
    with capture.open("w", encoding="utf-8") as stream, contextlib.redirect_stdout(stream):
        code = main(["--quick", "--out", str(out)])
    assert code == 0
    return json.loads(out.read_text(encoding="utf-8")), capture.read_text(encoding="utf-8")


def _ratio(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and value > 0


def test_the_file_has_the_machine_the_section_and_the_goals(
    run: tuple[dict[str, Any], str],
) -> None:
    results, _ = run
    assert set(results) == {"machine", "batch", "goals"}
    machine = results["machine"]
    assert machine["mode"] == "quick" and machine["sizes"]["requests"] == REQUESTS
    assert isinstance(machine["cpu_count"], int) and machine["cpu_count"] >= 1
    datetime.datetime.fromisoformat(machine["date"])
    assert set(results["batch"]["phase_seconds"]) == {"batch lane", "standard tier", "memory pass"}


def test_both_runs_answer_every_request_and_their_totals_are_the_billing(
    run: tuple[dict[str, Any], str],
) -> None:
    batch = run[0]["batch"]
    lane, standard = batch["batch_lane"], batch["standard_abatch"]
    classified = sum(1 for i in range(REQUESTS) if i % 20 < 2)  # no rule applies to these
    for figures in (lane, standard):
        assert figures["answers"] == figures["answer_calls"] == REQUESTS
        assert figures["classifier_calls"] == classified
        sources = {"classifier": classified, "rule": REQUESTS - classified}
        assert figures["decision_sources"] == sources
        assert figures["totals_equal"] is True and figures["simulator_failed_requests"] == 0
        assert figures["unpriced_calls"] == 0
        total = Decimal(figures["total_cost_usd"])
        assert total == Decimal(figures["simulator_billed_usd"]) > 0
        parts = Decimal(figures["answer_cost_usd"]) + Decimal(figures["classifier_cost_usd"])
        assert total == parts
    # The batch lane: one Gemini job per model; its items billed as batch requests.
    assert lane["gemini_jobs"] == 2 and lane["item_errors"] == 0
    assert lane["simulator_billed_requests"] == {
        "generateContent": classified,
        "batchGenerateContent": REQUESTS,
    }
    assert standard["simulator_billed_requests"] == {"generateContent": REQUESTS + classified}
    for key in ("submit_wall_s", "collect_wall_s", "submit_cpu_s"):
        assert _ratio(lane[key]), key
    for key in ("wall_s", "cpu_s", "latency_floor_s", "cpu_us_per_request"):
        assert _ratio(standard[key]), key


def test_the_comparison_half_price_answers_same_classifier(
    run: tuple[dict[str, Any], str],
) -> None:
    batch = run[0]["batch"]
    comparison, lane = batch["comparison"], batch["batch_lane"]
    exact = Decimal(comparison["answer_spend_ratio_exact"])
    assert exact == Decimal("0.5")  # every rate of the batch tier is half the standard one
    assert comparison["answer_spend_ratio"] == float(exact)
    assert comparison["classifier_spend_equal"] is True
    assert comparison["batch_answers_at_standard_equal_abatch"] is True
    assert comparison["same_decisions"] is True
    assert comparison["answers_by_lane"] == {"lite": 150, "pro": 50}
    assert 0.5 < comparison["total_spend_ratio"] < 1
    assert Decimal(lane["all_pro_standard_tier_usd"]) == 2 * Decimal(lane["all_pro_same_tier_usd"])
    tier_savings = Decimal(lane["tier_savings_usd"])
    assert tier_savings == Decimal(lane["answers_standard_cost_usd"]) - Decimal(
        lane["answer_cost_usd"]
    )
    for key in ("submit_wall_ratio", "submit_and_collect_wall_ratio", "submit_cpu_ratio"):
        assert _ratio(comparison[key]), key


def test_memory_pass(run: tuple[dict[str, Any], str]) -> None:
    memory = run[0]["batch"]["memory"]
    assert memory["answers"] == memory["requests"] == run[0]["machine"]["sizes"]["memory_requests"]
    assert memory["peak_bytes"] >= memory["retained_bytes"] > 0
    assert memory["peak_bytes_per_item"] == round(memory["peak_bytes"] / memory["requests"])
    assert _ratio(memory["retained_bytes_per_item"])


def test_goals_are_computed_and_in_the_table(run: tuple[dict[str, Any], str]) -> None:
    results, table = run
    goals, comparison = results["goals"], results["batch"]["comparison"]
    assert len(goals) == 7
    for name, goal in goals.items():
        assert name.startswith("batch: ")
        assert set(goal) == {"value", "goal", "met"}, name
        assert isinstance(goal["met"], bool) and goal["value"] is not None
        assert name in table
    spend = goals[f"batch: {REQUESTS} answers, batch lane spend vs abatch (standard tier)"]
    assert spend == {"value": 0.5, "goal": f"<= {ANSWER_RATIO_GOAL:g}x", "met": True}
    submit = goals[f"batch: {REQUESTS} requests, submit_batch wall vs abatch wall"]
    ratio = comparison["submit_wall_ratio"]
    met = ratio <= SUBMIT_WALL_GOAL
    assert submit == {"value": ratio, "goal": f"<= {SUBMIT_WALL_GOAL:g}x", "met": met}
    exact = [g for name, g in goals.items() if "billing" in name or "same" in name]
    assert len(exact) == 4 and all(g["met"] for g in exact)
    assert table.splitlines()[0].split() == ["metric", "value", "goal", "met"]


def test_the_mix_is_three_easy_in_four() -> None:
    lanes = ["pro" if "riddle" in prompt(i) or "Prove" in prompt(i) else "lite" for i in range(20)]
    assert lanes.count("lite") == 15 and lanes.count("pro") == 5
