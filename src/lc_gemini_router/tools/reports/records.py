"""Cost-log records: the JSON lines a cost handler writes, read into typed records."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timezone
from decimal import Decimal
from os import PathLike
from typing import Any

from lc_gemini_router.errors import ConfigError
from lc_gemini_router.keys import ROLE_ANSWER, ROLE_SPECULATIVE
from lc_gemini_router.pricing.catalog import SERVICE_TIERS, ServiceTier
from lc_gemini_router.tools import limits
from lc_gemini_router.tools.jsonl import JsonLine, read_json_lines
from lc_gemini_router.tools.limits import MAX_TOKENS, MAX_TOOLS, BadValue, shown

ESCALATED_LANES = frozenset({"pro", "pro_tools"})
"""Lanes that count as an escalation away from Flash-Lite."""
_REQUIRED = ("ts", "model", "role", "cost")
_TOKEN_KEYS = (
    "input_tokens",
    "cached_tokens",
    "output_tokens",
    "reasoning_tokens",
    "images",
    "search_queries",
    "free_search_queries",
)


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
    service_tier: ServiceTier = "standard"
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
    router_run_id: str | None = None
    """The router run the call served: the answer's own ``run_id`` for a routed answer,
    the answer's for its classifier call (None outside a router, and in older logs)."""
    search_queries: int = 0
    """Google Search queries the call ran (grounding), billed or free."""
    free_search_queries: int = 0
    standard_cost: Decimal | None = None
    """A batch/flex/priority call priced at the standard tier (None: standard, or older logs)."""
    standard_reference_cost: Decimal | None = None

    @property
    def standard_total(self) -> Decimal:
        """The call at the standard tier, as the handler counts it."""
        if self.cost is None:
            return Decimal(0)
        return self.cost if self.standard_cost is None else self.standard_cost

    @property
    def standard_reference_total(self) -> Decimal:
        """The reference at the standard tier, as the handler counts it."""
        if self.cost is None or self.reference_cost is None:
            return Decimal(0)
        standard = self.standard_reference_cost
        return self.reference_cost if standard is None else standard

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


def _integer(data: Mapping[str, Any], key: str, limit: int = MAX_TOKENS) -> int:
    value = data.get(key)
    return 0 if value is None else limits.count(value, key, limit)


def _text(data: Mapping[str, Any], key: str, *, required: bool = False) -> str | None:
    value = data.get(key)
    if value is None and not required:
        return None
    if not isinstance(value, str) or (required and not value):
        raise BadValue(f"{key!r} is not a non-empty string: {shown(value)}")
    return value


def _mapping(data: Mapping[str, Any], key: str) -> Mapping[str, Any] | None:
    value = data.get(key)
    if value is None:
        return None
    if not isinstance(value, dict):
        raise BadValue(f"{key!r} is not a JSON object (or null): {shown(value)}")
    return value


def _tier(data: Mapping[str, Any]) -> ServiceTier:
    tier = data.get("service_tier")
    if tier is None:
        return "standard"
    for known in SERVICE_TIERS:
        if tier == known:
            return known
    msg = f"'service_tier' is not one of {', '.join(SERVICE_TIERS)}: {shown(tier)}"
    raise BadValue(msg)


def _decision(data: Mapping[str, Any]) -> Mapping[str, Any] | None:
    """The decision object, its routing fields checked (reports and calibration read them)."""
    decision = _mapping(data, "decision")
    if decision is None or "lane" not in decision:
        return decision  # no decision, or cancelled speculative work
    try:
        _text(decision, "lane", required=True)
        _text(decision, "source")
        limits.score(decision.get("score"))
        for key in ("tools", "tool_rounds"):
            _integer(decision, key, MAX_TOOLS)
    except BadValue as exc:
        raise BadValue(f"decision: {exc}") from None
    return decision


def _record(data: dict[str, Any], line: int) -> LogRecord:
    missing = [key for key in _REQUIRED if key not in data]
    if missing:
        raise BadValue(f"missing key {', '.join(repr(k) for k in missing)}")
    tokens = {key: _integer(data, key) for key in _TOKEN_KEYS}
    return LogRecord(
        ts=limits.timestamp(data["ts"]),
        model=_text(data, "model", required=True) or "",
        role=_text(data, "role", required=True) or "",
        cost=limits.amount(data["cost"], "cost"),
        reference_cost=limits.amount(data.get("reference_cost"), "reference_cost"),
        standard_cost=limits.amount(data.get("standard_cost"), "standard_cost"),
        standard_reference_cost=limits.amount(
            data.get("standard_reference_cost"), "standard_reference_cost"
        ),
        run_id=_text(data, "run_id"),
        parent_run_id=_text(data, "parent_run_id"),
        service_tier=_tier(data),
        cost_breakdown=_mapping(data, "cost_breakdown"),
        decision=_decision(data),
        line=line,
        router_run_id=_text(data, "router_run_id"),
        **tokens,
    )


def parse_record(line: JsonLine) -> LogRecord:
    """One cost-log line as a record (see :func:`load_cost_log` for what it may hold).

    Raises:
        ConfigError: a field is missing, of the wrong type or out of range; the
            message names ``file:line`` and the field.
    """
    try:
        return _record(line.data, line.number)
    except BadValue as exc:
        raise ConfigError(f"{line.where}: {exc}") from None


def load_cost_log(path: str | PathLike[str]) -> list[LogRecord]:
    """Read a cost log: the JSON lines a cost handler writes with ``log=``.

    Blank lines are skipped and unknown keys ignored, so logs from newer versions
    still load. ``ts``, ``model``, ``role`` and ``cost`` are required (``cost`` may be
    null: the call is unpriced); every other key is optional. Values a real log never
    holds are refused (:mod:`~lc_gemini_router.tools.limits`): amounts outside $0 to
    $1,000,000, token counts outside 0 to 1e9, times before 1970 or from 2100 on,
    decision scores outside 0 to 1, unknown service tiers.

    Args:
        path: The log file.

    Returns:
        The records in file order (possibly none, for an empty file).

    Raises:
        ConfigError: the file cannot be read, or a line is not a valid record; the
            message names ``file:line``.
    """
    return [parse_record(line) for line in read_json_lines(path, what="cost log")]
