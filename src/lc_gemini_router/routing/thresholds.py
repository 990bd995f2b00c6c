"""What an escalation threshold does to a set of scored requests: lanes, Pro share, spend.

Calibration and evaluation both replay requests whose classifier scores are known
(recorded by the router's cost log, scored live, or simulated) through the router's
own policy (:func:`lc_gemini_router.routing.policy.score_decision`) at many thresholds.

Example:
    >>> from decimal import Decimal
    >>> from lc_gemini_router.routing.thresholds import ScoredRequest, sweep
    >>> requests = [
    ...     ScoredRequest("a", score=0.2, lite_cost=Decimal("0.001"), pro_cost=Decimal("0.008")),
    ...     ScoredRequest("b", score=0.9, lite_cost=Decimal("0.001"), pro_cost=Decimal("0.008")),
    ... ]
    >>> [(p.threshold, p.pro_share, p.spend) for p in sweep(requests, [0.5, 1.0])]
    [(0.5, 0.5, Decimal('0.009')), (1.0, 0.0, Decimal('0.002'))]
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from decimal import Decimal

from lc_gemini_router.config import Category, Lane, RouterConfig
from lc_gemini_router.routing.policy import ClassifierScore, RouteRequest, score_decision

__all__ = ["ScoredRequest", "ThresholdPoint", "candidate_thresholds", "lane_at", "sweep"]


@dataclass(frozen=True)
class ScoredRequest:
    """One request as routing sees it, with what each lane would cost."""

    id: str
    score: float | None = None
    """Classifier difficulty; None when there is none (the fallback lane answers)."""
    rule_lane: Lane | None = None
    """The lane rules (or an override) fixed whatever the threshold; None: the score decides."""
    category: Category = "chat"
    needs_tools: bool = False
    tools: int = 0
    lite_cost: Decimal | None = None
    """What the answer costs on Flash-Lite; None when unknown."""
    pro_cost: Decimal | None = None
    """What the answer costs on Pro (pro_tools is priced the same); None when unknown."""
    classifier_cost: Decimal = Decimal(0)
    """What scoring it cost (0 when rules or the cache decided)."""


@dataclass(frozen=True)
class ThresholdPoint:
    """The outcome of one threshold over a set of requests."""

    threshold: float
    requests: int
    pro_share: float
    """Share of requests answered on ``pro`` or ``pro_tools``."""
    spend: Decimal | None
    """Answers plus classifier calls; None when a needed cost is unknown."""
    all_pro_spend: Decimal | None
    """Every answer on Pro, no classifier calls."""

    @property
    def spend_per_1k(self) -> Decimal | None:
        if self.spend is None or not self.requests:
            return None
        return self.spend * 1000 / self.requests

    @property
    def savings_share(self) -> float | None:
        """``1 - spend / all_pro_spend``."""
        if self.spend is None or not self.all_pro_spend:
            return None
        return float(1 - self.spend / self.all_pro_spend)


def lane_at(request: ScoredRequest, threshold: float, config: RouterConfig) -> Lane:
    """The lane the router's policy picks for this request at this threshold."""
    if request.rule_lane is not None:
        return request.rule_lane
    score = None
    if request.score is not None:
        score = ClassifierScore(
            difficulty=request.score, needs_tools=request.needs_tools, category=request.category
        )
    route = RouteRequest(messages=(), tool_names=tuple(f"tool{i}" for i in range(request.tools)))
    tuned = config.model_copy(update={"escalation_threshold": threshold})
    return score_decision(route, tuned, score, classifier_error="no score").lane


def candidate_thresholds(requests: Iterable[ScoredRequest]) -> list[float]:
    """Every threshold at which some decision changes: the distinct scores, plus 0 and 1.01.

    1.01 stands for "above every score" (nothing escalates by score); ``RouterConfig``
    caps a configured threshold at 1.0.
    """
    scores = {r.score for r in requests if r.score is not None and r.rule_lane is None}
    return sorted({0.0, *scores, _ABOVE_ANY_SCORE})


def sweep(
    requests: Sequence[ScoredRequest],
    thresholds: Iterable[float] | None = None,
    config: RouterConfig | None = None,
) -> list[ThresholdPoint]:
    """Lanes, Pro share and spend at each threshold (default: every candidate).

    A request's lane depends on the threshold only through one cutoff, its score
    (escalated at or above it), unless the policy fixes its lane (rules, category
    lists, tool use). So the policy runs twice per request, at the two extremes, and
    each threshold is then a bisection over the sorted scores.
    """
    config = config or RouterConfig()
    fixed_pro = 0
    fixed_spend: _Sum = _Sum()
    variable: list[tuple[float, ScoredRequest]] = []
    all_pro = _Sum()
    classifier = Decimal(0)
    for request in requests:
        all_pro.add(request.pro_cost)
        classifier += request.classifier_cost
        escalated = lane_at(request, 0.0, config) != "lite"
        kept = lane_at(request, _ABOVE_ANY_SCORE, config) != "lite"
        if escalated == kept or request.score is None:
            fixed_pro += escalated
            fixed_spend.add(request.pro_cost if escalated else request.lite_cost)
        else:
            variable.append((request.score, request))
    variable.sort(key=lambda item: item[0])
    scores = [score for score, _ in variable]
    # lite_before[i]: the first i requests on lite; pro_after[i]: the rest on Pro.
    lite_before = [_Sum()]
    for _, request in variable:
        lite_before.append(lite_before[-1].plus(request.lite_cost))
    pro_after = [_Sum()]
    for _, request in reversed(variable):
        pro_after.append(pro_after[-1].plus(request.pro_cost))
    pro_after.reverse()

    points = []
    for threshold in candidate_thresholds(requests) if thresholds is None else thresholds:
        cut = bisect_left(scores, threshold)
        spend = fixed_spend.plus_sum(lite_before[cut]).plus_sum(pro_after[cut])
        total = None if spend.total is None else spend.total + classifier
        points.append(
            ThresholdPoint(
                threshold=threshold,
                requests=len(requests),
                pro_share=(fixed_pro + len(variable) - cut) / len(requests) if requests else 0.0,
                spend=total,
                all_pro_spend=all_pro.total,
            )
        )
    return points


_ABOVE_ANY_SCORE = 1.01
"""A threshold no score reaches (the policy escalates at or above the threshold)."""


@dataclass
class _Sum:
    """A Decimal sum that turns unknown (None) once any term is unknown."""

    total: Decimal | None = Decimal(0)

    def plus(self, amount: Decimal | None) -> _Sum:
        if self.total is None or amount is None:
            return _Sum(None)
        return _Sum(self.total + amount)

    def plus_sum(self, other: _Sum) -> _Sum:
        return self.plus(other.total)

    def add(self, amount: Decimal | None) -> None:
        self.total = self.plus(amount).total
