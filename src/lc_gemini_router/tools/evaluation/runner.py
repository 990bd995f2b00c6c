"""The threshold sweep: quality, Pro share and spend of every operating point, with notes."""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from decimal import Decimal
from fractions import Fraction
from typing import TYPE_CHECKING

from lc_gemini_router.config import Lane, RouterConfig
from lc_gemini_router.routing.thresholds import ScoredRequest, candidate_thresholds, lane_at, sweep

if TYPE_CHECKING:
    from lc_gemini_router.router import GeminiRouter

from lc_gemini_router.tools.evaluation.datasets import load_datasets
from lc_gemini_router.tools.evaluation.items import DEFAULT_OUTPUT_TOKENS, DatasetFormat, EvalItem
from lc_gemini_router.tools.evaluation.results import GOAL, EvalPoint, EvalResult, Metric, Target
from lc_gemini_router.tools.evaluation.scoring import _DEFAULT_WORKERS, ScorerName, score_items

DEFAULT_MAX_POINTS = 101
"""Thresholds evaluated at most; beyond it, evenly spaced ranks of the distinct scores."""


_QUALITY_LABELS: dict[str, str] = {
    "mt-bench": "mean GPT-4 judge score (1-10), both turns",
    "gsm8k": "accuracy",
    "jsonl": "mean quality",
}


def _ratio(part: Fraction, whole: Fraction) -> Fraction | None:
    return part / whole if whole else None


def _sum(values: Sequence[Decimal | None]) -> Decimal | None:
    if any(v is None for v in values):
        return None
    return sum((v for v in values if v is not None), Decimal(0))


def _pick(values: Sequence[float], limit: int) -> list[float]:
    """At most ``limit`` of ``values`` (sorted), at evenly spaced ranks, ends included."""
    if len(values) <= limit:
        return list(values)
    limit = max(limit, 2)
    step = (len(values) - 1) / (limit - 1)
    return sorted({values[round(i * step)] for i in range(limit)})


def _random_share(metric: Metric, goal: Fraction, lite: Fraction, pro: Fraction) -> float | None:
    if pro == lite:
        return None
    if metric == "pgr":
        return float(goal)
    share = (goal * pro - lite) / (pro - lite)
    return float(min(max(share, Fraction(0)), Fraction(1)))


def _target(metric: Metric, points: Sequence[EvalPoint], lite: Fraction, pro: Fraction) -> Target:
    rated = [(p.metric(metric), p) for p in points if p.metric(metric) is not None]
    reaching = [p for value, p in rated if value is not None and value >= GOAL]
    first = min(reaching, key=lambda p: (p.pro_calls, -p.quality), default=None)
    best = max(rated, key=lambda vp: (vp[0], -vp[1].pro_calls), default=(None, None))[1]
    return Target(metric, GOAL, first, best, _random_share(metric, GOAL, lite, pro))


def _notes(
    dataset: str,
    scorer: str,
    items: Sequence[EvalItem],
    counts: tuple[int, int, int],
    lane: Lane,
    candidates: int,
    evaluated: int,
) -> list[str]:
    ruled, scored, unscored = counts
    notes = []
    if scorer == "simulated":
        notes.append(
            "SIMULATED: scores come from the embedded simulator's keyword classifier, not "
            "from Gemini Flash-Lite; the curve shows the policy's mechanics, not a quality claim."
        )
    if unscored:
        single = " so the curve is a single point" if not scored else ""
        notes.append(
            f"{unscored:,} of {len(items):,} items have no score (no rule decided them"
            f"{'' if scorer == 'rules' else ' and no classifier score'}): they go to the "
            f"fallback lane ({lane}) at every threshold;{single}."
        )
    if ruled:
        notes.append(
            f"{ruled:,} of {len(items):,} items were decided by the rules at every threshold."
        )
    if dataset == "mt-bench":
        notes.append(
            "MT-Bench: each question is routed on its first turn and answered by one model for "
            "both turns (as RouteLLM does); quality = that model's judge score averaged over "
            "both turns; all 80 questions (RouteLLM drops a few as contaminated)."
        )
    defaults = sum(1 for item in items if not item.replies_recorded)
    if defaults:
        notes.append(
            f"{defaults:,} items record no reply length: {DEFAULT_OUTPUT_TOKENS} output tokens "
            "assumed on each lane they lack."
        )
    notes.append(
        "Spend: prompts at ~4 characters per token, replies as long as the recorded answers, "
        "no thinking tokens; the weak model's answers stand for Flash-Lite, the strong "
        "model's for Pro."
    )
    if evaluated < candidates:
        notes.append(
            f"{candidates:,} candidate thresholds: {evaluated} evaluated, at evenly spaced ranks."
        )
    return notes


def evaluate(
    items: Sequence[EvalItem],
    scored: Sequence[ScoredRequest],
    config: RouterConfig | None = None,
    *,
    dataset: str = "jsonl",
    scorer: str = "recorded",
    source: str = "",
    max_points: int = DEFAULT_MAX_POINTS,
) -> EvalResult:
    """Quality, Pro share and spend along the threshold sweep, with both endpoints.

    Args:
        items: the labelled items.
        scored: :func:`score_items` of the same items, in the same order.
        config: the policy replayed (the defaults when None).
        dataset, scorer, source: recorded in the result (and pick its notes).
        max_points: thresholds evaluated at most (every distinct score below it).

    Raises:
        ValueError: ``scored`` does not match ``items`` one to one, or no items.
    """
    if len(items) != len(scored):
        raise ValueError(f"{len(items)} items but {len(scored)} scored requests")
    for item, request in zip(items, scored, strict=True):
        if item.id != request.id:
            raise ValueError(f"scored request {request.id!r} does not match item {item.id!r}")
    if not items:
        raise ValueError("no items to evaluate")
    config = config or RouterConfig()
    n = len(items)
    lite_quality = sum((i.quality_lite for i in items), Fraction(0)) / n
    pro_quality = sum((i.quality_pro for i in items), Fraction(0)) / n
    gap = pro_quality - lite_quality
    all_pro_spend = _sum([s.pro_cost for s in scored])

    def point(
        threshold: float | None, lanes: Sequence[Lane], spend: Decimal | None, share: float
    ) -> EvalPoint:
        quality = (
            sum(
                (
                    i.quality_lite if lane == "lite" else i.quality_pro
                    for i, lane in zip(items, lanes, strict=True)
                ),
                Fraction(0),
            )
            / n
        )
        return EvalPoint(
            threshold=threshold,
            requests=n,
            pro_calls=sum(1 for lane in lanes if lane != "lite"),
            pro_share=share,
            spend=spend,
            all_pro_spend=all_pro_spend,
            quality=quality,
            quality_retained=_ratio(quality, pro_quality),
            pgr=_ratio(quality - lite_quality, gap),
        )

    all_lite = point(None, ["lite"] * n, _sum([s.lite_cost for s in scored]), 0.0)
    all_pro = point(None, ["pro"] * n, all_pro_spend, 1.0)

    candidates = candidate_thresholds(scored)
    thresholds = _pick(candidates, max_points)
    points = tuple(
        point(
            swept.threshold,
            [lane_at(s, swept.threshold, config) for s in scored],
            swept.spend,
            swept.pro_share,
        )
        for swept in sweep(scored, thresholds, config)
    )
    counts = (
        sum(1 for s in scored if s.rule_lane is not None),
        sum(1 for s in scored if s.rule_lane is None and s.score is not None),
        sum(1 for s in scored if s.rule_lane is None and s.score is None),
    )
    metrics: tuple[Metric, ...] = ("quality_retained", "pgr")
    return EvalResult(
        dataset=dataset,
        scorer=scorer,
        source=source,
        quality_metric=_QUALITY_LABELS.get(dataset, "mean quality"),
        lite_model=config.lite_model,
        pro_model=config.pro_model,
        fallback_lane=config.classifier.fallback_lane,
        ruled=counts[0],
        scored=counts[1],
        unscored=counts[2],
        all_lite=all_lite,
        all_pro=all_pro,
        points=points,
        targets=tuple(_target(m, points, lite_quality, pro_quality) for m in metrics),
        notes=tuple(
            _notes(
                dataset,
                scorer,
                items,
                counts,
                config.classifier.fallback_lane,
                len(candidates),
                len(thresholds),
            )
        ),
    )


def run_eval(
    path: str | os.PathLike[str],
    *,
    format: DatasetFormat | None = None,
    scorer: ScorerName = "rules",
    config: RouterConfig | None = None,
    max_points: int = DEFAULT_MAX_POINTS,
    workers: int = _DEFAULT_WORKERS,
    on_item: Callable[[EvalItem], None] | None = None,
    datasets: Sequence[tuple[DatasetFormat, Sequence[EvalItem]]] | None = None,
) -> list[EvalResult]:
    """Load, score and evaluate every dataset at ``path`` (both in a RouteLLM folder).

    ``simulated`` and ``live`` scoring share one router (one simulator) for all datasets.
    ``datasets`` (from :func:`load_datasets`) skips loading; ``path`` then only labels
    the results.

    Raises:
        DatasetError: as :func:`load_dataset` and :func:`score_items`.
        ConfigError: ``live`` without an API key.
    """
    config = config or RouterConfig()
    if datasets is None:
        datasets = load_datasets(path, format)

    def run(router: GeminiRouter | None) -> list[EvalResult]:
        results = []
        for fmt, items in datasets:
            scored = score_items(
                items, scorer, config=config, router=router, workers=workers, on_item=on_item
            )
            results.append(
                evaluate(
                    items,
                    scored,
                    config,
                    dataset=fmt,
                    scorer=scorer,
                    source=str(path),
                    max_points=max_points,
                )
            )
        return results

    if scorer not in ("simulated", "live"):
        return run(None)
    from lc_gemini_router.tools.backend import gemini_backend

    with gemini_backend(live=scorer == "live") as backend:
        router = backend.router(config)
        try:
            return run(router)
        finally:
            router.close()
