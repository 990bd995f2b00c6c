"""Running the CLI in-process, for the command tests."""

from __future__ import annotations

import pytest

from lc_gemini_router.tools.cli import main

PREFIX = "lc-gemini-router: error: "


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    """Exit code, stdout and stderr of one command."""
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def one_line_error(err: str) -> str:
    """The single stderr line of a user mistake, without its prefix."""
    lines = err.splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith(PREFIX)
    return lines[0].removeprefix(PREFIX)


def error_line(err: str) -> str:
    """The error line of a backend failure, which may follow notes on stderr."""
    return next(line for line in err.splitlines() if line.startswith(PREFIX))
