"""``lc-gemini-router report``: tables, plots and an HTML page from a cost log."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import TYPE_CHECKING

from lc_gemini_router.tools.cli.common import CliError, make_table

if TYPE_CHECKING:
    from datetime import timedelta

    from rich.console import Console


def _bucket(text: str) -> int | timedelta:
    """``--bucket``: N routed answers, or a time span (``30m``, ``6h``, ``1d``)."""
    from lc_gemini_router.tools.reports import parse_bucket

    try:
        return parse_bucket(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from exc


def _cmd_report(args: argparse.Namespace, console: Console) -> int:
    from lc_gemini_router.tools.reports import (
        load_cost_log,
        render_report,
        report_tables,
        summarize,
    )

    path = Path(args.costlog)
    try:
        records = load_cost_log(path)
    except OSError as exc:
        raise CliError(f"cannot read cost log {path}: {exc.strerror or exc}") from exc
    if not records:
        raise CliError(f"cost log {path} has no records: nothing to report")
    report = summarize(records)
    out = Path(args.out) if args.out else path.with_name(f"{path.stem}-report")
    try:
        written = render_report(report, records, out, bucket=args.bucket, source=path.name)
    except ImportError as exc:
        msg = "the report command needs matplotlib: install lc-gemini-router[cli]"
        raise CliError(msg) from exc
    except OSError as exc:
        raise CliError(f"cannot write the report to {out}: {exc.strerror or exc}") from exc
    for table in report_tables(report):
        rich_table = make_table(
            table.title,
            table.columns,
            table.rows,
            total=table.total,
            show_header=table.show_header,
        )
        console.print(rich_table, crop=False)
    if report.unpriced_calls:
        console.print(
            f"{report.unpriced_calls} calls had no price: their cost is unknown and not counted.",
            style="yellow",
        )
    console.print(f"Wrote {len(written)} files to {out}:", markup=False)
    for file in written:
        console.print(f"  {file}", markup=False, soft_wrap=True)
    return 0


def register(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the ``report`` command to the parser."""
    report = commands.add_parser(
        "report",
        help="summarize a cost log into tables, PNG plots and an HTML page",
        description="Read the JSON lines a cost handler wrote (demo --log, or "
        "GeminiCostCallbackHandler(log=...)) and show where the money went: spend by "
        "model and by role, savings against sending every answer to Pro, the "
        "classifier's share of spend, and the escalation rate over time. Writes PNG "
        "plots and report.html into --out.",
    )
    report.add_argument("costlog", metavar="COSTLOG.jsonl", help="the cost log to read")
    report.add_argument(
        "--out",
        metavar="DIR",
        help="where to write the plots and report.html "
        "(default: COSTLOG-report next to the log, e.g. costs-report/)",
    )
    report.add_argument(
        "--bucket",
        type=_bucket,
        default=None,
        metavar="N",
        help="escalation-rate buckets: N routed answers each, or a time span such as "
        "30m, 6h, 1d (default: N for about 20 buckets)",
    )
    report.set_defaults(handler=_cmd_report)
