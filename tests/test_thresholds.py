"""Replaying scored requests at any threshold: the fast sweep agrees with the policy."""

from __future__ import annotations

import random
from decimal import Decimal

import pytest

from lc_gemini_router import ClassifierSettings, RouterConfig
from lc_gemini_router.config import Category
from lc_gemini_router.routing.thresholds import (
    ScoredRequest,
    candidate_thresholds,
    lane_at,
    sweep,
)

CATEGORIES: list[Category] = ["chat", "translation", "coding", "reasoning", "agentic"]


def sample(n: int, seed: int, *, unknown_costs: bool = False) -> list[ScoredRequest]:
    rng = random.Random(seed)
    requests = []
    for i in range(n):
        kind = rng.random()
        requests.append(
            ScoredRequest(
                id=str(i),
                score=None if kind < 0.05 else round(rng.random(), 2),
                rule_lane=rng.choice(["lite", "pro", "pro_tools"]) if 0.05 <= kind < 0.15 else None,
                category=rng.choice(CATEGORIES),
                needs_tools=rng.random() < 0.1,
                tools=rng.choice([0, 0, 1, 2]),
                lite_cost=None if unknown_costs and i == 7 else Decimal(rng.randint(1, 9)) / 10_000,
                pro_cost=Decimal(rng.randint(10, 90)) / 10_000,
                classifier_cost=Decimal(rng.randint(0, 3)) / 100_000,
            )
        )
    return requests


def known(cost: Decimal | None) -> Decimal:
    assert cost is not None
    return cost


def brute_force(
    requests: list[ScoredRequest], threshold: float, config: RouterConfig
) -> tuple[float, Decimal | None]:
    pro = 0
    spend: Decimal | None = Decimal(0)
    for request in requests:
        on_pro = lane_at(request, threshold, config) != "lite"
        pro += on_pro
        cost = request.pro_cost if on_pro else request.lite_cost
        spend = None if spend is None or cost is None else spend + cost + request.classifier_cost
    return pro / len(requests), spend


@pytest.mark.parametrize(
    "config",
    [
        RouterConfig(),
        RouterConfig(
            never_escalate=frozenset({"translation"}), always_escalate=frozenset({"coding"})
        ),
        RouterConfig(classifier=ClassifierSettings(fallback_lane="pro")),
    ],
)
def test_fast_sweep_matches_the_policy_request_by_request(config: RouterConfig) -> None:
    requests = sample(400, seed=3)
    points = sweep(requests, config=config)
    assert [p.threshold for p in points] == candidate_thresholds(requests)
    for point in points:
        assert (point.pro_share, point.spend) == brute_force(requests, point.threshold, config)
        assert point.all_pro_spend == sum((known(r.pro_cost) for r in requests), Decimal(0))


def test_unknown_costs_make_spend_unknown_only_where_needed() -> None:
    requests = sample(50, seed=5, unknown_costs=True)
    config = RouterConfig()
    for point in sweep(requests, config=config):
        assert point.spend == brute_force(requests, point.threshold, config)[1]


def test_pro_share_never_rises_with_the_threshold() -> None:
    shares = [p.pro_share for p in sweep(sample(300, seed=9))]
    assert shares == sorted(shares, reverse=True)


def test_ten_thousand_distinct_scores_sweep_quickly() -> None:
    # Two policy calls per request, then bisection per threshold: ~10k points here.
    requests = [
        ScoredRequest(str(i), score=i / 10_000, lite_cost=Decimal(1), pro_cost=Decimal(8))
        for i in range(10_000)
    ]
    points = sweep(requests)
    assert len(points) == 10_001
    middle = next(p for p in points if p.threshold == 0.5)
    assert middle.pro_share == 0.5
    assert middle.spend == 5_000 * Decimal(1) + 5_000 * Decimal(8)
    assert middle.savings_share == pytest.approx(1 - 45_000 / 80_000)
