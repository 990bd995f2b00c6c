"""The argument parser of every command, and the entry point that runs one."""

from __future__ import annotations

import argparse
import os
import sys
import warnings
from collections.abc import Callable
from typing import TYPE_CHECKING

import lc_gemini_router.tools.cli.batch as batch
import lc_gemini_router.tools.cli.calibrate as calibrate
import lc_gemini_router.tools.cli.demo as demo
import lc_gemini_router.tools.cli.doctor as doctor
import lc_gemini_router.tools.cli.evaluate as evaluate
import lc_gemini_router.tools.cli.prices as prices
import lc_gemini_router.tools.cli.report as report
import lc_gemini_router.tools.cli.route as route
from lc_gemini_router.errors import ConfigError, GeminiRouterWarning, LaneError
from lc_gemini_router.tools.cli.common import PROG, CliError, fail

if TYPE_CHECKING:
    from rich.console import Console


# Without a terminal rich assumes 80 columns: too narrow for the demo's tables.
_PIPE_WIDTH = 180


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog=PROG,
        description="Route LangChain calls between Gemini Flash-Lite and Pro, priced exactly.",
        epilog="Without an API key, demo, route and batch submit run on a local simulator "
        "and say so.",
    )
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for command in (demo, route, prices, doctor, calibrate, evaluate, report, batch):
        command.register(commands)
    return parser


def _console() -> Console:
    from rich.console import Console

    console = Console(highlight=False)
    if not console.is_terminal and "COLUMNS" not in os.environ:
        console = Console(highlight=False, width=_PIPE_WIDTH)
    return console


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
        return fail("the CLI needs rich: install lc-gemini-router[cli]")
    handler: Callable[[argparse.Namespace, Console], int] = args.handler
    with warnings.catch_warnings(record=True) as caught:
        # Lifecycle and price warnings become notes below, not Python warnings.
        warnings.simplefilter("always", GeminiRouterWarning)
        try:
            code = handler(args, _console())
        except CliError as exc:
            code = fail(str(exc), code=exc.code)
        except ConfigError as exc:
            code = fail(str(exc))
        except LaneError as exc:
            code = fail(str(exc), code=1)
        except KeyboardInterrupt:
            code = fail("interrupted", code=130)
    notes = dict.fromkeys(
        str(w.message) for w in caught if issubclass(w.category, GeminiRouterWarning)
    )
    for note in notes:
        print(f"{PROG}: note: {note}", file=sys.stderr)
    return code
