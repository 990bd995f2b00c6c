"""What an evaluation finds: operating points, quality targets, and RouteLLM's published point."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from decimal import Decimal
from fractions import Fraction
from typing import Any, Literal

from lc_gemini_router.config import Lane
from lc_gemini_router.tools.evaluation.items import DatasetFormat

Metric = Literal["quality_retained", "pgr"]


GOAL = Fraction(95, 100)
"""The quality level compared against RouteLLM's headline: 95%."""
_METRIC_LABELS: dict[Metric, str] = {
    "quality_retained": "quality retained",
    "pgr": "PGR",
}


@dataclass(frozen=True)
class PublishedPoint:
    """A published operating point of another router, for comparison."""

    source: str
    router: str
    dataset: DatasetFormat
    pro_share: float
    """Share of strong-model calls."""
    quality_retained: Fraction
    """Quality as a share of the all-strong quality."""


ROUTELLM_MT_BENCH = PublishedPoint(
    source="RouteLLM (Ong et al., 2024)",
    router="matrix-factorisation router",
    dataset="mt-bench",
    pro_share=0.26,
    quality_retained=GOAL,
)
"""RouteLLM's headline: 95% of GPT-4's MT-Bench quality with about 26% GPT-4 calls."""


@dataclass(frozen=True)
class EvalPoint:
    """Quality, Pro share and spend of one operating point."""

    threshold: float | None
    """The escalation threshold; None for the all-lite and all-Pro endpoints."""
    requests: int
    pro_calls: int
    """Items answered on ``pro`` or ``pro_tools``."""
    pro_share: float
    spend: Decimal | None
    """Answers plus classifier calls; None when a cost is unknown."""
    all_pro_spend: Decimal | None
    quality: Fraction
    """Mean quality of the chosen lanes' answers."""
    quality_retained: Fraction | None
    """``quality / all-Pro quality``."""
    pgr: Fraction | None
    """Performance gap recovered: ``(quality - lite) / (Pro - lite)``."""

    @property
    def spend_vs_all_pro(self) -> Fraction | None:
        """``spend / all_pro_spend``."""
        if self.spend is None or not self.all_pro_spend:
            return None
        return Fraction(self.spend) / Fraction(self.all_pro_spend)

    def metric(self, name: Metric) -> Fraction | None:
        return self.quality_retained if name == "quality_retained" else self.pgr

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe: money as decimal strings, quality as a float and an exact fraction."""
        ratio = self.spend_vs_all_pro
        return {
            "threshold": self.threshold,
            "requests": self.requests,
            "pro_calls": self.pro_calls,
            "pro_share": self.pro_share,
            "spend": None if self.spend is None else str(self.spend),
            "all_pro_spend": None if self.all_pro_spend is None else str(self.all_pro_spend),
            "spend_vs_all_pro": None if ratio is None else float(ratio),
            "quality": float(self.quality),
            "quality_exact": str(self.quality),
            "quality_retained": _float(self.quality_retained),
            "pgr": _float(self.pgr),
        }


def _float(value: Fraction | None) -> float | None:
    return None if value is None else float(value)


@dataclass(frozen=True)
class Target:
    """Where the curve first reaches a quality goal (``GOAL`` of a metric)."""

    metric: Metric
    goal: Fraction
    point: EvalPoint | None
    """The point with the least Pro share reaching the goal; None: not reached."""
    best: EvalPoint | None
    """The curve's best point on this metric (what it reaches at most)."""
    random_pro_share: float | None
    """Pro share a random router needs for the goal (linear between the endpoints)."""

    @property
    def label(self) -> str:
        return _METRIC_LABELS[self.metric]

    def describe(self) -> str:
        """One line: where the goal is reached, or how close the curve comes."""
        goal = f"{float(self.goal):.0%} {self.label}"
        random = (
            ""
            if self.random_pro_share is None
            else f"; random routing needs {self.random_pro_share:.1%}"
        )
        if self.point is not None:
            where = f"threshold {self.point.threshold:.2f}"
            return f"{goal}: reached at {self.point.pro_share:.1%} Pro calls ({where}){random}"
        best = self.best.metric(self.metric) if self.best is not None else None
        if self.best is None or best is None:
            return f"{goal}: not reached{random}"
        return (
            f"{goal}: not reached (at most {float(best):.1%}, at "
            f"{self.best.pro_share:.1%} Pro calls){random}"
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "metric": self.metric,
            "goal": float(self.goal),
            "reached": self.point is not None,
            "pro_share": None if self.point is None else self.point.pro_share,
            "threshold": None if self.point is None else self.point.threshold,
            "best": None if self.best is None else _float(self.best.metric(self.metric)),
            "random_pro_share": self.random_pro_share,
        }


@dataclass(frozen=True)
class EvalResult:
    """A dataset replayed through the policy: endpoints, the curve, targets, notes."""

    dataset: str
    """``mt-bench``, ``gsm8k`` or ``jsonl``."""
    scorer: str
    source: str
    quality_metric: str
    lite_model: str
    pro_model: str
    fallback_lane: Lane
    ruled: int
    """Items a rule decided whatever the threshold."""
    scored: int
    """Items the score decides, threshold by threshold."""
    unscored: int
    """Items with neither: the fallback lane answers at every threshold."""
    all_lite: EvalPoint
    """Every item on Flash-Lite (the weak model), rules ignored."""
    all_pro: EvalPoint
    """Every item on Pro (the strong model), rules ignored."""
    points: tuple[EvalPoint, ...]
    """The router's curve, by increasing threshold (decreasing Pro share)."""
    targets: tuple[Target, ...]
    notes: tuple[str, ...] = field(default_factory=tuple)

    @property
    def items(self) -> int:
        return self.all_pro.requests

    @property
    def simulated(self) -> bool:
        return self.scorer == "simulated"

    def target(self, metric: Metric) -> Target:
        return next(t for t in self.targets if t.metric == metric)

    def routellm_comparison(self) -> str:
        """One line against RouteLLM's published MT-Bench point, on the same metric."""
        ref = ROUTELLM_MT_BENCH
        retained = self.target("quality_retained")
        published = (
            f"{ref.source}, {ref.router}: {float(ref.quality_retained):.0%} of GPT-4 quality "
            f"at ~{ref.pro_share:.0%} GPT-4 calls on MT-Bench"
        )
        if retained.point is not None:
            ours = f"here {retained.point.pro_share:.1%} Pro calls"
            if self.dataset == "mt-bench":
                verdict = "fewer" if retained.point.pro_share < ref.pro_share else "more"
                ours += f" ({verdict} than RouteLLM's)"
        else:
            ours = "here not reached"
        if self.dataset != "mt-bench":
            ours += f" (on {self.dataset}, not MT-Bench: not the same data)"
        return f"{published}; {ours}."

    def to_dict(self) -> dict[str, Any]:
        """Everything, JSON-safe."""
        return {
            "dataset": self.dataset,
            "scorer": self.scorer,
            "simulated": self.simulated,
            "source": self.source,
            "items": self.items,
            "quality_metric": self.quality_metric,
            "lite_model": self.lite_model,
            "pro_model": self.pro_model,
            "decided": {"rules": self.ruled, "score": self.scored, "fallback": self.unscored},
            "fallback_lane": self.fallback_lane,
            "endpoints": {"all_lite": self.all_lite.to_dict(), "all_pro": self.all_pro.to_dict()},
            "points": [p.to_dict() for p in self.points],
            "targets": [t.to_dict() for t in self.targets],
            "routellm": {
                "source": ROUTELLM_MT_BENCH.source,
                "router": ROUTELLM_MT_BENCH.router,
                "dataset": ROUTELLM_MT_BENCH.dataset,
                "pro_share": ROUTELLM_MT_BENCH.pro_share,
                "quality_retained": float(ROUTELLM_MT_BENCH.quality_retained),
                "comparison": self.routellm_comparison(),
            },
            "notes": list(self.notes),
        }

    def to_json(self, *, indent: int | None = 2) -> str:
        """:meth:`to_dict` as JSON text."""
        return json.dumps(self.to_dict(), indent=indent)
