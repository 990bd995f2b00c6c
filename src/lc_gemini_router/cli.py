"""The ``lc-gemini-router`` command: a routing demo, one-prompt decisions, prices.

Commands::

    lc-gemini-router demo [--live | --simulated] [--log FILE] [--config FILE.toml]
    lc-gemini-router route "PROMPT" [--tools N] [--config FILE] [--live | --simulated]
    lc-gemini-router price MODEL --input N --output N [--cached N] [--thinking N]
                           [--batch | --tier TIER] [--images SIZE:COUNT ...]
    lc-gemini-router models

Without ``GOOGLE_API_KEY`` (or ``GEMINI_API_KEY``) ``demo`` and ``route`` run against
an embedded loopback simulator, and say so. User mistakes end with exit code 2 and
one line on stderr; a lane that fails for good ends with exit code 1.

The output uses rich (the ``cli`` extra), imported only when a command runs.

Example:
    >>> from lc_gemini_router.cli import main
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
from typing import IO, TYPE_CHECKING, Any

from pydantic import ValidationError

from lc_gemini_router.callbacks import (
    ROLE_ANSWER,
    ROLE_CLASSIFIER,
    get_gemini_cost_callback,
)
from lc_gemini_router.config import RouterConfig
from lc_gemini_router.errors import ConfigError, GeminiRouterWarning, LaneError
from lc_gemini_router.pricing import (
    SERVICE_TIERS,
    ModelPrice,
    Rates,
    ServiceTier,
    default_catalog,
)

if TYPE_CHECKING:
    from rich.console import Console
    from rich.table import Table
    from rich.text import Text

    from lc_gemini_router.callbacks import GeminiCostCallbackHandler
    from lc_gemini_router.demo import DemoResult
    from lc_gemini_router.policy import RouteDecision
    from lc_gemini_router.router import GeminiRouter

__all__ = ["CliError", "main", "route_decision", "usd"]

PROG = "lc-gemini-router"
_IMAGE_SIZES = ("512", "1K", "2K", "4K")
_PER_MILLION = Decimal(1_000_000)
# Without a terminal rich assumes 80 columns: too narrow for the demo's tables.
_PIPE_WIDTH = 160
_MIN_TEXT_WIDTH = 4


class CliError(Exception):
    """A user mistake: reported as one line on stderr with exit code 2."""


# -- formatting ---------------------------------------------------------------------------


def usd(amount: Decimal | None) -> str:
    """Exact dollars in plain notation (``$0.000275``); ``unknown`` for None."""
    if amount is None:
        return "unknown"
    if amount == 0:
        return "$0"
    return f"${amount.normalize():f}"


def _percent(part: Decimal, whole: Decimal) -> str:
    if whole == 0:
        return "-"
    return f"{(part * 100 / whole).quantize(Decimal('0.1'))}%"


def _tokens(count: int) -> str:
    return f"{count:,}"


# -- shared helpers -----------------------------------------------------------------------


def _load_config(path: str | None) -> RouterConfig | None:
    """The router config from a TOML file (``[tool.lc_gemini_router]`` in a pyproject)."""
    if path is None:
        return None
    table = "tool.lc_gemini_router" if Path(path).name == "pyproject.toml" else None
    try:
        config = RouterConfig.from_toml(path, table=table)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in error['loc']) or '(top level)'}: {error['msg']}"
            for error in exc.errors()
        )
        msg = f"invalid router config {path}: {problems}"
        raise CliError(msg) from exc
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
    from lc_gemini_router.demo import DEMO_TOOLS

    names = [t.name for t in DEMO_TOOLS][:count]
    return (*names, *(f"tool_{i}" for i in range(len(names) + 1, count + 1)))


def _placeholder_tool(name: str) -> dict[str, Any]:
    """A tool definition with only a name: routing counts and names tools, never runs them."""
    parameters = {"type": "object", "properties": {}}
    return {
        "type": "function",
        "function": {"name": name, "description": name, "parameters": parameters},
    }


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
        decision = router.route(prompt, tools=[_placeholder_tool(n) for n in tool_names])
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
            _percent(t.cost, cb.total_cost),
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
            _percent(cb.by_role[role].cost, cb.total_cost),
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
        ("savings", usd(savings), f"{_percent(savings, reference)} of the all-Pro reference"),
        (
            "classifier",
            usd(classifier_cost),
            f"{_percent(classifier_cost, cb.total_cost)} of spend",
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

    from lc_gemini_router.demo import WORKLOAD, gemini_backend, run_workload

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
    return 0


# -- route --------------------------------------------------------------------------------


def _cmd_route(args: argparse.Namespace, console: Console) -> int:
    from rich.text import Text

    from lc_gemini_router.demo import gemini_backend

    config = _load_config(args.config)
    names = _tool_names(args.tools)
    with gemini_backend(live=_live_flag(args)) as backend:
        router = backend.router(config)
        try:
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
    columns = [("", False), ("", False)]
    console.print(_table("Route decision", columns, rows, show_header=False), crop=False)
    return 0


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
    from lc_gemini_router.costs import price_quietly

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

    catalog = default_catalog()
    styles = {"shutdown": "bold red", "deprecated": "yellow"}
    rows = [
        (
            Text(entry.id, style=styles.get(entry.status, "")),
            Text(entry.status, style=styles.get(entry.status, "")),
            str(entry.standard.input),
            str(entry.standard.output),
            str(entry.standard.cached_input),
            f"{entry.batch.input} / {entry.batch.output}" if entry.batch else "-",
            entry.as_of.isoformat(),
            _notes(entry),
        )
        for entry in catalog
    ]
    columns = [("model ID", False), ("status", False)]
    columns += [(name, True) for name in ("input", "output", "cached", "batch", "as of")]
    title = "Gemini price catalog: USD per 1M tokens, standard tier (batch: input / output)"
    console.print(_table(title, [*columns, ("notes", False)], rows), crop=False)
    as_of = catalog.as_of.isoformat() if catalog.as_of else "unknown"
    console.print(
        f"Catalog as of {as_of}. Thinking tokens are billed as output. "
        f"Price a call: {PROG} price MODEL --input N --output N",
        markup=False,
    )
    return 0


# -- parser and entry point ---------------------------------------------------------------


# [calibrate command]

# [eval command]

# [report command]


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
    demo.add_argument(
        "--config",
        metavar="FILE.toml",
        help="router settings (a pyproject.toml is read from [tool.lc_gemini_router])",
    )
    demo.set_defaults(handler=_cmd_demo)

    route = commands.add_parser(
        "route",
        help="show where one prompt would go, and why (no answer is generated)",
        description="Decide the lane of one prompt: the rules, then the Flash-Lite "
        "classifier when the rules leave it open. The prompt is not answered.",
    )
    route.add_argument("prompt", metavar="PROMPT", help="the user message to route")
    route.add_argument(
        "--tools",
        type=_count,
        default=0,
        metavar="N",
        help="route as if N tools were bound (default 0)",
    )
    route.add_argument("--config", metavar="FILE", help="router settings (TOML)")
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

    # [calibrate parser]
    # [eval parser]
    # [report parser]
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
