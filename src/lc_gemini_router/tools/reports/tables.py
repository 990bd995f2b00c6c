"""A report as formatted tables: the CLI prints them, the HTML page shows them."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from lc_gemini_router.tools.formatting import percent, share_of, usd
from lc_gemini_router.tools.reports.summary import CostReport


@dataclass(frozen=True)
class ReportTable:
    """A table of the report, already formatted: the CLI and the HTML page show these."""

    title: str
    columns: tuple[tuple[str, bool], ...]
    """``(header, numeric)`` pairs; numeric columns are right-aligned."""
    rows: tuple[tuple[str, ...], ...]
    total: tuple[str, ...] | None = None
    show_header: bool = True


def _count_share(count: int, whole: int) -> str:
    return percent(Decimal(count) / whole if whole else None)


def _plural(count: int, noun: str) -> str:
    return f"{count} {noun}{'' if count == 1 else 's'}"


def _span(report: CostReport) -> str:
    if report.first is None or report.last is None:
        return "-"
    fmt = "%Y-%m-%d %H:%M:%S"
    return f"{report.first.strftime(fmt)} to {report.last.strftime(fmt)} UTC"


def report_tables(report: CostReport) -> list[ReportTable]:
    """The report as tables: totals, spend by model, by role, lanes and decision sources."""
    total = report.total_cost
    unpriced = f"; {report.unpriced_calls} unpriced (cost unknown, not counted)"
    reference_note = "the answers' usage at Pro prices; no classifier, no speculation"
    if report.unreferenced_answers:
        reference_note += f"; {report.unreferenced_answers} priced answers have no reference"
    wasted_note = f"{percent(report.wasted_share)} of spend; "
    wasted_note += _plural(report.wasted_calls, "cancelled call")
    if report.wasted_estimated:
        wasted_note += f" ({report.wasted_estimated} estimated)"
    escalation = f"{report.escalated} of {report.routed_answers}" if report.routed_answers else "-"
    summary = (
        ("model calls", str(report.calls), _span(report)),
        (
            "total spend",
            usd(total),
            "every priced call, classifier included" + (unpriced if report.unpriced_calls else ""),
        ),
        ("all-Pro reference", usd(report.reference_cost), reference_note),
        ("savings", usd(report.savings), f"{percent(report.savings_share)} of the reference"),
        (
            "classifier",
            usd(report.classifier_cost),
            f"{percent(report.classifier_share)} of spend",
        ),
        (
            "wasted speculation",
            usd(report.wasted_cost),
            wasted_note,
        ),
        (
            "escalated",
            escalation,
            f"{percent(report.escalation_rate)} of routed answers on pro or pro_tools",
        ),
    )
    model_rows = tuple(
        (
            model,
            str(t.calls),
            f"{t.input_tokens:,}",
            f"{t.cached_tokens:,}",
            f"{t.output_tokens:,}",
            f"{t.reasoning_tokens:,}",
            usd(t.cost),
            share_of(t.cost, total),
        )
        for model, t in sorted(report.by_model.items(), key=lambda item: (-item[1].cost, item[0]))
    )
    numeric = ("calls", "in", "cached", "out", "thinking", "cost", "share")
    role_numeric = ("calls", "unpriced", "in", "out", "cost", "share")
    role_rows = tuple(
        (
            role,
            str(t.calls),
            str(t.unpriced_calls),
            f"{t.input_tokens:,}",
            f"{t.output_tokens:,}",
            usd(t.cost),
            share_of(t.cost, total),
        )
        for role, t in report.by_role.items()
    )
    t = report.totals
    role_total = (
        "total",
        str(t.calls),
        str(t.unpriced_calls),
        f"{t.input_tokens:,}",
        f"{t.output_tokens:,}",
        usd(t.cost),
        "100%" if total else "-",
    )
    lane_rows = tuple(
        (lane, str(count), _count_share(count, report.routed_answers))
        for lane, count in sorted(report.lanes.items(), key=lambda item: (-item[1], item[0]))
    )
    sources = sum(report.decision_sources.values())
    source_rows = tuple(
        (source, str(count), _count_share(count, sources))
        for source, count in sorted(
            report.decision_sources.items(), key=lambda item: (-item[1], item[0])
        )
    )
    counted = (("answers", True), ("share", True))
    return [
        ReportTable("Summary", (("", False), ("", True), ("", False)), summary, show_header=False),
        ReportTable(
            "Spend by model",
            (("model", False), *((name, True) for name in numeric)),
            model_rows,
        ),
        ReportTable(
            "Spend by role",
            (("role", False), *((name, True) for name in role_numeric)),
            role_rows,
            total=role_total,
        ),
        ReportTable("Routed answers by lane", (("lane", False), *counted), lane_rows),
        ReportTable("Decision sources", (("source", False), *counted), source_rows),
    ]
