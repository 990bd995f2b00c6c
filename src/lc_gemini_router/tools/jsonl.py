"""Reading JSON-lines files (cost logs, samples, datasets) with errors that name ``file:line``.

Example:
    >>> import tempfile, pathlib
    >>> from lc_gemini_router.tools.jsonl import read_json_lines
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "a.jsonl"
    >>> _ = path.write_text('{"cost": 0.1}\\n\\n{"cost": 2}\\n')
    >>> [(line.number, line.data) for line in read_json_lines(path)]
    [(1, {'cost': Decimal('0.1')}), (3, {'cost': 2})]
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from decimal import Decimal
from os import PathLike
from pathlib import Path
from typing import Any, NamedTuple

from lc_gemini_router.errors import ConfigError

__all__ = ["JsonLine", "JsonValue", "read_json_lines", "read_json_values"]


class JsonLine(NamedTuple):
    """One non-blank line of a JSON-lines file."""

    number: int
    where: str
    """``file:line``, for error messages."""
    data: dict[str, Any]


class JsonValue(NamedTuple):
    """One non-blank line of a JSON-lines file, whatever JSON value it holds."""

    number: int
    where: str
    """``file:line``, for error messages."""
    data: Any


def _reject_constant(name: str) -> Any:
    msg = f"{name} is not a number"
    raise ValueError(msg)


def read_json_lines(
    path: str | PathLike[str], *, what: str = "file", error: type[Exception] = ConfigError
) -> Iterator[JsonLine]:
    """Each non-blank line's JSON object, in file order.

    Numbers with a fraction are read as exact ``Decimal`` (money must never pass
    through a float); ``NaN`` and ``Infinity`` are refused.

    Args:
        path: the file.
        what: what the file is, for messages ("cost log", "sample", "dataset").
        error: the exception class to raise (``ConfigError`` by default).

    Raises:
        error: the file cannot be read, or a line is not UTF-8 or not a JSON object;
            a line's message names ``file:line``.
    """
    for number, where, row in read_json_values(path, what=what, error=error):
        if not isinstance(row, dict):
            msg = f"{where}: expected a JSON object, got {type(row).__name__}"
            raise error(msg)
        yield JsonLine(number, where, row)


def read_json_values(
    path: str | PathLike[str], *, what: str = "file", error: type[Exception] = ConfigError
) -> Iterator[JsonValue]:
    """Each non-blank line's JSON value (an object, a string, a number...), in file order.

    Read as :func:`read_json_lines` reads, without requiring an object.

    Raises:
        error: the file cannot be read, or a line is not UTF-8 or not JSON; a line's
            message names ``file:line``.
    """
    file = Path(path)
    try:
        with file.open("rb") as lines:
            for number, raw in enumerate(lines, start=1):
                where = f"{file}:{number}"
                try:
                    text = raw.decode("utf-8")
                except UnicodeDecodeError as exc:
                    msg = f"{where}: not UTF-8 text ({exc.reason})"
                    raise error(msg) from None
                if not text.strip():
                    continue
                try:
                    value = json.loads(text, parse_float=Decimal, parse_constant=_reject_constant)
                except ValueError as exc:  # JSONDecodeError, or a refused constant
                    detail = (
                        f"{exc.msg}, column {exc.colno}"
                        if isinstance(exc, json.JSONDecodeError)
                        else str(exc)
                    )
                    msg = f"{where}: not valid JSON ({detail})"
                    raise error(msg) from None
                except RecursionError:  # arrays in arrays, thousands deep
                    msg = f"{where}: not valid JSON (nested too deeply)"
                    raise error(msg) from None
                yield JsonValue(number, where, value)
    except OSError as exc:
        msg = f"cannot read {what} {file}: {exc.strerror or exc}"
        raise error(msg) from exc
