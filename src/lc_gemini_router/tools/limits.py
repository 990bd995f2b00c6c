"""What a value in a cost log or a sample may be: bounds that tell real data from a corrupt line.

A cost handler writes amounts, token counts, timestamps and scores that are never
negative, never infinite and never astronomically large. A value outside these
bounds is a corrupt or hand-made line: reports and calibration refuse it, naming
the line and the field, instead of summing it into every total (or failing later
with a traceback). Each check raises :class:`BadValue`, whose message names the key.

Example:
    >>> from lc_gemini_router.tools.limits import BadValue, amount, score
    >>> amount("0.000275", "cost"), score(0.4, "score")
    (Decimal('0.000275'), 0.4)
    >>> try:
    ...     amount("1e308", "cost")
    ... except BadValue as exc:
    ...     print(exc)
    'cost' is not an amount in USD from 0 to 1000000 (or null): '1e308'
"""

from __future__ import annotations

import math
from decimal import Decimal, InvalidOperation
from typing import Any

__all__ = [
    "MAX_COST",
    "MAX_TIMESTAMP",
    "MAX_TOKENS",
    "MAX_TOOLS",
    "MIN_COST_EXPONENT",
    "BadValue",
    "amount",
    "count",
    "score",
    "shown",
    "timestamp",
]

MAX_COST = Decimal(1_000_000)
"""USD one model call may cost at most: no real call comes near it."""
MIN_COST_EXPONENT = -18
"""Finest fraction of a dollar an amount may hold (1e-18): keeps every share computable."""
MAX_TOKENS = 1_000_000_000
"""Tokens one call may count at most (Gemini's context is a few million at most)."""
MAX_TOOLS = 10_000
"""Tools one request may bind, or tool rounds it may have run, at most."""
MAX_TIMESTAMP = 4_102_444_800
"""Latest timestamp a log may hold: 2100-01-01T00:00:00Z (the earliest is the epoch)."""


_SHOWN_CHARS = 40
"""A value quoted in a message is cut to this many characters: one line stays short."""


class BadValue(ValueError):
    """A value outside what a real cost log or sample holds; the message names its key."""


def shown(value: Any) -> str:
    """A value as a message quotes it: numbers as written in JSON, long ones cut."""
    text = str(value) if isinstance(value, Decimal) else repr(value)
    return text if len(text) <= _SHOWN_CHARS else text[: _SHOWN_CHARS - 3] + "..."


def _is_number(value: Any) -> bool:
    # bool is an int in Python; in JSON it is not a number.
    return isinstance(value, (int, float, Decimal)) and not isinstance(value, bool)


def _as_float(value: Any) -> float:
    """The number as a float: NaN for a non-number, infinite for one too large."""
    if not _is_number(value):
        return math.nan
    try:
        return float(value)
    except OverflowError:  # an int of hundreds of digits
        return math.inf


def _too_fine(value: Decimal) -> bool:
    exponent = value.as_tuple().exponent
    return value != 0 and isinstance(exponent, int) and exponent < MIN_COST_EXPONENT


def amount(value: Any, key: str) -> Decimal | None:
    """A USD amount: a JSON number or a decimal string, 0 to :data:`MAX_COST`; None stays None.

    Raises:
        BadValue: a negative, non-finite, too large or too finely divided amount,
            or a value that is not a number.
    """
    if value is None:
        return None
    parsed: Decimal | None = None
    if isinstance(value, str):
        try:
            parsed = Decimal(value.strip())
        except InvalidOperation:
            parsed = None
    elif _is_number(value):
        # Floats only come from code: JSON numbers are read as exact Decimals.
        parsed = Decimal(str(value)) if isinstance(value, float) else Decimal(value)
    if parsed is None or not parsed.is_finite() or not 0 <= parsed <= MAX_COST or _too_fine(parsed):
        msg = f"{key!r} is not an amount in USD from 0 to {MAX_COST} (or null): {shown(value)}"
        raise BadValue(msg)
    return parsed


def count(value: Any, key: str, limit: int = MAX_TOKENS) -> int:
    """A whole number from 0 to ``limit``.

    Raises:
        BadValue: anything else (a fraction, a negative number, a string, a bool).
    """
    if not isinstance(value, int) or isinstance(value, bool) or not 0 <= value <= limit:
        raise BadValue(f"{key!r} is not a whole number from 0 to {limit:,}: {shown(value)}")
    return value


def timestamp(value: Any, key: str = "ts") -> float:
    """Seconds since the epoch (UTC), from 0 to :data:`MAX_TIMESTAMP`.

    Raises:
        BadValue: not a number, not finite, before 1970 or from 2100 on.
    """
    seconds = _as_float(value)
    if not 0 <= seconds < MAX_TIMESTAMP:  # also False for NaN and infinities
        msg = f"{key!r} is not a time from 1970 to 2100 (seconds since the epoch): {shown(value)}"
        raise BadValue(msg)
    return seconds


def score(value: Any, key: str = "score") -> float | None:
    """A difficulty score from 0 to 1; None stays None.

    Raises:
        BadValue: not a number (a bool or a string included) or outside 0..1.
    """
    if value is None:
        return None
    number = _as_float(value)
    if not 0 <= number <= 1:
        raise BadValue(f"{key!r} is not a score from 0 to 1 (or null): {shown(value)}")
    return number
