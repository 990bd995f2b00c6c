"""Thresholds from data: samples in both formats, targets, the TOML writer, the CLI command."""

from __future__ import annotations

import json
import math
import random
from dataclasses import replace
from decimal import Decimal
from pathlib import Path
from typing import Any, TypedDict

import pytest
from langchain_core.messages import HumanMessage

from lc_gemini_router import (
    ClassifierSettings,
    ConfigError,
    CostBreakdown,
    RouterConfig,
    price_usage,
)
from lc_gemini_router.classify.classifier import CLASSIFIER_INSTRUCTION, render_classifier_input
from lc_gemini_router.routing.thresholds import (
    ScoredRequest,
    ThresholdPoint,
    candidate_thresholds,
    lane_at,
    sweep,
)
from lc_gemini_router.tools.backend import gemini_backend
from lc_gemini_router.tools.calibration import (
    CLASSIFIER_OUTPUT_TOKENS,
    DEFAULT_OUTPUT_TOKENS,
    Calibration,
    PendingRequest,
    calibrate,
    dump_config,
    load_sample,
    pro_requests,
    read_sample,
    score_sample,
    write_config,
)
from lc_gemini_router.tools.demo import run_workload
from tests.cli_kit import one_line_error, run

pytestmark = pytest.mark.usefixtures("offline_cli")

LITE = "gemini-3.1-flash-lite"
PRO = "gemini-3.1-pro-preview"
MILLION = Decimal(1_000_000)


def scored(
    n: int, *, seed: int = 7, digits: int | None = None, classifier: str = "0"
) -> list[ScoredRequest]:
    """``n`` classifier-scored requests, uniform scores; Pro costs 8x Flash-Lite."""
    rng = random.Random(seed)
    return [
        ScoredRequest(
            f"r{i}",
            score=rng.random() if digits is None else round(rng.random(), digits),
            lite_cost=Decimal("0.001"),
            pro_cost=Decimal("0.008"),
            classifier_cost=Decimal(classifier),
        )
        for i in range(n)
    ]


def mixed(seed: int, *, monotone_costs: bool = True) -> list[ScoredRequest]:
    """Scores on a coarse grid (plateaus), rule lanes, category lists, tools, no score."""
    rng = random.Random(seed)
    requests = []
    for i in range(60):
        kind = rng.random()
        lite = Decimal(rng.randint(1, 9)) / 1000
        pro = lite * 8 if monotone_costs or rng.random() < 0.7 else lite / 2
        base = ScoredRequest(f"m{i}", lite_cost=lite, pro_cost=pro, classifier_cost=Decimal("1E-4"))
        score = round(rng.random(), 1)
        if kind < 0.15:
            requests.append(replace(base, rule_lane=rng.choice(["lite", "pro", "pro_tools"])))
        elif kind < 0.25:
            requests.append(replace(base, score=score, category="translation"))
        elif kind < 0.3:
            requests.append(replace(base, score=score, needs_tools=True, tools=2))
        elif kind < 0.35:
            requests.append(base)  # no score: the fallback lane
        else:
            requests.append(replace(base, score=score, category="reasoning"))
    return requests


def brute_force_share(points: list[ThresholdPoint], share: float) -> ThresholdPoint:
    wanted = Decimal(str(share)) * points[0].requests
    return min(points, key=lambda p: (abs(pro_requests(p) - wanted), -p.threshold))


def all_points(requests: list[ScoredRequest], config: RouterConfig) -> list[ThresholdPoint]:
    thresholds = sorted({min(t, 1.0) for t in candidate_thresholds(requests)})
    return sweep(requests, thresholds, config)


# -- targets ----------------------------------------------------------------------------------


@pytest.mark.parametrize("share", [0.0, 0.05, 0.2, 0.37, 0.5, 0.9, 1.0])
def test_pro_share_target_is_met_within_one_request(share: float) -> None:
    requests = scored(1000)

    result = calibrate(requests, target_pro_share=share)

    assert abs(pro_requests(result.chosen) - share * 1000) <= 1
    threshold = result.config.escalation_threshold
    assert threshold == result.chosen.threshold
    # The written threshold reproduces the share, counted independently of the sweep.
    on_pro = sum(1 for r in requests if r.score is not None and r.score >= threshold)
    assert on_pro == pro_requests(result.chosen)
    assert result.target == f"Pro share {share * 100:g}%"


def test_pro_share_on_a_coarse_grid_is_the_closest_reachable() -> None:
    requests = scored(1000, digits=1)  # 11 distinct scores: ~100 requests per step

    result = calibrate(requests, target_pro_share=0.33)

    shares = {p.pro_share for p in sweep(requests)}
    best = min(abs(s - 0.33) for s in shares)
    assert math.isclose(abs(result.chosen.pro_share - 0.33), best)


def test_reached_says_whether_the_target_is_within_one_request() -> None:
    requests = scored(1000)
    assert calibrate(requests, target_pro_share=0.2).reached
    # Rules fix 10 of 20 requests on Pro: no threshold gets near 20% (4 requests).
    fixed = [
        ScoredRequest(f"p{i}", rule_lane="pro", lite_cost=Decimal(1), pro_cost=Decimal(8))
        for i in range(10)
    ]
    result = calibrate([*fixed, *scored(10)], target_pro_share=0.2)
    assert not result.reached
    assert pro_requests(result.chosen) == 10


def test_budget_target_exact_spend() -> None:
    # Threshold t sends k requests to Pro: spend = 8k + (10 - k) + 1 (classifier) mUSD,
    # i.e. $1.1 + $0.7k per 1,000 requests.
    requests = [
        ScoredRequest(
            f"r{i}",
            score=i / 10,
            lite_cost=Decimal("0.001"),
            pro_cost=Decimal("0.008"),
            classifier_cost=Decimal("0.0001"),
        )
        for i in range(10)
    ]

    exact = calibrate(requests, budget_per_1k=Decimal("3.2"))
    below = calibrate(requests, budget_per_1k=Decimal("3.19"))
    everything = calibrate(requests, budget_per_1k=Decimal(100))

    assert (exact.chosen.threshold, pro_requests(exact.chosen)) == (0.7, 3)
    assert exact.chosen.spend_per_1k == Decimal("3.2")
    assert exact.chosen.spend == Decimal("0.0320")
    assert exact.chosen.all_pro_spend == Decimal("0.080")
    assert (below.chosen.threshold, below.chosen.spend_per_1k) == (0.8, Decimal("2.5"))
    assert everything.chosen.threshold == 0.0  # the lowest threshold: everything on Pro
    assert exact.target == "at most $3.2 per 1,000 requests"
    with pytest.raises(ConfigError, match=r"cheapest threshold \(1\.0\) spends \$1\.1 per 1,000"):
        calibrate(requests, budget_per_1k=Decimal("1.09"))


@pytest.mark.parametrize("seed", range(8))
def test_choice_is_the_closest_point_of_a_full_sweep(seed: int) -> None:
    config = RouterConfig(never_escalate=frozenset({"translation"}))
    requests = mixed(seed)
    points = all_points(requests, config)
    for share in (0.0, 0.1, 0.25, 0.4, 0.55, 0.8, 1.0):
        result = calibrate(requests, target_pro_share=share, config=config)
        assert result.chosen == brute_force_share(points, share), share
    spends = sorted({p.spend_per_1k for p in points if p.spend_per_1k is not None})
    for budget in spends:
        result = calibrate(requests, budget_per_1k=budget, config=config)
        within = [p for p in points if p.spend_per_1k is not None and p.spend_per_1k <= budget]
        assert result.chosen == min(within, key=lambda p: p.threshold)


@pytest.mark.parametrize("seed", range(4))
def test_budget_when_pro_is_sometimes_cheaper(seed: int) -> None:
    requests = mixed(seed, monotone_costs=False)
    points = all_points(requests, RouterConfig())
    for budget in sorted({p.spend_per_1k for p in points if p.spend_per_1k is not None}):
        result = calibrate(requests, budget_per_1k=budget)
        within = [p for p in points if p.spend_per_1k is not None and p.spend_per_1k <= budget]
        assert result.chosen == min(within, key=lambda p: p.threshold)
    cheapest = min(p.spend_per_1k for p in points if p.spend_per_1k is not None)
    with pytest.raises(ConfigError, match="out of reach"):
        calibrate(requests, budget_per_1k=cheapest - Decimal("0.000001"))


class Costs(TypedDict):
    lite_cost: Decimal
    pro_cost: Decimal


def test_ties_go_to_the_higher_cheaper_threshold() -> None:
    cost: Costs = {"lite_cost": Decimal(1), "pro_cost": Decimal(8)}
    requests = [
        ScoredRequest("a", score=0.5, **cost),
        ScoredRequest("b", score=0.5, **cost),
        ScoredRequest("c", score=0.9, **cost),
        ScoredRequest("d", score=0.7, category="translation", **cost),  # never escalated
    ]
    config = RouterConfig(never_escalate=frozenset({"translation"}))

    # One request on Pro at 0.7 and at 0.9: the higher threshold wins.
    assert calibrate(requests, target_pro_share=0.25, config=config).chosen.threshold == 0.9
    # 1.5 wanted: one on Pro (at 0.7 and 0.9) is closer than three (at 0.5) or none.
    assert calibrate(requests, target_pro_share=0.375, config=config).chosen.threshold == 0.9
    # 2 wanted: 3 (at 0.5) and 1 (at 0.9) are as close: the higher threshold.
    assert calibrate(requests, target_pro_share=0.5, config=config).chosen.threshold == 0.9
    assert calibrate(requests, target_pro_share=0.7, config=config).chosen.threshold == 0.5


def test_neighbours_and_points() -> None:
    requests = [ScoredRequest(f"r{i}", score=i / 10) for i in range(10)]

    middle = calibrate(requests, target_pro_share=0.5)
    top = calibrate(requests, target_pro_share=0.0)

    assert middle.chosen.threshold == 0.5
    assert [p.threshold for p in middle.neighbours] == [0.3, 0.4, 0.6, 0.7]
    assert [p.threshold for p in middle.rows] == [0.3, 0.4, 0.5, 0.6, 0.7]
    assert top.chosen.threshold == 1.0  # capped: RouterConfig holds no threshold above 1
    assert [p.threshold for p in top.neighbours] == [0.8, 0.9]
    assert middle.candidates == 11
    assert middle.points[0].threshold == 0.0 and middle.points[-1].threshold == 1.0
    assert middle.threshold_matters
    assert middle.chosen.spend is None  # no costs: a share target still works


def test_a_sample_the_rules_decide_alone() -> None:
    requests = [ScoredRequest("a", rule_lane="pro"), ScoredRequest("b", rule_lane="lite")]

    result = calibrate(requests, target_pro_share=0.1)

    assert not result.threshold_matters
    assert result.chosen.threshold == 1.0 and result.chosen.pro_share == 0.5


def test_the_new_config_keeps_the_rest() -> None:
    start = RouterConfig(
        never_escalate=frozenset({"translation"}), rule_band=(0.1, 0.9), speculative=True
    )

    result = calibrate(scored(50), target_pro_share=0.2, config=start)

    assert result.config == start.model_copy(
        update={"escalation_threshold": result.chosen.threshold}
    )


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({}, "exactly one target"),
        ({"target_pro_share": 0.2, "budget_per_1k": Decimal(1)}, "exactly one target"),
        ({"target_pro_share": 1.2}, "between 0 and 1"),
        ({"target_pro_share": -0.1}, "between 0 and 1"),
        ({"budget_per_1k": Decimal(-1)}, ">= 0"),
        ({"budget_per_1k": Decimal("NaN")}, ">= 0"),
    ],
)
def test_calibrate_argument_errors(kwargs: dict[str, Any], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        calibrate(scored(10), **kwargs)


def test_calibrate_needs_requests_and_costs_for_a_budget() -> None:
    with pytest.raises(ConfigError, match="no requests"):
        calibrate([], target_pro_share=0.2)
    unpriced = [ScoredRequest("a", score=0.5), ScoredRequest("b", score=0.7)]
    with pytest.raises(ConfigError, match="costs are unknown"):
        calibrate(unpriced, budget_per_1k=Decimal(1))


# -- cost logs --------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def demo_log(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Any]:
    """A cost log written for real: the demo workload routed on the simulator."""
    log = tmp_path_factory.mktemp("log") / "calls.jsonl"
    with gemini_backend(live=False) as backend:
        _, handler = run_workload(backend, log=log)
    return log, handler


def total(cost: CostBreakdown | None) -> Decimal:
    assert cost is not None
    return cost.total


def logged(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text().splitlines()]


def test_a_real_cost_log_replays_exactly(demo_log: tuple[Path, Any]) -> None:
    path, handler = demo_log
    answers = [d for d in logged(path) if d["role"] == "answer" and d["decision"]]

    sample = read_sample(path)
    requests = sample.requests

    assert sample.format == "cost-log" and not sample.pending and not sample.notes
    assert [r.id for r in requests] == [d["run_id"] for d in answers]
    for request, line in zip(requests, answers, strict=True):
        decision = line["decision"]
        if decision["source"] in ("rule", "sticky", "override"):
            assert request.rule_lane == decision["lane"]
        else:
            assert request.rule_lane is None
            assert (request.score, request.category) == (decision["score"], decision["category"])
        usage = {"input_tokens": line["input_tokens"], "output_tokens": line["output_tokens"]}
        usage["output_token_details"] = {"reasoning": line["reasoning_tokens"]}
        assert request.lite_cost == total(price_usage(LITE, usage))
        assert request.pro_cost == total(price_usage(PRO, usage))
        # Replayed at the threshold it ran with, every request keeps its lane.
        assert lane_at(request, 0.6, RouterConfig()) == decision["lane"]
    # Every classifier call is counted once, with the answer it decided.
    classifier = handler.by_role["classifier"].cost
    assert sum(r.classifier_cost for r in requests) == classifier
    scored_by_classifier = [r for r in requests if r.rule_lane is None]
    assert all(r.classifier_cost > 0 for r in scored_by_classifier)
    # ... so the replay at that threshold spends exactly what the run spent.
    point = sweep(requests, [0.6])[0]
    assert point.spend == handler.total_cost
    assert point.all_pro_spend == handler.by_role["answer"].reference_cost


def test_calibrate_from_a_real_cost_log(demo_log: tuple[Path, Any], tmp_path: Path) -> None:
    path, _ = demo_log
    requests = load_sample(path)
    out = tmp_path / "router.toml"

    result = calibrate(requests, target_pro_share=0.4)
    write_config(result.config, out)

    assert isinstance(result, Calibration)
    assert RouterConfig.from_toml(out).escalation_threshold == result.chosen.threshold
    # The classifier-scored requests are the only ones a threshold moves.
    assert result.threshold_matters


def record(**fields: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "ts": 1_790_000_000.0,
        "run_id": "r",
        "parent_run_id": None,
        "model": LITE,
        "role": "answer",
        "service_tier": "standard",
        "input_tokens": 1000,
        "cached_tokens": 0,
        "output_tokens": 100,
        "reasoning_tokens": 0,
        "cost": "0.0004",
        "decision": None,
    }
    return {**base, **fields}


def decision(source: str, lane: str = "lite", **fields: Any) -> dict[str, Any]:
    model = {"lite": LITE, "pro": PRO, "pro_tools": PRO}.get(lane, LITE)
    return {"lane": lane, "model": model, "source": source, **fields}


def write_lines(path: Path, lines: list[Any]) -> Path:
    path.write_text("".join(f"{json.dumps(x)}\n" for x in lines), encoding="utf-8")
    return path


def test_cost_log_classifier_costs_by_parent_and_by_order(tmp_path: Path) -> None:
    scored_decision = decision("classifier", score=0.7, category="coding", needs_tools=False)
    lines = [
        record(run_id="c1", parent_run_id="a1", role="classifier", cost="0.0001"),
        record(run_id="a1", decision=scored_decision),
        # As the router logs it today: the parent is the classifier's own chain run.
        record(run_id="c2", parent_run_id="chain", role="classifier", cost="0.0002"),
        record(run_id="a2", decision=decision("rule", "pro", score=0.9, category="reasoning")),
        record(run_id="a3", decision=decision("cache", score=0.2, needs_tools=False)),
        record(run_id="a4", decision=scored_decision),
        record(run_id="s1", role="speculative", cost="0.5", decision={"wasted": True}),
        record(run_id="x1"),  # an answer that no router decided
        record(run_id="c3", parent_run_id="gone", role="classifier", cost="0.0003"),
    ]
    sample = read_sample(write_lines(tmp_path / "log.jsonl", lines))

    costs = {r.id: r.classifier_cost for r in sample.requests}

    assert costs == {
        "a1": Decimal("0.0001"),
        "a2": Decimal(0),
        "a3": Decimal(0),  # a cached score costs nothing
        "a4": Decimal("0.0002"),  # the unmatched call just before it
    }
    assert sample.notes == (
        "1 classifier calls ($0.0003) came after the last answer they could belong to: not counted",
    )


def test_cost_log_decisions_become_lanes_and_scores(tmp_path: Path) -> None:
    lines = [
        record(run_id="rule", decision=decision("rule", "pro", score=0.9, category="reasoning")),
        record(run_id="sticky", decision=decision("sticky", "pro_tools", tools=3)),
        record(run_id="override", decision=decision("override", "pro")),
        record(
            run_id="tools",
            decision=decision(
                "classifier", "pro_tools", score=0.5, category="agentic", needs_tools=True, tools=2
            ),
        ),
        record(run_id="failed", decision=decision("fallback", "lite")),
        record(
            run_id="lane-error",
            decision=decision(
                "fallback", "lite", score=0.8, needs_tools=False, fallback_from="pro"
            ),
        ),
        record(run_id="rule-error", decision=decision("fallback", "pro", fallback_from="lite")),
    ]

    requests = {r.id: r for r in read_sample(write_lines(tmp_path / "l.jsonl", lines)).requests}

    assert requests["rule"].rule_lane == "pro"
    assert requests["sticky"].rule_lane == "pro_tools"
    assert requests["override"].rule_lane == "pro"
    tools = requests["tools"]
    assert (tools.score, tools.needs_tools, tools.tools, tools.rule_lane) == (0.5, True, 2, None)
    assert lane_at(tools, 0.9, RouterConfig()) == "pro_tools"
    assert (requests["failed"].score, requests["failed"].rule_lane) == (None, None)
    assert (requests["lane-error"].score, requests["lane-error"].rule_lane) == (0.8, None)
    assert requests["rule-error"].rule_lane == "lite"


def test_cost_log_prices_cache_and_tier(tmp_path: Path) -> None:
    line = record(
        run_id="a",
        service_tier="batch",
        input_tokens=10_000,
        cached_tokens=4_000,
        output_tokens=1_000,
        reasoning_tokens=200,
        decision=decision("classifier", score=0.5, needs_tools=False),
    )

    [request] = read_sample(write_lines(tmp_path / "l.jsonl", [line])).requests

    usage = {
        "input_tokens": 10_000,
        "output_tokens": 1_000,
        "input_token_details": {"cache_read": 4_000},
        "output_token_details": {"reasoning": 200},
    }
    assert request.lite_cost == total(price_usage(LITE, usage, service_tier="batch"))
    assert request.pro_cost == total(price_usage(PRO, usage, service_tier="batch"))


def test_cost_log_with_unpriced_lanes_notes_it(tmp_path: Path) -> None:
    path = write_lines(tmp_path / "l.jsonl", [record(decision=decision("rule"))])
    config = RouterConfig(pro_model="no-such-model")

    sample = read_sample(path, config=config)

    assert sample.requests[0].pro_cost is None
    assert any("no-such-model" in note for note in sample.notes)


@pytest.mark.parametrize(
    ("lines", "message"),
    [
        ([], "empty sample"),
        (["", "   "], "empty sample"),
        ([record(role="classifier")], "no routed answers"),
        ([record(decision=decision("rule")), "{not json"], r"l\.jsonl:2: not valid JSON"),
        ([record(decision=decision("rule")), [1, 2]], r"l\.jsonl:2: expected a JSON object"),
        ([record(decision=decision("rule")), {"prompt": "hi"}], r"l\.jsonl:2: not a cost-log"),
        ([record(), record(input_tokens=-5)], r"l\.jsonl:2: 'input_tokens' is not a whole number"),
        ([record(decision=decision("rule", lane="fast"))], r"l\.jsonl:1: decision: lane"),
        ([{"hello": 1}], r"l\.jsonl:1: neither a cost-log record"),
    ],
)
def test_malformed_samples_name_the_line(tmp_path: Path, lines: list[Any], message: str) -> None:
    path = tmp_path / "l.jsonl"
    path.write_text(
        "".join(f"{x if isinstance(x, str) else json.dumps(x)}\n" for x in lines),
        encoding="utf-8",
    )
    with pytest.raises(ConfigError, match=message):
        read_sample(path)


def test_unreadable_samples(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="cannot read sample"):
        read_sample(tmp_path / "missing.jsonl")
    binary = tmp_path / "binary.jsonl"
    binary.write_bytes(b'{"prompt": "\xff"}\n')
    with pytest.raises(ConfigError, match="not UTF-8"):
        read_sample(binary)


# -- request lines ----------------------------------------------------------------------------


def test_request_lines_with_scores(tmp_path: Path) -> None:
    prompt = "Assess the risk of this migration plan."  # 39 characters: 10 tokens
    lines = [
        {
            "id": "q1",
            "prompt": prompt,
            "score": 0.72,
            "category": "reasoning",
            "classifier_cost": "0.0001",
        },
        {"prompt": prompt, "score": 0.3, "output_tokens": 1000, "needs_tools": True, "tools": 2},
        {
            "id": 7,
            "messages": [
                {"role": "system", "content": "Be brief."},
                {"role": "user", "content": prompt},
            ],
            "score": 0.5,
        },
        {"id": "rule", "prompt": "Translate 'good night' into German", "score": 0.99},
    ]
    path = write_lines(tmp_path / "req.jsonl", lines)

    sample = read_sample(path)
    q1, second, third, rule = sample.requests

    assert sample.format == "requests" and not sample.pending
    assert (q1.id, q1.score, q1.category, q1.classifier_cost) == (
        "q1",
        0.72,
        "reasoning",
        Decimal("0.0001"),
    )
    # 10 input tokens and 300 output tokens, priced on each lane.
    assert q1.lite_cost == (10 * Decimal("0.25") + 300 * Decimal("1.50")) / MILLION
    assert q1.pro_cost == (10 * Decimal(2) + 300 * Decimal(12)) / MILLION
    assert second.id == "2"  # the line number
    assert second.pro_cost == (10 * Decimal(2) + 1000 * Decimal(12)) / MILLION
    assert (second.needs_tools, second.tools) == (True, 2)
    assert lane_at(second, 0.9, RouterConfig()) == "pro_tools"
    assert third.id == "7"
    assert (
        third.lite_cost
        == (12 * Decimal("0.25") + DEFAULT_OUTPUT_TOKENS * Decimal("1.50")) / MILLION
    )
    # No classifier_cost given: estimated from the classifier's own input.
    text = render_classifier_input(
        [HumanMessage(prompt)], ["tool_1", "tool_2"], ClassifierSettings()
    )
    tokens = math.ceil((len(CLASSIFIER_INSTRUCTION) + len(text)) / 4)
    rates = tokens * Decimal("0.25") + CLASSIFIER_OUTPUT_TOKENS * Decimal("1.50")
    assert second.classifier_cost == rates / MILLION
    # The rules decide what they recognise, whatever the line's score, at no classifier cost.
    assert (rule.rule_lane, rule.classifier_cost) == ("lite", Decimal(0))


def test_request_lines_without_scores_are_pending(tmp_path: Path) -> None:
    lines = [
        {"id": "a", "prompt": "Assess the risk of this migration plan."},
        {"id": "b", "prompt": "Translate 'good night' into German"},
        {"id": "c", "prompt": "Hmm, what do you make of this?", "score": 0.4},
    ]
    path = write_lines(tmp_path / "req.jsonl", lines)

    sample = read_sample(path)

    [pending] = sample.pending
    assert isinstance(pending, PendingRequest)
    assert (pending.id, pending.where) == ("a", f"{path}:1")
    with pytest.raises(ConfigError, match=r"1 requests have no score \(first: .*req\.jsonl:1\)"):
        load_sample(path)
    with pytest.raises(ConfigError, match="1 requests have no score"):
        sample.with_scores([])
    filled = sample.with_scores([ScoredRequest("a", score=0.9)])
    assert [r.id for r in filled] == ["a", "b", "c"]


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ({"prompt": "hi", "messages": [{"role": "user", "content": "hi"}]}, "exactly one of"),
        ({"id": "x", "score": 0.5}, "exactly one of"),
        ({"prompt": "hi", "score": 1.5}, "'score' is not a score from 0 to 1"),
        ({"prompt": "hi", "category": "poetry"}, "category"),
        ({"messages": [{"role": "robot", "content": "hi"}]}, r"messages\.0\.role"),
        ({"messages": []}, "messages"),
        ({"prompt": "hi", "output_tokens": -1}, "output_tokens"),
    ],
)
def test_malformed_request_lines(tmp_path: Path, line: dict[str, Any], message: str) -> None:
    path = write_lines(tmp_path / "req.jsonl", [{"prompt": "Fine first line", "score": 0.1}, line])
    with pytest.raises(ConfigError, match=rf"req\.jsonl:2: .*{message}"):
        read_sample(path)


def test_score_sample_with_the_simulated_classifier(tmp_path: Path) -> None:
    lines = [
        {"id": "debug", "prompt": "Please debug the race condition in my worker pool."},
        {"id": "chat", "prompt": "What's a good name for a boat?"},
        {"id": "again", "prompt": "Please debug the race condition in my worker pool."},
        {"id": "rule", "prompt": "Translate 'good night' into German"},
    ]
    path = write_lines(tmp_path / "req.jsonl", lines)
    sample = read_sample(path)
    seen: list[str] = []

    with gemini_backend(live=False) as backend:
        router = backend.router()
        try:
            requests = score_sample(sample.pending, router, on_scored=lambda r: seen.append(r.id))
            loaded = load_sample(path, router=router)
        finally:
            router.close()

    assert seen == ["debug", "chat", "again"]
    debug, chat, again = requests
    assert (debug.score, debug.category, debug.rule_lane) == (0.8, "coding", None)
    assert (chat.score, chat.category) == (0.3, "chat")
    assert debug.classifier_cost > 0 and chat.classifier_cost > 0
    assert again.classifier_cost == 0  # the router's score cache answered
    assert (again.score, again.lite_cost) == (debug.score, debug.lite_cost)
    assert [r.id for r in loaded] == ["debug", "chat", "again", "rule"]
    assert loaded[3].rule_lane == "lite"


# -- TOML -------------------------------------------------------------------------------------


def test_write_config_round_trips_the_defaults(tmp_path: Path) -> None:
    path = tmp_path / "router.toml"
    write_config(RouterConfig(), path)
    assert RouterConfig.from_toml(path) == RouterConfig()


def test_write_config_round_trips_every_kind_of_value(tmp_path: Path) -> None:
    config = RouterConfig(
        escalation_threshold=0.1 + 0.2,  # 0.30000000000000004: repr keeps every bit
        always_escalate=frozenset({"reasoning", "coding"}),
        never_escalate=frozenset({"translation"}),
        text_rules=False,
        rule_band=(1e-05, 0.95),
        long_context_tokens=1_000_000,
        long_context_lane="pro_tools",
        forced_tool_choice_lane="pro",
        lane_deadline_seconds=2.5,
        lite_model='odd "name" \\ with ünïcode\ttab\x01',
        classifier=ClassifierSettings(enabled=False, cooldown_seconds=math.inf, cache_size=0),
        error_fallbacks={"lite": "pro_tools"},
    )
    path = tmp_path / "router.toml"

    write_config(config, path, header="Line one\nLine [two]")

    assert RouterConfig.from_toml(path) == config
    text = path.read_text(encoding="utf-8")
    assert text.startswith(
        "# Line one\n# Line [two]\n\nescalation_threshold = 0.30000000000000004\n"
    )
    assert 'always_escalate = ["coding", "reasoning"]' in text  # sets sorted: stable files
    assert "cooldown_seconds = inf" in text
    assert RouterConfig.from_toml(path, table=None).classifier.enabled is False


def test_write_config_round_trips_empty_tables(tmp_path: Path) -> None:
    config = RouterConfig(error_fallbacks={})
    path = tmp_path / "router.toml"
    write_config(config, path)
    assert RouterConfig.from_toml(path) == config


def test_write_config_errors(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="forced_tool_choice_lane = None: TOML has no null"):
        dump_config(RouterConfig(forced_tool_choice_lane=None))
    with pytest.raises(ConfigError, match="cannot write router config"):
        write_config(RouterConfig(), tmp_path / "no" / "such" / "dir.toml")


def test_write_config_replaces_the_file(tmp_path: Path) -> None:
    path = tmp_path / "router.toml"
    path.write_text("escalation_threshold = 0.1\n", encoding="utf-8")
    write_config(RouterConfig(escalation_threshold=0.75), path)
    assert RouterConfig.from_toml(path).escalation_threshold == 0.75
    assert sorted(p.name for p in tmp_path.iterdir()) == ["router.toml"]


# -- CLI --------------------------------------------------------------------------------------


def table_rows(out: str) -> dict[str, list[str]]:
    """Threshold -> cells of the calibration table."""
    rows = {}
    for line in out.splitlines():
        cells = [c.strip() for c in line.split("│")[1:-1]]
        if len(cells) == 7:
            rows[cells[1]] = cells
    return rows


def test_cli_calibrate_from_a_cost_log(
    capsys: pytest.CaptureFixture[str], demo_log: tuple[Path, Any], tmp_path: Path
) -> None:
    path, _ = demo_log
    out_file = tmp_path / "router.toml"
    expected = calibrate(load_sample(path), target_pro_share=0.4)

    code, out, err = run(
        capsys, "calibrate", str(path), "--target-pro-share", "40%", "--out", str(out_file)
    )

    assert code == 0, err
    assert not err
    threshold = expected.chosen.threshold
    assert RouterConfig.from_toml(out_file) == expected.config
    assert f"Chosen escalation_threshold = {threshold!r} (was 0.6)" in out
    assert "(a cost log): 13 requests, 7 decided by rules, 6 by their classifier score" in out
    assert "Escalation thresholds (target: Pro share 40%)" in out
    rows = table_rows(out)
    assert len(rows) == len(expected.rows)
    chosen = rows[repr(threshold)]
    assert chosen[0] == "chosen"
    assert chosen[2] == f"{expected.chosen.pro_share:.1%}"
    spend = expected.chosen.spend_per_1k
    assert spend is not None
    assert chosen[4] == f"${spend.quantize(Decimal('0.000001')).normalize():f}"
    assert "saving " in out and "against all-Pro" in out
    assert f"Wrote {out_file}" in out


def test_cli_calibrate_request_lines_simulated_with_a_budget(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    lines = [
        {"id": "a", "prompt": "Please debug the race condition in my worker pool."},
        {"id": "b", "prompt": "What's a good name for a boat?"},
        {"id": "c", "prompt": "Assess the trade-offs of these two designs.", "score": 0.7},
        {"id": "d", "prompt": "Translate 'good night' into German"},
    ]
    sample = write_lines(tmp_path / "req.jsonl", lines)
    start = tmp_path / "start.toml"
    start.write_text('never_escalate = ["chat"]\nescalation_threshold = 0.5\n', encoding="utf-8")
    out_file = tmp_path / "out.toml"

    code, out, err = run(
        capsys,
        "calibrate",
        str(sample),
        "--budget-per-1k-requests",
        "$3",
        "--simulated",
        "--config",
        str(start),
        "--out",
        str(out_file),
    )

    assert code == 0, err
    assert "SIMULATED Gemini" in out
    assert "Scored 2 requests: 2 classifier calls, $" in out
    assert "target: at most $3 per 1,000 requests" in out
    written = RouterConfig.from_toml(out_file)
    assert written.never_escalate == frozenset({"chat"})  # the starting config is kept
    assert "(was 0.5)" in out
    assert "tokens estimated from each request's text" in " ".join(out.split())


def test_cli_calibrate_out_of_reach_share_is_a_note(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    lines: list[dict[str, str | float]] = [
        {"prompt": "Prove that there are infinitely many primes."}
    ] * 3
    lines.append({"prompt": "Assess the risk of this migration plan.", "score": 0.5})
    sample = write_lines(tmp_path / "req.jsonl", lines)

    code, out, err = run(
        capsys,
        "calibrate",
        str(sample),
        "--target-pro-share",
        "0",
        "--out",
        str(tmp_path / "r.toml"),
    )

    assert code == 0, err
    assert "The target is out of reach on this sample: 75.0%" in " ".join(out.split())


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--target-pro-share", "0.2", "--budget-per-1k-requests", "1"], "give one target"),
        ([], "give one target"),
        (["--target-pro-share", "abc"], "--target-pro-share must be a share"),
        (["--target-pro-share", "120%"], "--target-pro-share must be a share"),
        (["--budget-per-1k-requests", "lots"], "--budget-per-1k-requests must be an amount"),
        (["--budget-per-1k-requests", "0.00001"], "out of reach: the cheapest threshold"),
    ],
)
def test_cli_calibrate_target_errors(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, argv: list[str], message: str
) -> None:
    sample = write_lines(tmp_path / "req.jsonl", [{"prompt": "hmm", "score": 0.5}])
    code, out, err = run(capsys, "calibrate", str(sample), "--out", str(tmp_path / "r.toml"), *argv)
    assert code == 2 and not out
    assert message in one_line_error(err)
    assert not (tmp_path / "r.toml").exists()


def test_cli_calibrate_file_errors(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    missing = tmp_path / "missing.jsonl"
    code, _, err = run(capsys, "calibrate", str(missing), "--target-pro-share", "0.2")
    assert code == 2
    assert f"cannot read sample {missing}" in one_line_error(err)

    broken = tmp_path / "broken.jsonl"
    broken.write_text('{"prompt": "fine", "score": 0.2}\n\n{"prompt": oops}\n', encoding="utf-8")
    code, _, err = run(capsys, "calibrate", str(broken), "--target-pro-share", "0.2")
    assert code == 2
    assert f"{broken}:3: not valid JSON" in one_line_error(err)

    ok = write_lines(tmp_path / "ok.jsonl", [{"prompt": "hmm", "score": 0.5}])
    code, _, err = run(
        capsys,
        "calibrate",
        str(ok),
        "--target-pro-share",
        "0.2",
        "--out",
        str(tmp_path / "no" / "dir" / "r.toml"),
    )
    assert code == 2
    assert "cannot write router config" in one_line_error(err)


def test_cli_calibrate_unscored_lines_need_a_classifier(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    sample = write_lines(tmp_path / "req.jsonl", [{"id": "x", "prompt": "Hmm, thoughts?"}])

    code, out, err = run(capsys, "calibrate", str(sample), "--target-pro-share", "0.2")
    assert code == 2 and not out
    message = one_line_error(err)
    assert "1 requests in" in message and "--simulated" in message and "GOOGLE_API_KEY" in message

    code, _, err = run(capsys, "calibrate", str(sample), "--target-pro-share", "0.2", "--live")
    assert code == 2
    assert "live mode needs GOOGLE_API_KEY" in one_line_error(err)


def test_cli_calibrate_help(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "calibrate", "--help")
    assert code == 0
    assert out.startswith("usage: lc-gemini-router calibrate")
    flat = " ".join(out.split())
    assert "--target-pro-share SHARE" in flat and "0.2 or 20%" in flat
    assert "--budget-per-1k-requests USD" in flat and "--simulated" in flat
