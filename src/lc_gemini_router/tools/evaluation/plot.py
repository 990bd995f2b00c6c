"""The quality-against-Pro-share curve as a PNG."""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

from lc_gemini_router.tools.evaluation.results import GOAL, ROUTELLM_MT_BENCH, EvalResult


def plot_curve(results: EvalResult | Sequence[EvalResult], path: str | os.PathLike[str]) -> Path:
    """Save quality against Pro share as a PNG, one panel per result.

    Each panel shows the router's points, both endpoints, random routing (the
    straight line between them), the 95%-of-Pro quality line and, for MT-Bench,
    RouteLLM's published point. Uses matplotlib's Agg canvas (no display, no pyplot).

    Raises:
        ImportError: matplotlib is not installed (``pip install lc-gemini-router[cli]``).
        OSError: the file cannot be written.
    """
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    panels = [results] if isinstance(results, EvalResult) else list(results)
    if not panels:
        raise ValueError("nothing to plot")
    figure = Figure(figsize=(6.4 * len(panels), 4.8), layout="constrained")
    FigureCanvasAgg(figure)
    for axes, result in zip(figure.subplots(1, len(panels), squeeze=False)[0], panels, strict=True):
        lite, pro = result.all_lite, result.all_pro
        axes.plot(
            [0, 100],
            [float(lite.quality), float(pro.quality)],
            linestyle="--",
            color="grey",
            label="random routing",
        )
        curve = sorted(result.points, key=lambda p: (p.pro_share, p.quality))
        axes.plot(
            [100 * p.pro_share for p in curve],
            [float(p.quality) for p in curve],
            marker="o",
            markersize=3,
            label=f"router ({result.scorer} scorer)",
        )
        axes.scatter(
            [0], [float(lite.quality)], color="tab:green", zorder=3, label="all Flash-Lite"
        )
        axes.scatter([100], [float(pro.quality)], color="tab:red", zorder=3, label="all Pro")
        axes.axhline(
            float(GOAL * pro.quality), color="tab:purple", linewidth=0.8, label="95% of all-Pro"
        )
        if result.dataset == ROUTELLM_MT_BENCH.dataset:
            ref = ROUTELLM_MT_BENCH
            axes.scatter(
                [100 * ref.pro_share],
                [float(ref.quality_retained * pro.quality)],
                marker="*",
                s=120,
                color="black",
                zorder=4,
                label="RouteLLM mf (published)",
            )
        title = f"{result.dataset}: {result.items} items"
        if result.simulated:
            title += " - SIMULATED scorer, not a quality claim"
        axes.set_title(title, fontsize=10)
        axes.set_xlabel("Pro share of calls (%)")
        axes.set_ylabel(result.quality_metric)
        axes.set_xlim(-2, 102)
        axes.grid(alpha=0.3)
        axes.legend(fontsize=8, loc="lower right")
    target = Path(path)
    figure.savefig(target, format="png", dpi=100)
    return target
