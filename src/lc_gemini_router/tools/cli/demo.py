"""``lc-gemini-router demo``: route the built-in workload and show what each request cost."""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from decimal import Decimal
from pathlib import Path
from typing import IO, TYPE_CHECKING

from lc_gemini_router.keys import ROLE_ANSWER, ROLE_CLASSIFIER
from lc_gemini_router.tools.cli.common import (
    CliError,
    add_backend_flags,
    add_config_flag,
    backend_problem,
    fail,
    live_flag,
    load_config,
    make_table,
    thousands,
)
from lc_gemini_router.tools.formatting import share_of, usd

if TYPE_CHECKING:
    from rich.console import Console
    from rich.table import Table

    from lc_gemini_router.callbacks.handler import GeminiCostCallbackHandler
    from lc_gemini_router.tools.demo import DemoResult


def _header(console: Console, description: str, live: bool) -> None:
    from rich.panel import Panel
    from rich.text import Text

    body = Text()
    body.append(description, style="bold red" if live else "bold green")
    if live:
        body.append("\nEvery request below is a real Gemini call, billed to your key.")
    else:
        body.append(
            "\nAnswers come from a loopback stand-in for Gemini that the real client talks to."
            "\nToken counts are realistic and prices are the catalog's real prices."
            "\nSet GOOGLE_API_KEY (and leave out --simulated) to call the real API."
        )
    console.print(Panel(body, title="lc-gemini-router demo", expand=False))


def _results_table(results: Sequence[DemoResult]) -> Table:
    from rich.text import Text

    styles = {"lite": "green", "pro": "magenta", "pro_tools": "magenta"}
    rows = [
        (
            r.task.name,
            Text(r.decision.lane, style=styles.get(r.decision.lane, "")),
            r.decision.source,
            "-" if r.decision.score is None else f"{r.decision.score:.2f}",
            r.model,
            str(r.steps),
            thousands(r.input_tokens),
            thousands(r.output_tokens),
            usd(r.cost),
            usd(r.classifier_cost),
        )
        for r in results
    ]
    columns = [(name, False) for name in ("task", "lane", "source", "score", "model")]
    columns += [(name, True) for name in ("steps", "in", "out", "answer cost", "classifier")]
    return make_table("Requests (tokens and cost of the answer, all steps)", columns, rows)


def _totals_tables(cb: GeminiCostCallbackHandler) -> tuple[Table, Table]:
    model_rows = [
        (
            model,
            str(t.calls),
            thousands(t.input_tokens),
            thousands(t.output_tokens),
            thousands(t.reasoning_tokens),
            usd(t.cost),
            share_of(t.cost, cb.total_cost),
        )
        for model, t in sorted(cb.by_model.items())
    ]
    headers = ("calls", "in", "out", "thinking", "cost", "share")
    by_model = make_table(
        "Spend by model", [("model", False), *((h, True) for h in headers)], model_rows
    )
    roles = sorted(cb.by_role, key=lambda role: (role != ROLE_CLASSIFIER, role))
    role_rows = [
        (
            role,
            str(cb.by_role[role].calls),
            thousands(cb.by_role[role].input_tokens),
            thousands(cb.by_role[role].output_tokens),
            usd(cb.by_role[role].cost),
            share_of(cb.by_role[role].cost, cb.total_cost),
        )
        for role in roles
    ]
    total = ("total", str(cb.calls), thousands(cb.input_tokens), thousands(cb.output_tokens))
    by_role = make_table(
        "Spend by role",
        [("role", False), *((h, True) for h in ("calls", "in", "out", "cost", "share"))],
        role_rows,
        total=(*total, usd(cb.total_cost), "100%" if cb.total_cost else "-"),
    )
    return by_model, by_role


def _summary(
    console: Console, results: Sequence[DemoResult], cb: GeminiCostCallbackHandler
) -> None:
    answers = cb.by_role.get(ROLE_ANSWER)
    classifier = cb.by_role.get(ROLE_CLASSIFIER)
    # An all-Pro setup sends the answers to Pro and runs no classifier: the reference
    # is the answers' tokens at the reference model's prices.
    reference = answers.reference_cost if answers else Decimal(0)
    savings = reference - cb.total_cost
    classifier_cost = classifier.cost if classifier else Decimal(0)
    on_lite = sum(1 for r in results if r.decision.lane == "lite")
    rows = [
        ("total spend", usd(cb.total_cost), f"{cb.calls} model calls, classifier included"),
        (
            "all-Pro reference",
            usd(reference),
            f"the answers' tokens at {cb.reference_model} prices, no classifier",
        ),
        ("savings", usd(savings), f"{share_of(savings, reference)} of the all-Pro reference"),
        (
            "classifier",
            usd(classifier_cost),
            f"{share_of(classifier_cost, cb.total_cost)} of spend",
        ),
        ("on Flash-Lite", f"{on_lite} of {len(results)}", "requests answered on the cheap lane"),
    ]
    columns = [("", False), ("", True), ("", False)]
    console.print(make_table("Totals", columns, rows, show_header=False), crop=False)
    console.print(
        "The reference is a lower bound: on Pro, the easy requests would also have "
        "spent thinking tokens.",
        style="dim",
    )
    if cb.unpriced_calls:
        console.print(
            f"{cb.unpriced_calls} calls had no price: their cost is unknown and not counted.",
            style="yellow",
        )


def _open_log(path: str | None) -> IO[str] | None:
    if path is None:
        return None
    try:
        return Path(path).open("a", encoding="utf-8")
    except OSError as exc:
        msg = f"cannot open log file {path}: {exc.strerror or exc}"
        raise CliError(msg) from exc


def _cmd_demo(args: argparse.Namespace, console: Console) -> int:
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

    from lc_gemini_router.tools.backend import gemini_backend
    from lc_gemini_router.tools.demo import WORKLOAD, run_workload

    config = load_config(args.config)
    log = _open_log(args.log)
    try:
        with gemini_backend(live=live_flag(args)) as backend:
            _header(console, backend.description, backend.live)
            columns = (
                TextColumn("{task.description}"),
                BarColumn(),
                MofNCompleteColumn(),
            )
            with Progress(*columns, console=console, transient=True) as progress:
                bar = progress.add_task("routing", total=len(WORKLOAD))

                def advance(result: DemoResult) -> None:
                    progress.update(bar, advance=1, description=f"routed {result.task.name}")

                results, cb = run_workload(backend, config=config, on_result=advance, log=log)
    finally:
        if log is not None:
            log.close()
    console.print(_results_table(results), crop=False)
    by_model, by_role = _totals_tables(cb)
    console.print(by_model, crop=False)
    console.print(by_role, crop=False)
    _summary(console, results, cb)
    if args.log:
        console.print(f"Log: {cb.calls} JSON lines appended to {args.log}", markup=False)
    problems = [(r.task.name, p) for r in results if (p := backend_problem(r.decision))]
    if problems:
        name, first = problems[0]
        return fail(
            f"{len(problems)} of {len(results)} requests were not answered as routed; "
            f"first, {name!r}: {first}",
            code=1,
        )
    return 0


def register(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the ``demo`` command to the parser."""
    demo = commands.add_parser(
        "demo",
        help="route a built-in mixed workload and show what each request cost",
        description="Route a built-in workload (translation, extraction, summaries, a proof, "
        "debugging, a three-tool agent task) and show each decision and its exact cost, "
        "then the totals against sending everything to Pro.",
    )
    add_backend_flags(demo)
    demo.add_argument("--log", metavar="FILE", help="append one JSON line per model call")
    add_config_flag(demo, "router settings")
    demo.set_defaults(handler=_cmd_demo)
