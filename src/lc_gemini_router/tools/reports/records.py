"""Cost-log records: the JSON lines a cost handler writes, read into typed records."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timezone
from decimal import Decimal, InvalidOperation
from os import PathLike
from typing import Any

from lc_gemini_router.errors import ConfigError
from lc_gemini_router.keys import ROLE_ANSWER, ROLE_SPECULATIVE
from lc_gemini_router.tools.jsonl import read_json_lines

ESCALATED_LANES = frozenset({"pro", "pro_tools"})
"""Lanes that count as an escalation away from Flash-Lite."""
_REQUIRED = ("ts", "model", "role", "cost")
_TOKEN_KEYS = ("input_tokens", "cached_tokens", "output_tokens", "reasoning_tokens", "images")


@dataclass(frozen=True)
class LogRecord:
    """One line of a cost log: a priced (or unpriced) model call.

    Field names follow the JSON keys; ``ts`` is seconds since the epoch (UTC).
    """

    ts: float
    model: str
    role: str
    cost: Decimal | None = None
    """USD of the call; None when it could not be priced (unknown, not $0)."""
    reference_cost: Decimal | None = None
    """USD of the same usage on the reference model (answers only), else None."""
    run_id: str | None = None
    parent_run_id: str | None = None
    service_tier: str = "standard"
    input_tokens: int = 0
    """All input tokens, cached included."""
    cached_tokens: int = 0
    output_tokens: int = 0
    """All output tokens, thinking included."""
    reasoning_tokens: int = 0
    images: int = 0
    cost_breakdown: Mapping[str, Any] | None = None
    decision: Mapping[str, Any] | None = None
    """The router's decision (``lane``, ``model``, ``source``, ``score``, ...), or
    ``{"wasted": true, "estimated": ...}`` for cancelled speculative work, or None."""
    line: int = 0
    """Line number in the log file (1-based); 0 for a record built in code."""

    @property
    def priced(self) -> bool:
        return self.cost is not None

    @property
    def time(self) -> datetime:
        """``ts`` as an aware UTC datetime."""
        return datetime.fromtimestamp(self.ts, tz=timezone.utc)

    @property
    def reference_total(self) -> Decimal:
        """The reference cost, counted only when the call itself is priced (as the handler)."""
        if self.cost is None or self.reference_cost is None:
            return Decimal(0)
        return self.reference_cost

    @property
    def lane(self) -> str | None:
        """The lane the router chose, when the record carries a routing decision."""
        lane = self.decision.get("lane") if self.decision else None
        return lane if isinstance(lane, str) else None

    @property
    def source(self) -> str | None:
        """What decided the lane: ``rule``, ``classifier``, ``cache``, ``sticky``, ..."""
        source = self.decision.get("source") if self.decision else None
        return source if isinstance(source, str) else None

    @property
    def routed_answer(self) -> bool:
        """An answer whose decision names a lane."""
        return self.role == ROLE_ANSWER and self.lane is not None

    @property
    def escalated(self) -> bool:
        """A routed answer that went to ``pro`` or ``pro_tools``."""
        return self.routed_answer and self.lane in ESCALATED_LANES

    @property
    def wasted(self) -> bool:
        """Cancelled speculative work."""
        return self.role == ROLE_SPECULATIVE or bool(self.decision and self.decision.get("wasted"))

    @property
    def estimated(self) -> bool:
        """Wasted work whose usage was estimated from the prompt (the stream reported none)."""
        return self.wasted and bool(self.decision and self.decision.get("estimated"))


class _Malformed(Exception):
    pass


def _integer(data: Mapping[str, Any], key: str) -> int:
    value = data.get(key, 0)
    if value is None:
        return 0
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise _Malformed(f"{key!r} is not a whole number >= 0: {value!r}")
    return value


def _text(data: Mapping[str, Any], key: str, *, required: bool = False) -> str | None:
    value = data.get(key)
    if value is None and not required:
        return None
    if not isinstance(value, str) or (required and not value):
        raise _Malformed(f"{key!r} is not a non-empty string: {value!r}")
    return value


def _money(data: Mapping[str, Any], key: str) -> Decimal | None:
    value = data.get(key)
    if value is None:
        return None
    amount: Decimal | None = None
    if isinstance(value, str):
        try:
            amount = Decimal(value.strip())
        except InvalidOperation:
            amount = None
    elif isinstance(value, (int, Decimal)) and not isinstance(value, bool):
        # A JSON number, parsed exactly (floats are read as Decimal, never as binary).
        amount = Decimal(value)
    if amount is None or not amount.is_finite() or amount < 0:
        raise _Malformed(f"{key!r} is not a decimal amount >= 0 (or null): {value!r}")
    return amount


def _mapping(data: Mapping[str, Any], key: str) -> Mapping[str, Any] | None:
    value = data.get(key)
    if value is None:
        return None
    if not isinstance(value, dict):
        raise _Malformed(f"{key!r} is not a JSON object (or null): {value!r}")
    return value


def _record(data: dict[str, Any], line: int) -> LogRecord:
    missing = [key for key in _REQUIRED if key not in data]
    if missing:
        raise _Malformed(f"missing key {', '.join(repr(k) for k in missing)}")
    ts = data["ts"]
    if isinstance(ts, bool) or not isinstance(ts, (int, Decimal)):
        raise _Malformed(f"'ts' is not a number of seconds: {ts!r}")
    tokens = {key: _integer(data, key) for key in _TOKEN_KEYS}
    return LogRecord(
        ts=float(ts),
        model=_text(data, "model", required=True) or "",
        role=_text(data, "role", required=True) or "",
        cost=_money(data, "cost"),
        reference_cost=_money(data, "reference_cost"),
        run_id=_text(data, "run_id"),
        parent_run_id=_text(data, "parent_run_id"),
        service_tier=_text(data, "service_tier") or "standard",
        cost_breakdown=_mapping(data, "cost_breakdown"),
        decision=_mapping(data, "decision"),
        line=line,
        **tokens,
    )


def load_cost_log(path: str | PathLike[str]) -> list[LogRecord]:
    """Read a cost log: the JSON lines a cost handler writes with ``log=``.

    Blank lines are skipped and unknown keys ignored, so logs from newer versions
    still load. ``ts``, ``model``, ``role`` and ``cost`` are required (``cost`` may be
    null: the call is unpriced); every other key is optional.

    Args:
        path: The log file.

    Returns:
        The records in file order (possibly none, for an empty file).

    Raises:
        ConfigError: the file cannot be read, or a line is not a valid record; the
            message names ``file:line``.
    """
    records: list[LogRecord] = []
    for line in read_json_lines(path, what="cost log"):
        try:
            records.append(_record(line.data, line.number))
        except _Malformed as exc:
            msg = f"{line.where}: {exc}"
            raise ConfigError(msg) from None
    return records
