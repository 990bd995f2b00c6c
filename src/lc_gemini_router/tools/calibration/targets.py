"""Choosing the threshold that meets a target: a Pro share, or a budget per 1,000 requests."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import NoReturn

from lc_gemini_router.config import RouterConfig
from lc_gemini_router.errors import ConfigError
from lc_gemini_router.routing.thresholds import (
    ScoredRequest,
    ThresholdPoint,
    candidate_thresholds,
    sweep,
)


@dataclass(frozen=True)
class Calibration:
    """The threshold that meets a target on a sample, with its neighbours."""

    chosen: ThresholdPoint
    neighbours: tuple[ThresholdPoint, ...]
    """Up to two candidate thresholds below the chosen one and two above, in order."""
    config: RouterConfig
    """The starting config with ``escalation_threshold`` set to the chosen threshold."""
    target: str
    """The target, for humans: ``"Pro share 20%"``, ``"at most $0.5 per 1,000 requests"``."""
    points: tuple[ThresholdPoint, ...]
    """Every candidate threshold's point, by threshold."""
    candidates: int
    """How many candidate thresholds the sample has."""
    reached: bool = True
    """False when no threshold comes within one request of the target Pro share (rules
    fix some lanes); the chosen point is then the closest one. A budget target is
    always reached: an unreachable budget raises instead."""

    @property
    def rows(self) -> tuple[ThresholdPoint, ...]:
        """The neighbours and the chosen point, by threshold."""
        return tuple(sorted((*self.neighbours, self.chosen), key=lambda p: p.threshold))

    @property
    def threshold_matters(self) -> bool:
        """Whether any threshold changes a decision on this sample."""
        return self.points[0].pro_share != self.points[-1].pro_share


def pro_requests(point: ThresholdPoint) -> int:
    """How many requests go to Pro at this point."""
    return round(point.pro_share * point.requests)


def _money(amount: Decimal) -> str:
    value = amount.quantize(Decimal("0.000001")).normalize()
    return f"${value:f}"


def calibrate(
    requests: Sequence[ScoredRequest],
    *,
    target_pro_share: float | None = None,
    budget_per_1k: Decimal | None = None,
    config: RouterConfig | None = None,
) -> Calibration:
    """Pick the escalation threshold that meets one target on these requests.

    Candidates are the thresholds at which some decision changes
    (:func:`~lc_gemini_router.routing.thresholds.candidate_thresholds`, capped at 1, the
    highest threshold a config holds); each is replayed through the router's policy
    (:func:`~lc_gemini_router.routing.thresholds.sweep`).

    Args:
        requests: the sample (see :func:`load_sample`).
        target_pro_share: the share of requests to answer on Pro (0..1): the
            candidate whose Pro share is closest wins; on a tie the higher (cheaper)
            threshold.
        budget_per_1k: USD per 1,000 requests, classifier included: the lowest
            threshold (the most Pro) whose spend is within it wins.
        config: the config to start from (its rules, category lists, lane models);
            the defaults when None.

    Returns:
        The chosen point, its neighbours and the new config.

    Raises:
        ConfigError: no requests; not exactly one target; a target out of range;
            a budget below the cheapest reachable spend (the message names it) or
            costs unknown for a budget target.
    """
    config = config or RouterConfig()
    if (target_pro_share is None) == (budget_per_1k is None):
        msg = "give exactly one target: a Pro share or a budget per 1,000 requests"
        raise ConfigError(msg)
    if not requests:
        msg = "the sample has no requests"
        raise ConfigError(msg)
    thresholds = sorted({min(t, 1.0) for t in candidate_thresholds(requests)})
    points = sweep(requests, thresholds, config)
    reached = True
    if target_pro_share is not None:
        index, target = _closest_share(points, target_pro_share)
        wanted = Decimal(str(target_pro_share)) * len(requests)
        reached = abs(pro_requests(points[index]) - wanted) <= 1
    else:
        assert budget_per_1k is not None
        index, target = _within_budget(points, budget_per_1k)
    chosen = points[index]
    below = range(max(index - 2, 0), index)
    above = range(index + 1, min(index + 3, len(points)))
    neighbours = tuple(points[i] for i in (*below, *above))
    return Calibration(
        chosen=chosen,
        neighbours=neighbours,
        config=config.with_overrides({"escalation_threshold": chosen.threshold}),
        target=target,
        points=tuple(points),
        candidates=len(points),
        reached=reached,
    )


def _closest_share(points: Sequence[ThresholdPoint], share: float) -> tuple[int, str]:
    if not 0 <= share <= 1:
        msg = f"the target Pro share must be between 0 and 1, got {share}"
        raise ConfigError(msg)
    # Exact: counts of requests, not float shares.
    wanted = Decimal(str(share)) * points[0].requests
    description = f"Pro share {(Decimal(str(share)) * 100).normalize():f}%"
    # The closest count; on a tie the higher threshold, which is the cheaper.
    index = min(range(len(points)), key=lambda i: (abs(pro_requests(points[i]) - wanted), -i))
    return index, description


def _within_budget(points: Sequence[ThresholdPoint], budget: Decimal) -> tuple[int, str]:
    if not budget.is_finite() or budget < 0:
        msg = f"the budget per 1,000 requests must be a number >= 0, got {budget}"
        raise ConfigError(msg)
    description = f"at most {_money(budget)} per 1,000 requests"
    known = [p for p in points if p.spend_per_1k is not None]
    if not known:
        msg = (
            "the sample's costs are unknown (a lane model has no price): "
            "a budget cannot be checked; give a Pro share target instead"
        )
        raise ConfigError(msg)
    # The lowest threshold within budget: the most Pro the budget buys.
    for index, point in enumerate(points):
        if point.spend_per_1k is not None and point.spend_per_1k <= budget:
            return index, description
    _out_of_reach(budget, min(known, key=lambda p: (p.spend_per_1k, -p.threshold)))


def _out_of_reach(budget: Decimal, cheapest: ThresholdPoint) -> NoReturn:
    spend = cheapest.spend_per_1k
    assert spend is not None
    msg = (
        f"a budget of {_money(budget)} per 1,000 requests is out of reach: the cheapest "
        f"threshold ({cheapest.threshold!r}) spends {_money(spend)} per 1,000 requests "
        "on this sample"
    )
    raise ConfigError(msg)
