"""The report's PNG plots, drawn on matplotlib's Agg canvas."""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING

from lc_gemini_router.tools.formatting import percent, share_of, usd

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure
from lc_gemini_router.tools.reports.escalation import _DAY, _MINUTE, EscalationSeries, _duration
from lc_gemini_router.tools.reports.summary import CostReport

_TIME_TICKS = 6
"""Ticks the escalation plot's time axis shows at most."""


def _figure(width: float, height: float) -> Figure:
    """A figure on its own Agg canvas: no pyplot, no global backend switch."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    figure = Figure(figsize=(width, height), dpi=100, layout="constrained")
    FigureCanvasAgg(figure)
    return figure


def _plain(text: str) -> str:
    """Text matplotlib draws as is: a ``$`` would start mathtext."""
    return text.replace("$", r"\$")


def _no_data(axes: Axes, text: str) -> None:
    axes.text(0.5, 0.5, text, ha="center", va="center", transform=axes.transAxes)
    axes.set_axis_off()


def _save(figure: Figure, path: Path) -> Path:
    figure.savefig(path, format="png", metadata={"Software": None})
    return path


def _bars(title: str, costs: Mapping[str, Decimal], total: Decimal, path: Path) -> Path:
    """Horizontal bars of spend, largest on top, each labelled with its exact cost."""
    from matplotlib.ticker import FuncFormatter

    items = sorted(costs.items(), key=lambda item: (item[1], item[0]))
    figure = _figure(8, 1.6 + 0.45 * max(len(items), 1))
    axes = figure.add_subplot()
    axes.set_title(_plain(title))
    if not items or not any(cost for _, cost in items):
        _no_data(axes, "no priced calls")
        return _save(figure, path)
    names = [_plain(name) for name, _ in items]
    values = [float(cost) for _, cost in items]
    container = axes.barh(names, values, color="#4c72b0")
    labels = [_plain(f"{usd(cost)} ({share_of(cost, total)})") for _, cost in items]
    axes.bar_label(container, labels=labels, padding=3, fontsize=8)
    axes.set_xlim(0, max(values) * 1.45)
    axes.xaxis.set_major_formatter(FuncFormatter(lambda x, _: _plain(f"${x:g}")))
    axes.set_xlabel("USD")
    return _save(figure, path)


def _savings_plot(report: CostReport, path: Path) -> Path:
    """Routed spend (stacked by role) beside the all-Pro reference."""
    figure = _figure(8, 3.2)
    axes = figure.add_subplot()
    axes.set_title("Routed spend vs all-Pro reference")
    if not report.total_cost and not report.reference_cost:
        _no_data(axes, "no priced calls")
        return _save(figure, path)
    palette = ("#55a868", "#c44e52", "#dd8452", "#8172b2", "#937860", "#64b5cd")
    left = 0.0
    for index, (role, totals) in enumerate(report.by_role.items()):
        if totals.cost:
            axes.barh(
                "routed",
                float(totals.cost),
                left=left,
                color=palette[index % len(palette)],
                label=_plain(role),
            )
            left += float(totals.cost)
    axes.barh("all Pro", float(report.reference_cost), color="#4c72b0", label="all-Pro reference")
    axes.text(left, 0, _plain(f" {usd(report.total_cost)}"), va="center", fontsize=8)
    saved = f"saves {usd(report.savings)} ({percent(report.savings_share)})"
    axes.text(
        float(report.reference_cost),
        1,
        _plain(f" {usd(report.reference_cost)}: {saved}"),
        va="center",
        fontsize=8,
    )
    axes.set_xlim(0, max(left, float(report.reference_cost)) * 1.6)
    axes.set_xlabel("USD")
    axes.legend(loc="lower right", fontsize=8)
    return _save(figure, path)


def _time_label(span: float) -> Callable[[float, int | None], str]:
    """Tick labels for epoch seconds: as precise as the span needs."""
    if span >= _DAY:
        fmt = "%Y-%m-%d\n%H:%M" if span < _DAY * 5 else "%Y-%m-%d"
    else:
        fmt = "%H:%M" if span >= _MINUTE * 5 else "%H:%M:%S"

    def label(x: float, _: int | None = None) -> str:
        return datetime.fromtimestamp(x, tz=timezone.utc).strftime(fmt)

    return label


def _escalation_plot(series: EscalationSeries, path: Path) -> Path:
    from matplotlib.ticker import FuncFormatter, MaxNLocator, MultipleLocator, PercentFormatter

    figure = _figure(8, 3.6)
    axes = figure.add_subplot()
    points = series.points
    if not points:
        axes.set_title("Escalation rate")
        _no_data(axes, "no routed answers in the log")
        return _save(figure, path)
    overall = series.escalated / series.answers
    cumulative: list[float] = []
    answers = escalated = 0
    for point in points:
        answers += point.answers
        escalated += point.escalated
        cumulative.append(escalated / answers)
    rates = [p.rate for p in points]
    if isinstance(series.bucket, timedelta):
        # Epoch seconds on the x axis, ticks on whole buckets, labelled in UTC.
        width = series.bucket.total_seconds()
        starts = [p.start.timestamp() for p in points]
        ends = [p.end.timestamp() for p in points]
        axes.bar(
            starts,
            rates,
            width=width * 0.95,
            align="edge",
            color="#dd8452",
            alpha=0.6,
            label=f"per {_duration(series.bucket)}",
        )
        axes.plot(ends, cumulative, marker=".", color="#4c72b0", label="cumulative")
        axes.set_xlim(starts[0], ends[-1])
        windows = (ends[-1] - starts[0]) / width
        axes.xaxis.set_major_locator(MultipleLocator(width * math.ceil(windows / _TIME_TICKS)))
        axes.xaxis.set_major_formatter(FuncFormatter(_time_label(ends[-1] - starts[0])))
        axes.set_xlabel("time (UTC)")
    else:
        # A small gap between bars keeps neighbouring buckets apart.
        lefts = [p.first_answer - 0.45 for p in points]
        axes.bar(
            lefts,
            rates,
            width=[p.answers - 0.1 for p in points],
            align="edge",
            color="#dd8452",
            alpha=0.6,
            label="per answer" if series.bucket == 1 else f"per {series.bucket} answers",
        )
        axes.plot(
            [p.first_answer + p.answers - 1 for p in points],
            cumulative,
            marker=".",
            color="#4c72b0",
            label="cumulative",
        )
        axes.set_xlim(0.5, series.answers + 0.5)
        axes.xaxis.set_major_locator(MaxNLocator(integer=True))
        axes.set_xlabel("routed answer (in time order)")
    axes.axhline(overall, linestyle="--", color="grey", label=f"overall {overall:.1%}")
    axes.set_ylim(0, 1.05)
    axes.yaxis.set_major_formatter(PercentFormatter(1.0))
    axes.set_ylabel("on pro / pro_tools")
    axes.set_title("Escalation rate: share of routed answers on Pro")
    axes.legend(loc="best", fontsize=8)
    return _save(figure, path)
