"""The ``lc-gemini-router`` command: demo, decisions, prices, thresholds and reports.

Commands::

    lc-gemini-router demo [--live | --simulated] [--log FILE] [--config FILE.toml]
    lc-gemini-router route "PROMPT" [--tools N] [--answer] [--config FILE]
                           [--live | --simulated]
    lc-gemini-router price MODEL --input N --output N [--cached N] [--thinking N]
                           [--batch | --tier TIER] [--images SIZE:COUNT ...]
    lc-gemini-router models
    lc-gemini-router doctor [--config FILE] [--live | --simulated]
    lc-gemini-router calibrate SAMPLE.jsonl (--target-pro-share S | --budget-per-1k-requests USD)
                               [--out FILE.toml] [--config FILE] [--live | --simulated]
    lc-gemini-router eval DATASET [--format F] [--scorer S] [--png FILE | --no-png]
                          [--json FILE] [--config FILE]
    lc-gemini-router report COSTLOG.jsonl [--out DIR] [--bucket N|30m|6h|1d]

Without ``GOOGLE_API_KEY`` (or ``GEMINI_API_KEY``) ``demo`` and ``route`` run against
an embedded loopback simulator, and say so. User mistakes end with exit code 2 and
one line on stderr; a lane that fails for good ends with exit code 1.

The output uses rich (the ``cli`` extra), imported only when a command runs.

Example:
    >>> from lc_gemini_router.tools.cli import main
    >>> main(["price", "gemini-3.1-flash-lite", "--input", "500", "--output", "100"])
    ... # doctest: +SKIP
    0
"""

from __future__ import annotations

import argparse
import os
import sys
import warnings
from collections.abc import Callable, Sequence
from decimal import Decimal
from pathlib import Path
from typing import IO, TYPE_CHECKING

from lc_gemini_router.callbacks.handler import get_gemini_cost_callback
from lc_gemini_router.config import RouterConfig
from lc_gemini_router.errors import (
    ConfigError,
    GeminiRouterError,
    GeminiRouterWarning,
    LaneError,
)
from lc_gemini_router.keys import ROLE_ANSWER, ROLE_CLASSIFIER, ROUTER_METADATA_KEY
from lc_gemini_router.pricing.catalog import (
    SERVICE_TIERS,
    ModelPrice,
    Rates,
    ServiceTier,
    default_catalog,
)
from lc_gemini_router.routing.policy import RouteDecision
from lc_gemini_router.tools.formatting import share_of, usd

if TYPE_CHECKING:
    from langchain_core.messages import AIMessage
    from rich.console import Console
    from rich.table import Table
    from rich.text import Text

    from lc_gemini_router.callbacks.handler import GeminiCostCallbackHandler
    from lc_gemini_router.router import GeminiRouter
    from lc_gemini_router.tools.demo import DemoResult

__all__ = ["CliError", "backend_problem", "main", "route_decision", "usd"]

PROG = "lc-gemini-router"
_IMAGE_SIZES = ("512", "1K", "2K", "4K")
_PER_MILLION = Decimal(1_000_000)
# Without a terminal rich assumes 80 columns: too narrow for the demo's tables.
_PIPE_WIDTH = 180
_MIN_TEXT_WIDTH = 4


class CliError(GeminiRouterError):
    """A user mistake: reported as one line on stderr with exit code 2."""


# -- formatting ---------------------------------------------------------------------------


def _tokens(count: int) -> str:
    return f"{count:,}"


# -- shared helpers -----------------------------------------------------------------------


def _load_config(path: str | None) -> RouterConfig | None:
    """The router config from a TOML file (``[tool.lc_gemini_router]`` in a pyproject)."""
    if path is None:
        return None
    table = "tool.lc_gemini_router" if Path(path).name == "pyproject.toml" else None
    config = RouterConfig.from_toml(path, table=table)
    # Fail on a shut-down model ID now, before any output, not when the router is built.
    catalog = default_catalog()
    for model in sorted({*config.lanes.values(), config.classifier.model}):
        catalog.ensure_servable(model)
    return config


def _live_flag(args: argparse.Namespace) -> bool | None:
    if args.live:
        return True
    if args.simulated:
        return False
    return None


def _tool_names(count: int) -> tuple[str, ...]:
    """Names for ``route --tools N``: the demo's tools first, then numbered ones."""
    from lc_gemini_router.tools.demo import DEMO_TOOLS

    names = [t.name for t in DEMO_TOOLS][:count]
    return (*names, *(f"tool_{i}" for i in range(len(names) + 1, count + 1)))


def backend_problem(decision: RouteDecision) -> str | None:
    """Why a call did not go where it was routed (a lane or the classifier failed), or None.

    ``route`` and ``demo`` exit with code 1 on such a call: a backend that fails
    (a 404 from a wrong API version, a bad key) must not pass for a routing choice.
    """
    if decision.fallback_from is not None:
        prefix = f"lane {decision.fallback_from} failed"
        failed = next((r for r in decision.reasons if r.startswith(prefix)), prefix)
        return f"{failed} (answered on lane {decision.lane!r} instead)"
    if decision.classifier_error is not None:
        return (
            f"the classifier failed: {decision.classifier_error} (the request went to "
            f"its fallback lane {decision.lane!r})"
        )
    return None


def route_decision(
    router: GeminiRouter, prompt: str, tool_names: Sequence[str] = ()
) -> tuple[RouteDecision, Decimal]:
    """Decide where one prompt would go, without answering it.

    Applies the router's rules and, when they leave the prompt open, calls its
    classifier, as the router does before an answer.

    Returns:
        The decision and the exact cost of the classifier call ($0 without one).
    """
    with get_gemini_cost_callback() as cb:
        decision = router.route(prompt, tools=tool_names)
    return decision, cb.total_cost


# -- demo ---------------------------------------------------------------------------------


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


def _table(
    title: str | None,
    columns: Sequence[tuple[str, bool]],
    rows: Sequence[Sequence[str | Text]],
    *,
    total: Sequence[str | Text] | None = None,
    show_header: bool = True,
) -> Table:
    """A table whose numeric columns are never cut: money must stay exact on screen.

    Print it with ``crop=False``: on a terminal too narrow for its minimum width the
    lines then wrap instead of losing their right-hand columns.

    Args:
        title: Shown above the table.
        columns: ``(header, numeric)`` pairs; numeric columns are right-aligned and
            as wide as their widest cell, text columns fold when space runs out.
        rows: The cells; plain strings are not parsed as rich markup.
        total: A last row, set apart by a rule and in bold.
        show_header: Whether to print the headers.
    """
    from rich.table import Table
    from rich.text import Text

    table = Table(title=title, title_justify="left", show_header=show_header)
    every = [*rows, total] if total is not None else list(rows)
    for index, (header, numeric) in enumerate(columns):
        widest = max([len(header), *(len(str(row[index])) for row in every)])
        if numeric:
            table.add_column(header, justify="right", no_wrap=True, min_width=widest)
        else:
            # Narrow terminals fold text, but never to a letter per line.
            table.add_column(header, overflow="fold", min_width=min(widest, _MIN_TEXT_WIDTH))
    for row in rows:
        table.add_row(*(Text(c) if isinstance(c, str) else c for c in row))
    if total is not None:
        table.add_section()
        table.add_row(*(Text(c) if isinstance(c, str) else c for c in total), style="bold")
    return table


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
            _tokens(r.input_tokens),
            _tokens(r.output_tokens),
            usd(r.cost),
            usd(r.classifier_cost),
        )
        for r in results
    ]
    columns = [(name, False) for name in ("task", "lane", "source", "score", "model")]
    columns += [(name, True) for name in ("steps", "in", "out", "answer cost", "classifier")]
    return _table("Requests (tokens and cost of the answer, all steps)", columns, rows)


def _totals_tables(cb: GeminiCostCallbackHandler) -> tuple[Table, Table]:
    model_rows = [
        (
            model,
            str(t.calls),
            _tokens(t.input_tokens),
            _tokens(t.output_tokens),
            _tokens(t.reasoning_tokens),
            usd(t.cost),
            share_of(t.cost, cb.total_cost),
        )
        for model, t in sorted(cb.by_model.items())
    ]
    headers = ("calls", "in", "out", "thinking", "cost", "share")
    by_model = _table(
        "Spend by model", [("model", False), *((h, True) for h in headers)], model_rows
    )
    roles = sorted(cb.by_role, key=lambda role: (role != ROLE_CLASSIFIER, role))
    role_rows = [
        (
            role,
            str(cb.by_role[role].calls),
            _tokens(cb.by_role[role].input_tokens),
            _tokens(cb.by_role[role].output_tokens),
            usd(cb.by_role[role].cost),
            share_of(cb.by_role[role].cost, cb.total_cost),
        )
        for role in roles
    ]
    total = ("total", str(cb.calls), _tokens(cb.input_tokens), _tokens(cb.output_tokens))
    by_role = _table(
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
    console.print(_table("Totals", columns, rows, show_header=False), crop=False)
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

    from lc_gemini_router.tools.demo import WORKLOAD, gemini_backend, run_workload

    config = _load_config(args.config)
    log = _open_log(args.log)
    try:
        with gemini_backend(live=_live_flag(args)) as backend:
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
        return _fail(
            f"{len(problems)} of {len(results)} requests were not answered as routed; "
            f"first, {name!r}: {first}",
            code=1,
        )
    return 0


# -- route --------------------------------------------------------------------------------


def _cmd_route(args: argparse.Namespace, console: Console) -> int:
    from rich.text import Text

    from lc_gemini_router.tools.demo import gemini_backend

    config = _load_config(args.config)
    names = _tool_names(args.tools)
    answer: AIMessage | None = None
    with gemini_backend(live=_live_flag(args)) as backend:
        router = backend.router(config)
        try:
            if args.answer:
                answer, classifier_cost = _route_and_answer(router, args.prompt, names)
                decision = RouteDecision.model_validate(
                    answer.response_metadata[ROUTER_METADATA_KEY]["decision"]
                )
            else:
                decision, classifier_cost = route_decision(router, args.prompt, names)
        finally:
            router.close()
    console.print(Text(backend.description, style="bold red" if backend.live else "green"))
    score = "-" if decision.score is None else f"{decision.score:.2f}"
    rows = [
        ("lane", decision.lane),
        ("model", decision.model),
        ("source", decision.source),
        ("score", score),
        ("category", decision.category or "-"),
        ("needs tools", "-" if decision.needs_tools is None else str(decision.needs_tools)),
        ("tools bound", f"{decision.tools} ({', '.join(names)})" if names else "0"),
        ("reasons", "; ".join(decision.reasons) or "-"),
        ("classifier cost", usd(classifier_cost)),
    ]
    if answer is not None:
        cost = answer.response_metadata[ROUTER_METADATA_KEY]["cost"]["total_cost"]
        rows += [
            ("fell back from", decision.fallback_from or "-"),
            ("answer cost", "unknown" if cost is None else usd(Decimal(cost))),
            ("answer", _clip(answer.text or str(answer.tool_calls), 200)),
        ]
    columns = [("", False), ("", False)]
    console.print(_table("Route decision", columns, rows, show_header=False), crop=False)
    problem = backend_problem(decision)
    return _fail(problem, code=1) if problem else 0


def _clip(text: str, limit: int) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[: limit - 3] + "..."


def _route_and_answer(
    router: GeminiRouter, prompt: str, tool_names: Sequence[str]
) -> tuple[AIMessage, Decimal]:
    """Answer one prompt through the router; the answer and its classifier's exact cost."""
    tools = [
        {"type": "function", "function": {"name": n, "parameters": {"type": "object"}}}
        for n in tool_names
    ]
    model = router.bind_tools(tools) if tools else router
    with get_gemini_cost_callback() as cb:
        answer = model.invoke(prompt)
    classifier = cb.by_role.get(ROLE_CLASSIFIER)
    return answer, classifier.cost if classifier else Decimal(0)


# -- price --------------------------------------------------------------------------------


def _image_spec(text: str) -> tuple[str, int]:
    """``SIZE[:COUNT]`` (``1K:2``) for ``--images``."""
    size, _, count_text = text.partition(":")
    size = size.strip().upper()
    if size not in _IMAGE_SIZES:
        msg = f"image size {size!r} is not one of {', '.join(_IMAGE_SIZES)}"
        raise argparse.ArgumentTypeError(msg)
    try:
        count = int(count_text) if count_text else 1
    except ValueError:
        count = 0
    if count < 1:
        msg = f"image count in {text!r} must be a positive integer"
        raise argparse.ArgumentTypeError(msg)
    return size, count


def _count(text: str) -> int:
    try:
        value = int(text.replace(",", "").replace("_", ""))
    except ValueError:
        value = -1
    if value < 0:
        msg = f"expected a token count (a whole number >= 0), got {text!r}"
        raise argparse.ArgumentTypeError(msg)
    return value


def _rates(entry: ModelPrice, tier: ServiceTier, long_context: bool) -> Rates:
    prices = entry.tier(tier)
    if prices is None:  # pragma: no cover - the call was priced, so the tier exists
        raise CliError(f"no {tier} price for model {entry.id!r}")
    return prices.long_context if long_context and prices.long_context else prices


def _cmd_price(args: argparse.Namespace, console: Console) -> int:
    from lc_gemini_router.pricing.costs import price_quietly

    catalog = default_catalog()
    entry = catalog.get(args.model, warn=False)
    if entry is None:
        msg = f"unknown model {args.model!r}: not in the price catalog; see `{PROG} models`"
        raise CliError(msg)
    catalog.ensure_servable(args.model)  # a shut-down ID raises, naming its replacement
    tier: ServiceTier = "batch" if args.batch else args.tier
    if args.cached > args.input:
        msg = "--cached counts part of --input (Gemini includes cached tokens in the prompt)"
        raise CliError(f"{msg}: {args.cached:,} > {args.input:,}")
    sizes = [size for size, count in args.images for _ in range(count)]
    if sizes and not entry.image_tokens:
        raise CliError(f"model {entry.id!r} does not generate images (no image price)")
    image_tokens = sum(entry.image_tokens[size] for size in sizes)
    # LangChain's usage counts thinking and image tokens as output: rebuild it so.
    usage = {
        "input_tokens": args.input,
        "output_tokens": args.output + args.thinking + image_tokens,
        "input_token_details": {"cache_read": args.cached},
        "output_token_details": {"reasoning": args.thinking},
    }
    cost, problems = price_quietly(entry.id, usage, service_tier=tier, images=sizes)
    if cost is None:
        raise CliError("; ".join(text for _, text in problems))
    for category, text in problems:
        warnings.warn(text, category, stacklevel=1)

    rates = _rates(entry, tier, cost.long_context)
    thinking_cost = args.thinking * rates.output / _PER_MILLION
    rows = [("input", _tokens(cost.input_tokens), str(rates.input), usd(cost.input_cost))]
    if cost.cached_tokens:
        cached = (_tokens(cost.cached_tokens), str(rates.cached_input), usd(cost.cached_input_cost))
        rows.append(("cached input", *cached))
    visible_cost = cost.output_cost - thinking_cost
    rows.append(("output", _tokens(args.output), str(rates.output), usd(visible_cost)))
    if args.thinking:
        thinking = (_tokens(args.thinking), str(rates.output), usd(thinking_cost))
        rows.append(("thinking (billed as output)", *thinking))
    if sizes:
        counts = ", ".join(f"{count} x {size}" for size, count in args.images)
        images = (_tokens(cost.image_tokens), str(rates.image_output), usd(cost.image_output_cost))
        rows.append((f"images ({counts})", *images))
    columns = [("part", False), ("tokens", True), ("USD per 1M", True), ("cost", True)]
    total = ("total", "", "", usd(cost.total))
    console.print(_table(f"{entry.id}, {tier} tier", columns, rows, total=total), crop=False)
    if cost.long_context:
        # The whole request moves to the higher band, not only the tokens above it.
        threshold = entry.long_context_threshold or 0
        console.print(f"Long-context rates: the prompt is over {threshold:,} tokens.")
    return 0


# -- models -------------------------------------------------------------------------------


def _notes(entry: ModelPrice) -> str:
    notes = []
    if entry.status == "shutdown":
        when = f" {entry.shutdown_on.isoformat()}" if entry.shutdown_on else ""
        notes.append(f"SHUT DOWN{when}: use {entry.replacement or 'another model'}")
    elif entry.status == "deprecated":
        notes.append(f"deprecated: use {entry.replacement or 'another model'}")
    long_context = entry.standard.long_context
    if long_context is not None and entry.long_context_threshold:
        notes.append(
            f"prompt > {entry.long_context_threshold // 1000}k: "
            f"{long_context.input} / {long_context.output}"
        )
    if entry.standard.image_output is not None:
        notes.append(f"image output {entry.standard.image_output}")
    if entry.aliases:
        notes.append(f"alias {', '.join(entry.aliases)}")
    return "; ".join(notes)


def _cmd_models(args: argparse.Namespace, console: Console) -> int:
    from rich.text import Text

    from lc_gemini_router.api_versions import lane_api_version, sdk_default_api_version, served_on

    catalog = default_catalog()
    styles = {"shutdown": "bold red", "deprecated": "yellow"}
    chosen = lane_api_version(None)
    rows = [
        (
            Text(entry.id, style=styles.get(entry.status, "")),
            Text(entry.status, style=styles.get(entry.status, "")),
            chosen.version if served_on(entry.id, "v1") else f"{chosen.version} (not v1)",
            str(entry.standard.input),
            str(entry.standard.output),
            str(entry.standard.cached_input),
            f"{entry.batch.input} / {entry.batch.output}" if entry.batch else "-",
            entry.as_of.isoformat(),
            _notes(entry),
        )
        for entry in catalog
    ]
    columns = [("model ID", False), ("status", False), ("API", False)]
    columns += [(name, True) for name in ("input", "output", "cached", "batch", "as of")]
    title = "Gemini price catalog: USD per 1M tokens, standard tier (batch: input / output)"
    console.print(_table(title, [*columns, ("notes", False)], rows), crop=False)
    as_of = catalog.as_of.isoformat() if catalog.as_of else "unknown"
    console.print(
        f"Catalog as of {as_of}. Thinking tokens are billed as output. "
        f"Price a call: {PROG} price MODEL --input N --output N",
        markup=False,
    )
    sdk = sdk_default_api_version()
    console.print(
        f"API: the Gemini API version of the lanes the router builds ({chosen.source}; "
        f"set api_version= or GOOGLE_GENAI_API_VERSION to change it). The {sdk.source} "
        f"is {sdk.version}; 'not v1' models answer 404 on v1. Check every lane: {PROG} doctor",
        markup=False,
    )
    return 0


# -- doctor -------------------------------------------------------------------------------


def _cmd_doctor(args: argparse.Namespace, console: Console) -> int:
    from rich.text import Text

    from lc_gemini_router.api_versions import sdk_default_api_version
    from lc_gemini_router.tools.demo import gemini_backend
    from lc_gemini_router.tools.doctor import check_lanes, installed_versions

    config = _load_config(args.config)
    with gemini_backend(live=_live_flag(args)) as backend:
        console.print(Text(backend.description, style="bold red" if backend.live else "green"))
        router = backend.router(config)
        try:
            checks = check_lanes(router)
        finally:
            router.close()
    versions = [(name, version) for name, version in installed_versions().items()]
    sdk = sdk_default_api_version()
    versions.append(("SDK default API version", sdk.version))
    console.print(_table("Installed", [("", False), ("", False)], versions, show_header=False))
    rows = [
        (
            check.lane,
            check.model,
            check.api_version or "-",
            check.api_version_source or "-",
            check.lifecycle,
            "-" if check.latency_s is None else f"{check.latency_s * 1000:,.0f} ms",
            _tokens(check.input_tokens),
            _tokens(check.output_tokens),
            "unknown" if check.cost is None else usd(check.cost),
            Text("ok", style="green") if check.ok else Text("FAILED", style="bold red"),
        )
        for check in checks
    ]
    columns = [(name, False) for name in ("lane", "model", "API", "from", "lifecycle")]
    columns += [(name, True) for name in ("latency", "input", "output", "cost")]
    title = "One tiny request per lane"
    console.print(_table(title, [*columns, ("", False)], rows), crop=False)
    failed = [check for check in checks if not check.ok]
    if failed:
        lanes = "; ".join(
            f"lane {c.lane!r} ({c.model} on {c.api_version or 'its own API version'}): {c.error}"
            for c in failed
        )
        return _fail(f"{len(failed)} of {len(checks)} lanes failed: {lanes}", code=1)
    total = sum((c.cost for c in checks if c.cost is not None), Decimal(0))
    console.print(f"Every lane answered; the checks cost {usd(total)}.", markup=False)
    return 0


# -- parser and entry point ---------------------------------------------------------------


# -- calibrate ----------------------------------------------------------------------------

if TYPE_CHECKING:
    from lc_gemini_router.tools.calibration import Calibration


def _calibration_target(args: argparse.Namespace) -> tuple[float | None, Decimal | None]:
    """The one target of ``calibrate``: a Pro share (``0.2`` or ``20%``) or a budget."""
    share_text: str | None = args.target_pro_share
    budget_text: str | None = args.budget_per_1k_requests
    if (share_text is None) == (budget_text is None):
        msg = "give one target: --target-pro-share SHARE or --budget-per-1k-requests USD"
        raise CliError(msg)
    if share_text is not None:
        raw = share_text.strip()
        try:
            share = float(raw[:-1]) / 100 if raw.endswith("%") else float(raw)
        except ValueError:
            share = -1.0
        if not 0 <= share <= 1:
            msg = f"--target-pro-share must be a share from 0 to 1 (or 0% to 100%), got {raw!r}"
            raise CliError(msg)
        return share, None
    raw = (budget_text or "").strip()
    try:
        budget = Decimal(raw.removeprefix("$").replace(",", ""))
    except ArithmeticError:
        budget = Decimal(-1)
    if not budget.is_finite() or budget < 0:
        msg = f"--budget-per-1k-requests must be an amount in USD >= 0, got {raw!r}"
        raise CliError(msg)
    return None, budget


def _per_1k(amount: Decimal | None) -> str:
    """Dollars per 1,000 requests, to a millionth of a dollar."""
    return "unknown" if amount is None else usd(amount.quantize(Decimal("0.000001")))


def _threshold_text(threshold: float) -> str:
    """A threshold as written to the config, or to 4 decimals when that is long."""
    text = repr(threshold)
    return text if len(text) <= 6 else f"{threshold:.4f}"


def _calibration_table(calibration: Calibration) -> Table:
    from rich.text import Text

    from lc_gemini_router.tools.calibration import pro_requests

    rows = []
    for point in calibration.rows:
        chosen = point == calibration.chosen
        all_pro = (
            None if point.all_pro_spend is None else point.all_pro_spend * 1000 / point.requests
        )
        savings = point.savings_share
        cells = (
            "chosen" if chosen else "",
            _threshold_text(point.threshold),
            f"{point.pro_share:.1%}",
            f"{pro_requests(point):,} of {point.requests:,}",
            _per_1k(point.spend_per_1k),
            _per_1k(all_pro),
            "-" if savings is None else f"{savings:.1%}",
        )
        rows.append(tuple(Text(c, style="bold" if chosen else "") for c in cells))
    headers = (
        "threshold",
        "Pro share",
        "on Pro",
        "spend per 1k requests",
        "all-Pro per 1k",
        "savings vs all-Pro",
    )
    columns = [("", False), *((name, True) for name in headers)]
    return _table(f"Escalation thresholds (target: {calibration.target})", columns, rows)


def _cmd_calibrate(args: argparse.Namespace, console: Console) -> int:
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn
    from rich.text import Text

    from lc_gemini_router.routing.thresholds import ScoredRequest
    from lc_gemini_router.tools.calibration import (
        calibrate,
        pro_requests,
        read_sample,
        score_sample,
        write_config,
    )
    from lc_gemini_router.tools.demo import API_KEY_VARIABLES, gemini_backend

    share, budget = _calibration_target(args)
    start = _load_config(args.config) or RouterConfig()
    sample = read_sample(args.sample, config=start)
    pending = sample.pending
    scored: list[ScoredRequest] = []
    if pending:
        live = _live_flag(args)
        if live is None and not any(os.environ.get(name) for name in API_KEY_VARIABLES):
            msg = (
                f"{len(pending):,} requests in {args.sample} have no score (first: "
                f"{pending[0].where}): set GOOGLE_API_KEY to score them with Gemini's "
                "classifier, pass --simulated to score them with the offline simulator, "
                'or add "score" to each line'
            )
            raise CliError(msg)
        with gemini_backend(live=live) as backend:
            style = "bold red" if backend.live else "green"
            console.print(Text(backend.description, style=style))
            router = backend.router(start)
            columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn())
            try:
                with (
                    get_gemini_cost_callback() as cb,
                    Progress(
                        *columns,
                        console=console,
                        transient=True,
                        disable=not console.is_terminal,
                    ) as progress,
                ):
                    bar = progress.add_task("scoring", total=len(pending))
                    scored = score_sample(
                        pending, router, on_scored=lambda _: progress.update(bar, advance=1)
                    )
            finally:
                router.close()
        if all(r.score is None and r.rule_lane is None for r in scored):
            hint = " (is the API key valid?)" if backend.live else ""
            msg = (
                f"the classifier scored none of the {len(pending):,} requests "
                f"it was asked to score{hint}"
            )
            raise CliError(msg)
        console.print(
            f"Scored {len(pending):,} requests: {cb.calls:,} classifier calls, "
            f"{usd(cb.total_cost)}",
            markup=False,
        )
    requests = sample.with_scores(scored)
    calibration = calibrate(requests, target_pro_share=share, budget_per_1k=budget, config=start)
    chosen = calibration.chosen
    threshold = calibration.config.escalation_threshold
    header = (
        f"Written by `{PROG} calibrate` from {args.sample} "
        f"({chosen.requests:,} requests, {sample.format}).\n"
        f"Target {calibration.target}: escalation_threshold {threshold!r} gives a Pro share "
        f"of {chosen.pro_share:.1%} and {_per_1k(chosen.spend_per_1k)} per 1,000 requests "
        "on that sample.\nEvery setting is written: RouterConfig.from_toml loads this file."
    )
    write_config(calibration.config, args.out, header=header)

    ruled = sum(1 for r in requests if r.rule_lane is not None)
    unscored = sum(1 for r in requests if r.rule_lane is None and r.score is None)
    kind = "a cost log" if sample.format == "cost-log" else "request lines"
    console.print(
        f"Sample {args.sample} ({kind}): {len(requests):,} requests, {ruled:,} decided by "
        f"rules, {len(requests) - ruled - unscored:,} by their classifier score, "
        f"{unscored:,} without a score (fallback lane)",
        markup=False,
    )
    console.print(_calibration_table(calibration), crop=False)
    expected = (
        f"Expected: Pro share {chosen.pro_share:.1%} ({pro_requests(chosen):,} of "
        f"{chosen.requests:,} requests), {_per_1k(chosen.spend_per_1k)} per 1,000 requests"
    )
    savings = chosen.savings_share
    if chosen.all_pro_spend is not None and chosen.spend_per_1k is not None and savings is not None:
        all_pro_1k = chosen.all_pro_spend * 1000 / chosen.requests
        expected += (
            f", saving {savings:.1%} ({_per_1k(all_pro_1k - chosen.spend_per_1k)} per 1,000) "
            f"against all-Pro ({_per_1k(all_pro_1k)} per 1,000)"
        )
    console.print(
        f"Chosen escalation_threshold = {threshold!r} (was {start.escalation_threshold!r})",
        style="bold",
        markup=False,
    )
    console.print(expected, markup=False)
    console.print(
        f"Wrote {args.out}: the full router config; use it with --config {args.out} "
        "or RouterConfig.from_toml.",
        markup=False,
    )
    if not calibration.reached:
        console.print(
            f"The target is out of reach on this sample: {chosen.pro_share:.1%} is the "
            "closest Pro share any threshold gives (rules fix the lane of some requests).",
            style="yellow",
            markup=False,
        )
    if not calibration.threshold_matters:
        console.print(
            "No threshold changes a decision on this sample: no request is routed by a score.",
            style="yellow",
            markup=False,
        )
    if sample.format == "cost-log":
        basis = "each request's logged tokens, replayed on Flash-Lite and on Pro"
    else:
        basis = (
            "tokens estimated from each request's text (about 4 characters per token) "
            "and its output_tokens"
        )
    console.print(
        f"Spend uses {basis}, classifier calls included. A request moved to Pro would "
        "also think on Pro: spend with more Pro is a lower bound.",
        style="dim",
        markup=False,
    )
    for note in sample.notes:
        console.print(f"Note: {note}", style="yellow", markup=False)
    return 0


# -- eval ---------------------------------------------------------------------------------

if TYPE_CHECKING:
    from fractions import Fraction

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
    console.print(_table(title, columns, _eval_rows(result)), crop=False)
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
    from lc_gemini_router.tools.demo import API_KEY_VARIABLES

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
    config = _load_config(args.config) or RouterConfig()
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


# -- report -------------------------------------------------------------------------------

if TYPE_CHECKING:
    from datetime import timedelta


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


def _add_config_flag(parser: argparse.ArgumentParser, what: str) -> None:
    parser.add_argument(
        "--config",
        metavar="FILE.toml",
        help=f"{what} (TOML; a pyproject.toml is read from [tool.lc_gemini_router])",
    )


def _add_backend_flags(parser: argparse.ArgumentParser) -> None:
    group = parser.add_mutually_exclusive_group()
    group.add_argument(
        "--live",
        action="store_true",
        help="call the real Gemini API (needs GOOGLE_API_KEY or GEMINI_API_KEY)",
    )
    group.add_argument(
        "--simulated",
        action="store_true",
        help="use the embedded loopback simulator, even when an API key is set",
    )


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog=PROG,
        description="Route LangChain calls between Gemini Flash-Lite and Pro, priced exactly.",
        epilog="Without an API key, demo and route run on a local simulator and say so.",
    )
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    demo = commands.add_parser(
        "demo",
        help="route a built-in mixed workload and show what each request cost",
        description="Route a built-in workload (translation, extraction, summaries, a proof, "
        "debugging, a three-tool agent task) and show each decision and its exact cost, "
        "then the totals against sending everything to Pro.",
    )
    _add_backend_flags(demo)
    demo.add_argument("--log", metavar="FILE", help="append one JSON line per model call")
    _add_config_flag(demo, "router settings")
    demo.set_defaults(handler=_cmd_demo)

    route = commands.add_parser(
        "route",
        help="show where one prompt would go, and why (--answer: and answer it)",
        description="Decide the lane of one prompt: the rules, then the Flash-Lite "
        "classifier when the rules leave it open. The prompt is answered only with "
        "--answer. Exits 1 when the classifier or the chosen lane failed.",
    )
    route.add_argument("prompt", metavar="PROMPT", help="the user message to route")
    route.add_argument(
        "--tools",
        type=_count,
        default=0,
        metavar="N",
        help="route as if N tools were bound (default 0)",
    )
    route.add_argument(
        "--answer",
        action="store_true",
        help="also answer the prompt on the chosen lane (shows a lane that fails and the "
        "fallback that answered)",
    )
    _add_config_flag(route, "router settings")
    _add_backend_flags(route)
    route.set_defaults(handler=_cmd_route)

    price = commands.add_parser(
        "price",
        help="price a call from its token counts",
        description="Price one call exactly. --input counts every prompt token, cached ones "
        "included (as Gemini reports them); --output counts visible output tokens only: "
        "--thinking tokens are added to them, as Gemini bills thinking as output, and "
        "--images add each image's output tokens at the image rate.",
    )
    price.add_argument("model", metavar="MODEL", help="model ID, e.g. gemini-3.1-flash-lite")
    price.add_argument(
        "--input", type=_count, required=True, metavar="N", help="prompt tokens, cached included"
    )
    price.add_argument(
        "--output",
        type=_count,
        required=True,
        metavar="N",
        help="visible output tokens (thinking and images excluded)",
    )
    price.add_argument(
        "--cached", type=_count, default=0, metavar="N", help="the part of --input read from cache"
    )
    price.add_argument(
        "--thinking", type=_count, default=0, metavar="N", help="thinking tokens (billed as output)"
    )
    tiers = price.add_mutually_exclusive_group()
    tiers.add_argument(
        "--batch", action="store_true", help="Batch API prices (same as --tier batch)"
    )
    tiers.add_argument(
        "--tier", choices=SERVICE_TIERS, default="standard", help="service tier (default standard)"
    )
    price.add_argument(
        "--images",
        type=_image_spec,
        nargs="+",
        action="extend",
        default=[],
        metavar="SIZE:COUNT",
        help=f"generated images, e.g. 1K:2 ({', '.join(_IMAGE_SIZES)})",
    )
    price.set_defaults(handler=_cmd_price)

    models = commands.add_parser(
        "models",
        help="list the price catalog, with deprecated and shut-down model IDs",
        description="List every model of the packaged price catalog: status, prices per 1M "
        "tokens, and the replacement of deprecated and shut-down IDs.",
    )
    models.set_defaults(handler=_cmd_models)

    doctor = commands.add_parser(
        "doctor",
        help="send one tiny request per lane; show versions, API versions, latency, cost",
        description="Send one short prompt to the classifier and to every lane (live with "
        "an API key, else on the simulator) and show, per lane, the model, the Gemini API "
        "version and where it came from, lifecycle, latency, tokens and exact cost, with "
        "the installed google-genai and langchain-google-genai. Exits 1 naming each lane "
        "that fails.",
    )
    _add_config_flag(doctor, "router settings")
    _add_backend_flags(doctor)
    doctor.set_defaults(handler=_cmd_doctor)

    calibrate_parser = commands.add_parser(
        "calibrate",
        help="pick the escalation threshold from a sample of requests and write a config",
        description="Replay a sample of requests at every escalation threshold and write "
        "the router config with the one that meets a target: a share of requests on Pro, "
        "or a budget per 1,000 requests. The sample is a cost log (demo --log, or "
        "GeminiCostCallbackHandler(log=...)), whose recorded scores are reused, or JSON "
        'lines of requests ({"id": ..., "prompt": ...}, optionally with a "score"); '
        "requests without a score are scored with the classifier: live with an API key, "
        "or on the simulator with --simulated.",
    )
    calibrate_parser.add_argument(
        "sample", metavar="SAMPLE.jsonl", help="a cost log or request lines (JSON lines)"
    )
    calibrate_parser.add_argument(
        "--target-pro-share",
        metavar="SHARE",
        help="share of requests to answer on Pro: 0.2 or 20%%",
    )
    calibrate_parser.add_argument(
        "--budget-per-1k-requests",
        metavar="USD",
        help="spend per 1,000 requests, classifier included: the most Pro within it",
    )
    calibrate_parser.add_argument(
        "--out",
        metavar="FILE.toml",
        default="router.toml",
        help="where to write the router config (default router.toml; replaced)",
    )
    _add_config_flag(calibrate_parser, "start from these router settings")
    _add_backend_flags(calibrate_parser)
    calibrate_parser.set_defaults(handler=_cmd_calibrate)
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
    _add_config_flag(eval_parser, "the router settings replayed")
    eval_parser.set_defaults(handler=_cmd_eval)
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
    return parser


def _console() -> Console:
    from rich.console import Console

    console = Console(highlight=False)
    if not console.is_terminal and "COLUMNS" not in os.environ:
        console = Console(highlight=False, width=_PIPE_WIDTH)
    return console


def _fail(message: str, code: int = 2) -> int:
    # One line, whatever the message holds: scripts grep stderr.
    print(f"{PROG}: error: {' '.join(message.split())}", file=sys.stderr)
    return code


def main(argv: list[str] | None = None) -> int:
    """Run the ``lc-gemini-router`` command line.

    Args:
        argv: The arguments after the program name; ``sys.argv[1:]`` when None.

    Returns:
        The exit code: 0 on success, 2 for a user mistake (a bad flag, a missing
        API key, an unknown or shut-down model, an invalid config), 1 when a
        lane failed for good, 130 when interrupted.
    """
    parser = _parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # --help, or a usage error argparse already reported
        return exc.code if isinstance(exc.code, int) else 2
    try:
        import rich  # noqa: F401
    except ImportError:
        return _fail("the CLI needs rich: install lc-gemini-router[cli]")
    handler: Callable[[argparse.Namespace, Console], int] = args.handler
    with warnings.catch_warnings(record=True) as caught:
        # Lifecycle and price warnings become notes below, not Python warnings.
        warnings.simplefilter("always", GeminiRouterWarning)
        try:
            code = handler(args, _console())
        except (CliError, ConfigError) as exc:
            code = _fail(str(exc))
        except LaneError as exc:
            code = _fail(str(exc), code=1)
        except KeyboardInterrupt:
            code = _fail("interrupted", code=130)
    notes = dict.fromkeys(
        str(w.message) for w in caught if issubclass(w.category, GeminiRouterWarning)
    )
    for note in notes:
        print(f"{PROG}: note: {note}", file=sys.stderr)
    return code
