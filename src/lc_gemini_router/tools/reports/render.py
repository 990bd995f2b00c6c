"""The report written to disk: the PNG plots and an HTML page that shows them."""

from __future__ import annotations

import html
from collections.abc import Mapping, Sequence
from datetime import timedelta
from os import PathLike
from pathlib import Path

from lc_gemini_router.tools.formatting import percent
from lc_gemini_router.tools.reports.escalation import EscalationSeries, _duration, escalation_series
from lc_gemini_router.tools.reports.plots import _bars, _escalation_plot, _savings_plot
from lc_gemini_router.tools.reports.records import LogRecord
from lc_gemini_router.tools.reports.summary import CostReport
from lc_gemini_router.tools.reports.tables import ReportTable, _plural, report_tables

PLOT_FILES = {
    "savings": "savings_vs_all_pro.png",
    "spend_by_model": "spend_by_model.png",
    "spend_by_role": "spend_by_role.png",
    "escalation": "escalation_rate.png",
}
"""The PNG files :func:`render_report` writes, by plot, in the order it returns them."""
REPORT_HTML = "report.html"
"""The page :func:`render_report` writes next to the plots."""


_NUMERIC = ' class="num"'
_HTML_SERIES_ROWS = 500
"""Escalation buckets listed on the HTML page at most (the plot shows them all)."""


def _html_table(table: ReportTable) -> str:
    def cells(tag: str, values: Sequence[str]) -> str:
        return "".join(
            f"<{tag}{_NUMERIC if numeric else ''}>{html.escape(value)}</{tag}>"
            for value, (_, numeric) in zip(values, table.columns, strict=True)
        )

    parts = [f"<table>\n<caption>{html.escape(table.title)}</caption>"]
    if table.show_header:
        parts.append(f"<thead><tr>{cells('th', [h for h, _ in table.columns])}</tr></thead>")
    parts.append("<tbody>")
    parts.extend(f"<tr>{cells('td', row)}</tr>" for row in table.rows)
    if not table.rows:
        parts.append(f'<tr><td colspan="{len(table.columns)}">none</td></tr>')
    parts.append("</tbody>")
    if table.total is not None:
        parts.append(f"<tfoot><tr>{cells('th', table.total)}</tr></tfoot>")
    parts.append("</table>")
    return "\n".join(parts)


def _series_table(series: EscalationSeries) -> ReportTable:
    fmt = "%Y-%m-%d %H:%M:%S"
    rows = tuple(
        (
            p.start.strftime(fmt),
            p.end.strftime(fmt),
            f"{p.first_answer}-{p.first_answer + p.answers - 1}",
            str(p.answers),
            str(p.escalated),
            percent(p.rate),
        )
        for p in series.points[:_HTML_SERIES_ROWS]
    )
    if isinstance(series.bucket, timedelta):
        size = _duration(series.bucket)
    else:
        size = _plural(series.bucket, "routed answer")
    more = len(series.points) - _HTML_SERIES_ROWS
    title = f"Escalation rate per bucket of {size}" + (
        f" (first {_HTML_SERIES_ROWS} buckets; {more} more in the plot)" if more > 0 else ""
    )
    headers = ("from (UTC)", "to (UTC)", "answers #", "answers", "escalated", "rate")
    return ReportTable(title, tuple((h, i >= 2) for i, h in enumerate(headers)), rows)


_STYLE = """
body { font-family: system-ui, sans-serif; margin: 2em auto; max-width: 60em; color: #222; }
table { border-collapse: collapse; margin: 1em 0 2em; }
caption { text-align: left; font-weight: bold; padding-bottom: .4em; }
th, td { border-bottom: 1px solid #ddd; padding: .25em .8em; text-align: left; }
.num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
tfoot th { border-top: 2px solid #999; }
figure { margin: 1em 0 2em; }
img { max-width: 100%; height: auto; }
"""


def _page(
    report: CostReport, series: EscalationSeries, plots: Mapping[str, Path], source: str | None
) -> str:
    title = "lc-gemini-router cost report" + (f": {source}" if source else "")
    captions = {
        "savings": "Routed spend, stacked by role, against the all-Pro reference",
        "spend_by_model": "Spend by model",
        "spend_by_role": "Spend by role",
        "escalation": "Escalation rate over time",
    }
    figures = [
        f'<figure><img src="{html.escape(path.name)}" alt="{html.escape(captions[key])}">'
        f"<figcaption>{html.escape(captions[key])}</figcaption></figure>"
        for key, path in plots.items()
    ]
    tables = [_html_table(table) for table in report_tables(report)]
    notes = (
        "Money is exact, in USD. Unpriced calls (cost unknown) are counted as calls and "
        "left out of every sum. The all-Pro reference is a lower bound: on Pro, the easy "
        "requests would also have spent thinking tokens."
    )
    body = [
        f"<h1>{html.escape(title)}</h1>",
        f"<p>{html.escape(notes)}</p>",
        tables[0],
        figures[0],
        *tables[1:3],
        *figures[1:3],
        *tables[3:],
        figures[3],
        _html_table(_series_table(series)),
    ]
    return (
        '<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        f"<title>{html.escape(title)}</title>\n<style>{_STYLE}</style>\n</head>\n<body>\n"
        + "\n".join(body)
        + "\n</body>\n</html>\n"
    )


def render_report(
    report: CostReport,
    records: Sequence[LogRecord],
    out_dir: str | PathLike[str],
    *,
    bucket: int | timedelta | None = None,
    source: str | None = None,
) -> list[Path]:
    """Draw the report's plots and write an HTML page that shows them.

    Writes :data:`PLOT_FILES` (PNG) and :data:`REPORT_HTML` into ``out_dir``,
    created if needed; existing files of those names are replaced. The page links
    the plots by relative path, so the directory can be moved or served as is.
    Needs matplotlib (the ``cli`` extra), imported on first use; draws on the Agg
    canvas without touching pyplot's global backend.

    Args:
        report: The totals (see :func:`summarize`).
        records: The records behind them, for the escalation rate over time.
        out_dir: Where to write.
        bucket: Escalation buckets, as for :func:`escalation_series`.
        source: What the page's title names as the log (a file name, say).

    Returns:
        The files written: the PNGs, then the HTML page.

    Raises:
        ImportError: matplotlib is not installed.
        OSError: the directory or a file cannot be written.
    """
    import matplotlib  # noqa: F401 - fail early, before any file is written

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    series = escalation_series(records, bucket)
    roles = {role: t.cost for role, t in report.by_role.items()}
    models = {model: t.cost for model, t in report.by_model.items()}
    plots = {
        "savings": _savings_plot(report, out / PLOT_FILES["savings"]),
        "spend_by_model": _bars(
            "Spend by model", models, report.total_cost, out / PLOT_FILES["spend_by_model"]
        ),
        "spend_by_role": _bars(
            "Spend by role", roles, report.total_cost, out / PLOT_FILES["spend_by_role"]
        ),
        "escalation": _escalation_plot(series, out / PLOT_FILES["escalation"]),
    }
    page = out / REPORT_HTML
    page.write_text(_page(report, series, plots, source), encoding="utf-8")
    return [*plots.values(), page]
