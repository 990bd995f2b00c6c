"""``lc-gemini-router report``: tables, plots and an HTML page from a cost log."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import TYPE_CHECKING

from lc_gemini_router.tools.cli.common import CliError, _table

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
        rich_table = _table(
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
