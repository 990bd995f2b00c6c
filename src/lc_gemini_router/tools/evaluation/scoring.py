"""Scoring items as the router would: its rules, recorded scores, or its classifier."""

from __future__ import annotations

import warnings
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal
from typing import TYPE_CHECKING, Any, Literal, get_args

from lc_gemini_router.config import CATEGORIES, Category, RouterConfig
from lc_gemini_router.pricing.costs import price_quietly
from lc_gemini_router.routing.policy import RouteDecision, RouteRequest, rule_decision
from lc_gemini_router.routing.thresholds import ScoredRequest

if TYPE_CHECKING:
    from lc_gemini_router.router import GeminiRouter

from lc_gemini_router.tools.evaluation.items import DatasetError, EvalItem

ScorerName = Literal["rules", "recorded", "simulated", "live"]
SCORERS: tuple[ScorerName, ...] = get_args(ScorerName)


_DEFAULT_WORKERS = 8


class _Pricer:
    """Both lanes' answer cost per item; each pricing problem is warned about once."""

    def __init__(self, config: RouterConfig) -> None:
        self.config = config
        self.problems: dict[str, type[Warning]] = {}

    def _price(self, model: str, usage: Mapping[str, int]) -> Decimal | None:
        cost, problems = price_quietly(model, usage)
        for category, message in problems:
            self.problems.setdefault(message, category)
        return None if cost is None else cost.total

    def costs(self, item: EvalItem) -> tuple[Decimal | None, Decimal | None]:
        return (
            self._price(self.config.lite_model, item.usage("lite")),
            self._price(self.config.pro_model, item.usage("pro")),
        )

    def warn(self) -> None:
        for message, category in self.problems.items():
            warnings.warn(message, category, stacklevel=3)


def _router_category(category: str | None) -> Category:
    return category if category in CATEGORIES else "chat"


def _from_decision(
    item: EvalItem,
    decision: RouteDecision,
    costs: tuple[Decimal | None, Decimal | None],
    classifier_cost: Decimal = Decimal(0),
) -> ScoredRequest:
    common: dict[str, Any] = {
        "id": item.id,
        "lite_cost": costs[0],
        "pro_cost": costs[1],
        "classifier_cost": classifier_cost,
    }
    if decision.source in ("classifier", "cache"):
        return ScoredRequest(
            score=decision.score,
            category=decision.category or "chat",
            needs_tools=bool(decision.needs_tools),
            **common,
        )
    if decision.source == "fallback":
        return ScoredRequest(**common)
    return ScoredRequest(rule_lane=decision.lane, **common)


def _route_all(
    router: GeminiRouter,
    items: Sequence[EvalItem],
    workers: int,
    on_item: Callable[[EvalItem], None] | None,
) -> list[tuple[RouteDecision, Decimal]]:
    from lc_gemini_router.callbacks.handler import GeminiCostCallbackHandler

    def route(item: EvalItem) -> tuple[RouteDecision, Decimal]:
        handler = GeminiCostCallbackHandler(reference_model=None)
        decision = router.route(item.to_messages(), config={"callbacks": [handler]})
        if on_item is not None:
            on_item(item)
        return decision, handler.total_cost

    with ThreadPoolExecutor(max_workers=max(1, workers)) as pool:
        return list(pool.map(route, items))


def score_items(
    items: Sequence[EvalItem],
    scorer: ScorerName,
    *,
    config: RouterConfig | None = None,
    router: GeminiRouter | None = None,
    workers: int = _DEFAULT_WORKERS,
    on_item: Callable[[EvalItem], None] | None = None,
) -> list[ScoredRequest]:
    """Score every item as the router would; one :class:`ScoredRequest` per item, same order.

    Args:
        items: the dataset.
        scorer: ``rules`` (a rule decides, or no score: the fallback lane),
            ``recorded`` (rules, then each item's ``score``), ``simulated`` or
            ``live`` (``router.route``: rules, then the classifier).
        config: routing settings and lane models priced; ``router.config`` when a
            router is given, else the defaults.
        router: the router ``simulated``/``live`` call; by default one on the
            embedded simulator (``simulated``) or on real Gemini (``live``).
        workers: concurrent ``route`` calls for ``simulated``/``live``.
        on_item: called (from a worker thread) after each ``route`` call.

    Returns:
        Scored requests carrying each lane's exact answer cost and, for
        ``simulated``/``live``, what each classifier call cost.

    Raises:
        DatasetError: ``recorded`` and no item has a score.
        ConfigError: ``live`` without ``GOOGLE_API_KEY`` (or ``GEMINI_API_KEY``).
    """
    if scorer not in SCORERS:
        raise ValueError(f"unknown scorer {scorer!r}: expected {', '.join(SCORERS)}")
    config = config or (router.config if router is not None else RouterConfig())
    pricer = _Pricer(config)
    costs = [pricer.costs(item) for item in items]
    pricer.warn()

    if scorer in ("rules", "recorded"):
        if scorer == "recorded" and items and all(item.score is None for item in items):
            raise DatasetError("scorer 'recorded' needs items with a 'score'; none has one")
        scored = []
        for item, cost in zip(items, costs, strict=True):
            ruled = rule_decision(RouteRequest(messages=item.to_messages()), config)
            if ruled is not None:
                scored.append(_from_decision(item, ruled, cost))
            else:
                scored.append(
                    ScoredRequest(
                        id=item.id,
                        score=item.score if scorer == "recorded" else None,
                        category=_router_category(item.category),
                        lite_cost=cost[0],
                        pro_cost=cost[1],
                    )
                )
        return scored

    if router is not None:
        routed = _route_all(router, items, workers, on_item)
    else:
        from lc_gemini_router.tools.backend import gemini_backend

        with gemini_backend(live=scorer == "live") as backend:
            built = backend.router(config)
            try:
                routed = _route_all(built, items, workers, on_item)
            finally:
                built.close()
    return [
        _from_decision(item, decision, cost, classifier_cost)
        for item, cost, (decision, classifier_cost) in zip(items, costs, routed, strict=True)
    ]
