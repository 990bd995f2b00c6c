"""``lc-gemini-router eval``: replay a labelled dataset, quality against Pro share."""

from __future__ import annotations

import argparse
import os
from pathlib import Path
from typing import TYPE_CHECKING

from lc_gemini_router.config import RouterConfig
from lc_gemini_router.tools.cli.common import CliError, add_config_flag, load_config, make_table
from lc_gemini_router.tools.formatting import usd

if TYPE_CHECKING:
    from fractions import Fraction

    from rich.console import Console

    from lc_gemini_router.tools.evaluation import EvalPoint, EvalResult


_EVAL_CURVE_ROWS = 6
"""Points of the curve shown between the endpoints (plus those reaching the 95% goals)."""
_EVAL_DEFAULT_PNG = "eval-curve.png"


def _share(value: Fraction | float | None) -> str:
    return "-" if value is None else f"{float(value):.1%}"


def _eval_cells(label: str, threshold: str, point: EvalPoint) -> tuple[str, ...]:
    return (
        label,
        threshold,
        f"{point.pro_share:.1%}",
        usd(point.spend),
        _share(point.spend_vs_all_pro),
        f"{float(point.quality):.4f}",
        _share(point.quality_retained),
        _share(point.pgr),
    )


def _eval_rows(result: EvalResult) -> list[tuple[str, ...]]:
    """Endpoints, and a few points of the curve: equal outcomes merged into one row."""
    import math

    groups: list[list[EvalPoint]] = []
    for point in result.points:
        last = groups[-1][0] if groups else None
        same = last is not None and (last.pro_calls, last.quality, last.spend) == (
            point.pro_calls,
            point.quality,
            point.spend,
        )
        if same:
            groups[-1].append(point)
        else:
            groups.append([point])
    marks: dict[int, list[str]] = {}
    for target in result.targets:
        if target.point is not None:
            index = next(i for i, g in enumerate(groups) if target.point in g)
            marks.setdefault(index, []).append(f"{float(target.goal):.0%} {target.label}")
    step = max(1, math.ceil(len(groups) / _EVAL_CURVE_ROWS))
    shown = sorted({*range(0, len(groups), step), len(groups) - 1, *marks})
    rows = [_eval_cells("all Flash-Lite", "-", result.all_lite)]
    for index in shown:
        group = groups[index]
        first, last_point = group[0].threshold or 0.0, group[-1].threshold or 0.0
        threshold = f"{first:.2f}" if len(group) == 1 else f"{first:.2f}-{last_point:.2f}"
        label = "router" + (", reaches " + ", ".join(marks[index]) if index in marks else "")
        rows.append(_eval_cells(label, threshold, group[0]))
    rows.append(_eval_cells("all Pro", "-", result.all_pro))
    return rows


def _print_eval(console: Console, result: EvalResult) -> None:
    from rich.text import Text

    head = Text()
    head.append(f"{result.dataset}", style="bold")
    head.append(f": {result.items:,} items from {result.source}; scorer ")
    head.append(result.scorer, style="bold yellow" if result.simulated else "bold")
    if result.simulated:
        head.append(" (SIMULATED: not a quality claim)", style="bold yellow")
    head.append(f"; quality = {result.quality_metric}")
    console.print(head)
    columns = [("point", False), ("threshold", True)]
    headers = ("Pro share", "spend", "vs all-Pro", "quality", "retained", "PGR")
    columns += [(name, True) for name in headers]
    title = f"{result.dataset}: {result.lite_model} vs {result.pro_model}"
    console.print(make_table(title, columns, _eval_rows(result)), crop=False)
    lite, pro = result.all_lite.quality, result.all_pro.quality
    console.print(
        f"Endpoints (every item on one lane, rules ignored): all Flash-Lite {lite} = "
        f"{float(lite):.6g}, all Pro {pro} = {float(pro):.6g}.",
        markup=False,
    )
    for target in result.targets:
        style = "green" if target.point is not None else "yellow"
        console.print(target.describe(), style=style, markup=False)
    console.print(result.routellm_comparison(), style="bold", markup=False)
    for note in result.notes:
        style = "bold yellow" if note.startswith("SIMULATED") else "dim"
        console.print(f"Note: {note}", style=style, markup=False)


def _cmd_eval(args: argparse.Namespace, console: Console) -> int:
    import json

    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

    from lc_gemini_router.tools import evaluation
    from lc_gemini_router.tools.backend import API_KEY_VARIABLES

    if args.format is not None and args.format not in evaluation.FORMATS:
        formats = ", ".join(evaluation.FORMATS)
        raise CliError(f"unknown --format {args.format!r}: expected one of {formats}")
    has_key = any(os.environ.get(name) for name in API_KEY_VARIABLES)
    scorer = args.scorer or ("live" if has_key else "rules")
    if scorer not in evaluation.SCORERS:
        scorers = ", ".join(evaluation.SCORERS)
        raise CliError(f"unknown --scorer {args.scorer!r}: expected one of {scorers}")
    if scorer == "live" and not has_key:
        raise CliError("--scorer live needs GOOGLE_API_KEY (or GEMINI_API_KEY) set")
    config = load_config(args.config) or RouterConfig()
    try:
        datasets = evaluation.load_datasets(args.dataset, args.format)
        total = sum(len(items) for _, items in datasets)
        if scorer == "live":
            console.print(
                f"LIVE Gemini API: up to {total:,} classifier calls, billed to your key.",
                style="bold red",
                markup=False,
            )
        if scorer in ("simulated", "live"):
            columns = (TextColumn("routing"), BarColumn(), MofNCompleteColumn())
            with Progress(*columns, console=console, transient=True) as progress:
                task = progress.add_task("routing", total=total)
                results = evaluation.run_eval(
                    args.dataset,
                    scorer=scorer,
                    config=config,
                    datasets=datasets,
                    on_item=lambda _: progress.advance(task),
                )
        else:
            results = evaluation.run_eval(
                args.dataset, scorer=scorer, config=config, datasets=datasets
            )
    except evaluation.DatasetError as exc:
        raise CliError(str(exc)) from exc

    for result in results:
        _print_eval(console, result)
        console.print()
    png = None if args.no_png else (args.png or _EVAL_DEFAULT_PNG)
    if png is not None:
        try:
            evaluation.plot_curve(results, png)
        except ImportError as exc:
            if args.png:
                msg = f"--png needs matplotlib: install lc-gemini-router[cli] ({exc})"
                raise CliError(msg) from exc
            console.print("Curve: not written (matplotlib is not installed).", markup=False)
        except OSError as exc:
            raise CliError(f"cannot write the curve to {png}: {exc.strerror or exc}") from exc
        else:
            console.print(f"Curve: {png}", markup=False)
    if args.json:
        payload = {"results": [result.to_dict() for result in results]}
        try:
            Path(args.json).write_text(json.dumps(payload, indent=2) + "\n", encoding="utf-8")
        except OSError as exc:
            raise CliError(f"cannot write {args.json}: {exc.strerror or exc}") from exc
        console.print(f"JSON: {args.json}", markup=False)
    return 0


def register(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the ``eval`` command to the parser."""
    eval_parser = commands.add_parser(
        "eval",
        help="replay a labelled dataset: quality vs Pro share, spend, against RouteLLM",
        description="Replay a labelled dataset through the router's policy at every "
        "escalation threshold and report Pro share, spend (against all-Pro) and quality "
        "retained, the curve as a PNG, and where it stands against RouteLLM's published "
        "MT-Bench point. DATASET is RouteLLM's data folder (MT-Bench question.jsonl + "
        "judgements.jsonl and/or GSM8K gsm8k_responses.csv: each is reported) or a .jsonl "
        'file, one item per line: {"id", "prompt" (or "messages"), "quality_lite", '
        '"quality_pro", optional "score" (recorded classifier difficulty 0-1), "category", '
        '"input_tokens", "output_tokens_lite", "output_tokens_pro"}.',
    )
    eval_parser.add_argument(
        "dataset", metavar="DATASET", help="a RouteLLM data folder or a .jsonl file"
    )
    eval_parser.add_argument(
        "--format",
        metavar="FORMAT",
        help="mt-bench, gsm8k or jsonl (default: detected; a folder with both runs both)",
    )
    eval_parser.add_argument(
        "--scorer",
        metavar="SCORER",
        help="rules (offline: rules only, the rest takes the fallback lane), recorded "
        '(each item\'s "score"), simulated (offline keyword classifier: SIMULATED), live '
        "(Gemini's classifier; needs GOOGLE_API_KEY). Default: live with a key, else rules",
    )
    png_group = eval_parser.add_mutually_exclusive_group()
    png_group.add_argument(
        "--png",
        metavar="FILE.png",
        help=f"where to save the quality-vs-Pro-share curve (default {_EVAL_DEFAULT_PNG})",
    )
    png_group.add_argument("--no-png", action="store_true", help="do not save the curve")
    eval_parser.add_argument("--json", metavar="FILE.json", help="write every figure as JSON")
    add_config_flag(eval_parser, "the router settings replayed")
    eval_parser.set_defaults(handler=_cmd_eval)
