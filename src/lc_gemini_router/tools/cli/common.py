"""What the commands share: the user-mistake error, config and backend flags, tables."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from lc_gemini_router.config import RouterConfig
from lc_gemini_router.errors import GeminiRouterError
from lc_gemini_router.pricing.catalog import default_catalog
from lc_gemini_router.routing.policy import RouteDecision

if TYPE_CHECKING:
    from rich.table import Table
    from rich.text import Text

PROG = "lc-gemini-router"
_MIN_TEXT_WIDTH = 4


class CliError(GeminiRouterError):
    """A user mistake, or a command that must stop: one line on stderr, exit ``code``
    (2 unless told)."""

    def __init__(self, message: str, code: int = 2) -> None:
        super().__init__(message)
        self.code = code


# -- formatting ---------------------------------------------------------------------------


def thousands(count: int) -> str:
    return f"{count:,}"


def load_config(path: str | None) -> RouterConfig | None:
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


def live_flag(args: argparse.Namespace) -> bool | None:
    if args.live:
        return True
    if args.simulated:
        return False
    return None


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


def make_table(
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


def token_count(text: str) -> int:
    try:
        value = int(text.replace(",", "").replace("_", ""))
    except ValueError:
        value = -1
    if value < 0:
        msg = f"expected a token count (a whole number >= 0), got {text!r}"
        raise argparse.ArgumentTypeError(msg)
    return value


def fail(message: str, code: int = 2) -> int:
    # One line, whatever the message holds: scripts grep stderr.
    print(f"{PROG}: error: {' '.join(message.split())}", file=sys.stderr)
    return code


def add_config_flag(parser: argparse.ArgumentParser, what: str) -> None:
    parser.add_argument(
        "--config",
        metavar="FILE.toml",
        help=f"{what} (TOML; a pyproject.toml is read from [tool.lc_gemini_router])",
    )


def add_backend_flags(parser: argparse.ArgumentParser) -> None:
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
