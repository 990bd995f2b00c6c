"""Reports from a cost log: where the money went, how often routing escalated, what it saved.

:func:`load_cost_log` reads the JSON lines that
:class:`~lc_gemini_router.GeminiCostCallbackHandler` writes with ``log=`` (one per
priced call, see :meth:`~lc_gemini_router.callbacks.handler.CallRecord.to_json`) into typed
:class:`LogRecord` objects, money as ``Decimal``. :func:`summarize` totals them exactly,
as the handler did while the calls ran: spend by model and by role, the all-Pro
reference and the savings against it, the classifier's share of spend, wasted
speculative work, decision sources and the escalation rate. :func:`escalation_series`
follows the escalation rate over time, and :func:`render_report` draws PNG plots
and an HTML page that shows them. The CLI's ``report`` command runs all of it.

Definitions:

- *Total spend* is the cost of every priced call: answers, classifier calls,
  cancelled speculative work. A call whose ``cost`` is null is *unpriced*: counted
  as a call, its cost unknown and left out of every sum (not counted as $0).
- The *all-Pro reference* sums ``reference_cost`` over the priced calls: the
  answers' own usage priced on the reference model (``gemini-3.1-pro-preview`` by
  default). An all-Pro setup runs no classifier and no speculation, so those calls
  have no reference. *Savings* are the reference minus the total spend.
- A *routed answer* is an ``answer`` record whose decision names a lane; it
  *escalated* when that lane is ``pro`` or ``pro_tools``.

Example:
    >>> from decimal import Decimal
    >>> from lc_gemini_router.tools.reports import LogRecord, summarize
    >>> records = [
    ...     LogRecord(ts=0.0, model="gemini-3.1-flash-lite", role="answer",
    ...               cost=Decimal("0.0001"), reference_cost=Decimal("0.0008"),
    ...               decision={"lane": "lite", "source": "rule"}),
    ...     LogRecord(ts=1.0, model="gemini-3.1-flash-lite", role="classifier",
    ...               cost=Decimal("0.00005")),
    ... ]
    >>> report = summarize(records)
    >>> report.total_cost, report.reference_cost, report.savings
    (Decimal('0.00015'), Decimal('0.0008'), Decimal('0.00065'))
    >>> report.escalation_rate
    0.0
"""

from __future__ import annotations

import html
import math
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from decimal import Decimal, InvalidOperation
from os import PathLike
from pathlib import Path
from typing import TYPE_CHECKING, Any

from lc_gemini_router.callbacks.handler import UsageTotals
from lc_gemini_router.errors import ConfigError
from lc_gemini_router.keys import ROLE_ANSWER, ROLE_CLASSIFIER, ROLE_SPECULATIVE
from lc_gemini_router.tools.formatting import percent, share_of, usd
from lc_gemini_router.tools.jsonl import read_json_lines

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

__all__ = [
    "DEFAULT_BUCKETS",
    "ESCALATED_LANES",
    "PLOT_FILES",
    "REPORT_HTML",
    "CostReport",
    "EscalationPoint",
    "EscalationSeries",
    "LogRecord",
    "ReportTable",
    "escalation_series",
    "load_cost_log",
    "parse_bucket",
    "render_report",
    "report_tables",
    "summarize",
]

ESCALATED_LANES = frozenset({"pro", "pro_tools"})
"""Lanes that count as an escalation away from Flash-Lite."""
DEFAULT_BUCKETS = 20
"""Buckets :func:`escalation_series` aims for when no bucket size is given."""
PLOT_FILES = {
    "savings": "savings_vs_all_pro.png",
    "spend_by_model": "spend_by_model.png",
    "spend_by_role": "spend_by_role.png",
    "escalation": "escalation_rate.png",
}
"""The PNG files :func:`render_report` writes, by plot, in the order it returns them."""
REPORT_HTML = "report.html"
"""The page :func:`render_report` writes next to the plots."""

_ROLE_ORDER = (ROLE_ANSWER, ROLE_CLASSIFIER, ROLE_SPECULATIVE)
_REQUIRED = ("ts", "model", "role", "cost")
_TOKEN_KEYS = ("input_tokens", "cached_tokens", "output_tokens", "reasoning_tokens", "images")
_NUMERIC = ' class="num"'
_HTML_SERIES_ROWS = 500
"""Escalation buckets listed on the HTML page at most (the plot shows them all)."""
_MINUTE = 60
_DAY = 86400
_UNITS = {"s": 1, "m": _MINUTE, "h": 3600, "d": _DAY}
_TIME_TICKS = 6
"""Ticks the escalation plot's time axis shows at most."""
_BUCKET_PATTERN = re.compile(r"(\d+)\s*([smhd]?)")


# -- records ------------------------------------------------------------------------------


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


# -- summary ------------------------------------------------------------------------------


class _Totals:
    """A mutable :class:`UsageTotals` while records are added."""

    __slots__ = (
        "cached_tokens",
        "calls",
        "cost",
        "images",
        "input_tokens",
        "output_tokens",
        "reasoning_tokens",
        "reference_cost",
        "unpriced_calls",
    )

    def __init__(self) -> None:
        self.calls = self.unpriced_calls = self.images = 0
        self.input_tokens = self.cached_tokens = self.output_tokens = self.reasoning_tokens = 0
        self.cost = Decimal(0)
        self.reference_cost = Decimal(0)

    def add(self, record: LogRecord) -> None:
        self.calls += 1
        self.input_tokens += record.input_tokens
        self.cached_tokens += record.cached_tokens
        self.output_tokens += record.output_tokens
        self.reasoning_tokens += record.reasoning_tokens
        self.images += record.images
        if record.cost is None:
            self.unpriced_calls += 1
        else:
            self.cost += record.cost
        self.reference_cost += record.reference_total

    def freeze(self) -> UsageTotals:
        return UsageTotals(
            calls=self.calls,
            unpriced_calls=self.unpriced_calls,
            input_tokens=self.input_tokens,
            cached_tokens=self.cached_tokens,
            output_tokens=self.output_tokens,
            reasoning_tokens=self.reasoning_tokens,
            images=self.images,
            cost=self.cost,
            reference_cost=self.reference_cost,
        )


def _share(part: Decimal, whole: Decimal) -> Decimal | None:
    return part / whole if whole else None


@dataclass(frozen=True)
class CostReport:
    """Exact totals of a cost log. Money is ``Decimal`` USD; shares are fractions (0-1)."""

    totals: UsageTotals
    """Every call: ``calls``, ``unpriced_calls``, tokens, ``cost`` (total spend) and
    ``reference_cost`` (the all-Pro reference)."""
    by_model: dict[str, UsageTotals]
    """Totals per model ID, in the log's order of first appearance."""
    by_role: dict[str, UsageTotals]
    """Totals per role: ``answer``, ``classifier``, ``speculative``, then any others."""
    decision_sources: dict[str, int]
    """Records counted by decision source, as the handler counts them (``rule``, ...)."""
    lanes: dict[str, int]
    """Routed answers counted by lane (``lite``, ``pro``, ``pro_tools``)."""
    wasted_calls: int = 0
    """Cancelled speculative calls."""
    wasted_estimated: int = 0
    """Of those, calls whose usage was estimated from the prompt size."""
    wasted_cost: Decimal = Decimal(0)
    """USD of the priced cancelled speculative calls."""
    unreferenced_answers: int = 0
    """Priced answers with no reference cost (image output, an unknown reference
    price): the all-Pro reference leaves them out, so it is incomplete."""
    first: datetime | None = None
    last: datetime | None = None
    """Time of the earliest and latest record (UTC)."""
    service_tiers: dict[str, int] = field(default_factory=dict)
    """Records counted by service tier."""

    @property
    def calls(self) -> int:
        return self.totals.calls

    @property
    def unpriced_calls(self) -> int:
        """Calls whose cost is unknown: left out of every sum."""
        return self.totals.unpriced_calls

    @property
    def total_cost(self) -> Decimal:
        """Total spend: every priced call, classifier and wasted work included."""
        return self.totals.cost

    @property
    def reference_cost(self) -> Decimal:
        """The all-Pro reference: what the priced answers would have cost on Pro."""
        return self.totals.reference_cost

    @property
    def savings(self) -> Decimal:
        """``reference_cost - total_cost`` (negative when routing cost more)."""
        return self.reference_cost - self.total_cost

    @property
    def savings_share(self) -> Decimal | None:
        """Savings as a fraction of the reference; None without a reference."""
        return _share(self.savings, self.reference_cost)

    @property
    def classifier_cost(self) -> Decimal:
        classifier = self.by_role.get(ROLE_CLASSIFIER)
        return classifier.cost if classifier else Decimal(0)

    @property
    def classifier_share(self) -> Decimal | None:
        """The classifier's fraction of total spend; None when nothing was spent."""
        return _share(self.classifier_cost, self.total_cost)

    @property
    def wasted_share(self) -> Decimal | None:
        """Wasted speculative spend as a fraction of total spend."""
        return _share(self.wasted_cost, self.total_cost)

    @property
    def routed_answers(self) -> int:
        return sum(self.lanes.values())

    @property
    def escalated(self) -> int:
        """Routed answers on ``pro`` or ``pro_tools``."""
        return sum(count for lane, count in self.lanes.items() if lane in ESCALATED_LANES)

    @property
    def escalation_rate(self) -> float | None:
        """Share of routed answers that escalated; None without routed answers."""
        return self.escalated / self.routed_answers if self.routed_answers else None


def _role_key(role: str) -> tuple[int, str]:
    return (_ROLE_ORDER.index(role) if role in _ROLE_ORDER else len(_ROLE_ORDER), role)


def summarize(records: Iterable[LogRecord]) -> CostReport:
    """Total a cost log exactly, as the cost handler totalled the calls while they ran.

    ``totals``, ``by_model`` and ``by_role`` equal the handler's ``totals``,
    ``by_model`` and ``by_role`` for the calls it logged, and ``decision_sources``
    its ``decision_sources``.

    Args:
        records: The log's records (see :func:`load_cost_log`); may be empty.

    Returns:
        The report; every sum is an exact ``Decimal``.
    """
    overall = _Totals()
    models: dict[str, _Totals] = {}
    roles: dict[str, _Totals] = {}
    sources: dict[str, int] = {}
    lanes: dict[str, int] = {}
    tiers: dict[str, int] = {}
    wasted = estimated = unreferenced = 0
    wasted_cost = Decimal(0)
    first = last = None
    for record in records:
        overall.add(record)
        models.setdefault(record.model, _Totals()).add(record)
        roles.setdefault(record.role, _Totals()).add(record)
        tiers[record.service_tier] = tiers.get(record.service_tier, 0) + 1
        if record.source is not None:
            sources[record.source] = sources.get(record.source, 0) + 1
        if record.routed_answer and record.lane is not None:
            lanes[record.lane] = lanes.get(record.lane, 0) + 1
        if record.wasted:
            wasted += 1
            estimated += record.estimated
            wasted_cost += record.cost or 0
        if record.role == ROLE_ANSWER and record.priced and record.reference_cost is None:
            unreferenced += 1
        first = record.ts if first is None else min(first, record.ts)
        last = record.ts if last is None else max(last, record.ts)
    return CostReport(
        totals=overall.freeze(),
        by_model={model: totals.freeze() for model, totals in models.items()},
        by_role={role: roles[role].freeze() for role in sorted(roles, key=_role_key)},
        decision_sources=sources,
        lanes=lanes,
        wasted_calls=wasted,
        wasted_estimated=estimated,
        wasted_cost=wasted_cost,
        unreferenced_answers=unreferenced,
        first=None if first is None else datetime.fromtimestamp(first, tz=timezone.utc),
        last=None if last is None else datetime.fromtimestamp(last, tz=timezone.utc),
        service_tiers=tiers,
    )


# -- escalation over time -----------------------------------------------------------------


@dataclass(frozen=True)
class EscalationPoint:
    """The routed answers of one bucket and how many of them escalated."""

    start: datetime
    end: datetime
    """Time buckets: the window ``[start, end)``. Count buckets: the times of the
    bucket's first and last answer."""
    first_answer: int
    """1-based position of the bucket's first answer among all routed answers (by time)."""
    answers: int
    escalated: int

    @property
    def rate(self) -> float:
        """Share of the bucket's answers on ``pro`` or ``pro_tools``."""
        return self.escalated / self.answers


@dataclass(frozen=True)
class EscalationSeries:
    """The escalation rate bucket by bucket (empty time windows are left out)."""

    bucket: int | timedelta
    """Routed answers per bucket, or the width of a time window."""
    points: tuple[EscalationPoint, ...]

    @property
    def answers(self) -> int:
        return sum(p.answers for p in self.points)

    @property
    def escalated(self) -> int:
        return sum(p.escalated for p in self.points)


def parse_bucket(text: str) -> int | timedelta:
    """A bucket size as typed on the command line.

    ``"25"`` is 25 routed answers per bucket; ``"30s"``, ``"15m"``, ``"6h"``, ``"1d"``
    are time windows.

    Raises:
        ValueError: anything else, or a size of zero.

    Example:
        >>> from lc_gemini_router.tools.reports import parse_bucket
        >>> parse_bucket("25"), parse_bucket("15m")
        (25, datetime.timedelta(seconds=900))
    """
    match = _BUCKET_PATTERN.fullmatch(text.strip().lower())
    if match is None or int(match.group(1)) == 0:
        msg = f"expected N answers or a time span such as 30s, 15m, 6h, 1d (N > 0), got {text!r}"
        raise ValueError(msg)
    count, unit = int(match.group(1)), match.group(2)
    return timedelta(seconds=count * _UNITS[unit]) if unit else count


def escalation_series(
    records: Iterable[LogRecord], bucket: int | timedelta | None = None
) -> EscalationSeries:
    """The share of routed answers sent to ``pro`` or ``pro_tools``, bucket by bucket.

    Args:
        records: The log's records; only routed answers count, in time order.
        bucket: ``N`` routed answers per bucket (the last one may hold fewer), or a
            ``timedelta``: windows aligned on the epoch (a day starts at 00:00 UTC);
            windows without routed answers are left out. None picks N so that there
            are about :data:`DEFAULT_BUCKETS` buckets.

    Raises:
        ValueError: a bucket of zero or less.
    """
    answers = sorted((r for r in records if r.routed_answer), key=lambda r: r.ts)
    if bucket is None:
        bucket = max(1, math.ceil(len(answers) / DEFAULT_BUCKETS))
    points: list[EscalationPoint] = []
    if isinstance(bucket, timedelta):
        width = bucket.total_seconds()
        if width <= 0:
            raise ValueError(f"a time bucket must be positive, got {bucket}")
        groups: dict[int, list[LogRecord]] = {}
        for record in answers:
            groups.setdefault(math.floor(record.ts / width), []).append(record)
        position = 1
        for key, group in groups.items():  # keys ascend: answers are sorted by time
            start = datetime.fromtimestamp(key * width, tz=timezone.utc)
            points.append(_point(start, start + bucket, position, group))
            position += len(group)
    else:
        if bucket <= 0:
            raise ValueError(f"a bucket must hold at least one answer, got {bucket}")
        for index in range(0, len(answers), bucket):
            group = answers[index : index + bucket]
            points.append(_point(group[0].time, group[-1].time, index + 1, group))
    return EscalationSeries(bucket=bucket, points=tuple(points))


def _point(start: datetime, end: datetime, first: int, group: list[LogRecord]) -> EscalationPoint:
    escalated = sum(1 for r in group if r.escalated)
    return EscalationPoint(
        start=start, end=end, first_answer=first, answers=len(group), escalated=escalated
    )


# -- tables -------------------------------------------------------------------------------


@dataclass(frozen=True)
class ReportTable:
    """A table of the report, already formatted: the CLI and the HTML page show these."""

    title: str
    columns: tuple[tuple[str, bool], ...]
    """``(header, numeric)`` pairs; numeric columns are right-aligned."""
    rows: tuple[tuple[str, ...], ...]
    total: tuple[str, ...] | None = None
    show_header: bool = True


def _count_share(count: int, whole: int) -> str:
    return percent(Decimal(count) / whole if whole else None)


def _plural(count: int, noun: str) -> str:
    return f"{count} {noun}{'' if count == 1 else 's'}"


def _span(report: CostReport) -> str:
    if report.first is None or report.last is None:
        return "-"
    fmt = "%Y-%m-%d %H:%M:%S"
    return f"{report.first.strftime(fmt)} to {report.last.strftime(fmt)} UTC"


def report_tables(report: CostReport) -> list[ReportTable]:
    """The report as tables: totals, spend by model, by role, lanes and decision sources."""
    total = report.total_cost
    unpriced = f"; {report.unpriced_calls} unpriced (cost unknown, not counted)"
    reference_note = "the answers' usage at Pro prices; no classifier, no speculation"
    if report.unreferenced_answers:
        reference_note += f"; {report.unreferenced_answers} priced answers have no reference"
    wasted_note = f"{percent(report.wasted_share)} of spend; "
    wasted_note += _plural(report.wasted_calls, "cancelled call")
    if report.wasted_estimated:
        wasted_note += f" ({report.wasted_estimated} estimated)"
    escalation = f"{report.escalated} of {report.routed_answers}" if report.routed_answers else "-"
    summary = (
        ("model calls", str(report.calls), _span(report)),
        (
            "total spend",
            usd(total),
            "every priced call, classifier included" + (unpriced if report.unpriced_calls else ""),
        ),
        ("all-Pro reference", usd(report.reference_cost), reference_note),
        ("savings", usd(report.savings), f"{percent(report.savings_share)} of the reference"),
        (
            "classifier",
            usd(report.classifier_cost),
            f"{percent(report.classifier_share)} of spend",
        ),
        (
            "wasted speculation",
            usd(report.wasted_cost),
            wasted_note,
        ),
        (
            "escalated",
            escalation,
            f"{percent(report.escalation_rate)} of routed answers on pro or pro_tools",
        ),
    )
    model_rows = tuple(
        (
            model,
            str(t.calls),
            f"{t.input_tokens:,}",
            f"{t.cached_tokens:,}",
            f"{t.output_tokens:,}",
            f"{t.reasoning_tokens:,}",
            usd(t.cost),
            share_of(t.cost, total),
        )
        for model, t in sorted(report.by_model.items(), key=lambda item: (-item[1].cost, item[0]))
    )
    numeric = ("calls", "in", "cached", "out", "thinking", "cost", "share")
    role_numeric = ("calls", "unpriced", "in", "out", "cost", "share")
    role_rows = tuple(
        (
            role,
            str(t.calls),
            str(t.unpriced_calls),
            f"{t.input_tokens:,}",
            f"{t.output_tokens:,}",
            usd(t.cost),
            share_of(t.cost, total),
        )
        for role, t in report.by_role.items()
    )
    t = report.totals
    role_total = (
        "total",
        str(t.calls),
        str(t.unpriced_calls),
        f"{t.input_tokens:,}",
        f"{t.output_tokens:,}",
        usd(t.cost),
        "100%" if total else "-",
    )
    lane_rows = tuple(
        (lane, str(count), _count_share(count, report.routed_answers))
        for lane, count in sorted(report.lanes.items(), key=lambda item: (-item[1], item[0]))
    )
    sources = sum(report.decision_sources.values())
    source_rows = tuple(
        (source, str(count), _count_share(count, sources))
        for source, count in sorted(
            report.decision_sources.items(), key=lambda item: (-item[1], item[0])
        )
    )
    counted = (("answers", True), ("share", True))
    return [
        ReportTable("Summary", (("", False), ("", True), ("", False)), summary, show_header=False),
        ReportTable(
            "Spend by model",
            (("model", False), *((name, True) for name in numeric)),
            model_rows,
        ),
        ReportTable(
            "Spend by role",
            (("role", False), *((name, True) for name in role_numeric)),
            role_rows,
            total=role_total,
        ),
        ReportTable("Routed answers by lane", (("lane", False), *counted), lane_rows),
        ReportTable("Decision sources", (("source", False), *counted), source_rows),
    ]


# -- plots and HTML -----------------------------------------------------------------------


def _figure(width: float, height: float) -> Figure:
    """A figure on its own Agg canvas: no pyplot, no global backend switch."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    figure = Figure(figsize=(width, height), dpi=100, layout="constrained")
    FigureCanvasAgg(figure)
    return figure


def _plain(text: str) -> str:
    """Text matplotlib draws as is: a ``$`` would start mathtext."""
    return text.replace("$", r"\$")


def _no_data(axes: Axes, text: str) -> None:
    axes.text(0.5, 0.5, text, ha="center", va="center", transform=axes.transAxes)
    axes.set_axis_off()


def _save(figure: Figure, path: Path) -> Path:
    figure.savefig(path, format="png", metadata={"Software": None})
    return path


def _bars(title: str, costs: Mapping[str, Decimal], total: Decimal, path: Path) -> Path:
    """Horizontal bars of spend, largest on top, each labelled with its exact cost."""
    from matplotlib.ticker import FuncFormatter

    items = sorted(costs.items(), key=lambda item: (item[1], item[0]))
    figure = _figure(8, 1.6 + 0.45 * max(len(items), 1))
    axes = figure.add_subplot()
    axes.set_title(_plain(title))
    if not items or not any(cost for _, cost in items):
        _no_data(axes, "no priced calls")
        return _save(figure, path)
    names = [_plain(name) for name, _ in items]
    values = [float(cost) for _, cost in items]
    container = axes.barh(names, values, color="#4c72b0")
    labels = [_plain(f"{usd(cost)} ({share_of(cost, total)})") for _, cost in items]
    axes.bar_label(container, labels=labels, padding=3, fontsize=8)
    axes.set_xlim(0, max(values) * 1.45)
    axes.xaxis.set_major_formatter(FuncFormatter(lambda x, _: _plain(f"${x:g}")))
    axes.set_xlabel("USD")
    return _save(figure, path)


def _savings_plot(report: CostReport, path: Path) -> Path:
    """Routed spend (stacked by role) beside the all-Pro reference."""
    figure = _figure(8, 3.2)
    axes = figure.add_subplot()
    axes.set_title("Routed spend vs all-Pro reference")
    if not report.total_cost and not report.reference_cost:
        _no_data(axes, "no priced calls")
        return _save(figure, path)
    palette = ("#55a868", "#c44e52", "#dd8452", "#8172b2", "#937860", "#64b5cd")
    left = 0.0
    for index, (role, totals) in enumerate(report.by_role.items()):
        if totals.cost:
            axes.barh(
                "routed",
                float(totals.cost),
                left=left,
                color=palette[index % len(palette)],
                label=_plain(role),
            )
            left += float(totals.cost)
    axes.barh("all Pro", float(report.reference_cost), color="#4c72b0", label="all-Pro reference")
    axes.text(left, 0, _plain(f" {usd(report.total_cost)}"), va="center", fontsize=8)
    saved = f"saves {usd(report.savings)} ({percent(report.savings_share)})"
    axes.text(
        float(report.reference_cost),
        1,
        _plain(f" {usd(report.reference_cost)}: {saved}"),
        va="center",
        fontsize=8,
    )
    axes.set_xlim(0, max(left, float(report.reference_cost)) * 1.6)
    axes.set_xlabel("USD")
    axes.legend(loc="lower right", fontsize=8)
    return _save(figure, path)


def _duration(span: timedelta) -> str:
    """``6h``, ``15m``, ``1d``: a bucket width as ``--bucket`` takes it."""
    seconds = int(span.total_seconds())
    for unit, size in sorted(_UNITS.items(), key=lambda item: -item[1]):
        if seconds and seconds % size == 0:
            return f"{seconds // size}{unit}"
    return str(span)


def _time_label(span: float) -> Callable[[float, int | None], str]:
    """Tick labels for epoch seconds: as precise as the span needs."""
    if span >= _DAY:
        fmt = "%Y-%m-%d\n%H:%M" if span < _DAY * 5 else "%Y-%m-%d"
    else:
        fmt = "%H:%M" if span >= _MINUTE * 5 else "%H:%M:%S"

    def label(x: float, _: int | None = None) -> str:
        return datetime.fromtimestamp(x, tz=timezone.utc).strftime(fmt)

    return label


def _escalation_plot(series: EscalationSeries, path: Path) -> Path:
    from matplotlib.ticker import FuncFormatter, MaxNLocator, MultipleLocator, PercentFormatter

    figure = _figure(8, 3.6)
    axes = figure.add_subplot()
    points = series.points
    if not points:
        axes.set_title("Escalation rate")
        _no_data(axes, "no routed answers in the log")
        return _save(figure, path)
    overall = series.escalated / series.answers
    cumulative: list[float] = []
    answers = escalated = 0
    for point in points:
        answers += point.answers
        escalated += point.escalated
        cumulative.append(escalated / answers)
    rates = [p.rate for p in points]
    if isinstance(series.bucket, timedelta):
        # Epoch seconds on the x axis, ticks on whole buckets, labelled in UTC.
        width = series.bucket.total_seconds()
        starts = [p.start.timestamp() for p in points]
        ends = [p.end.timestamp() for p in points]
        axes.bar(
            starts,
            rates,
            width=width * 0.95,
            align="edge",
            color="#dd8452",
            alpha=0.6,
            label=f"per {_duration(series.bucket)}",
        )
        axes.plot(ends, cumulative, marker=".", color="#4c72b0", label="cumulative")
        axes.set_xlim(starts[0], ends[-1])
        windows = (ends[-1] - starts[0]) / width
        axes.xaxis.set_major_locator(MultipleLocator(width * math.ceil(windows / _TIME_TICKS)))
        axes.xaxis.set_major_formatter(FuncFormatter(_time_label(ends[-1] - starts[0])))
        axes.set_xlabel("time (UTC)")
    else:
        # A small gap between bars keeps neighbouring buckets apart.
        lefts = [p.first_answer - 0.45 for p in points]
        axes.bar(
            lefts,
            rates,
            width=[p.answers - 0.1 for p in points],
            align="edge",
            color="#dd8452",
            alpha=0.6,
            label="per answer" if series.bucket == 1 else f"per {series.bucket} answers",
        )
        axes.plot(
            [p.first_answer + p.answers - 1 for p in points],
            cumulative,
            marker=".",
            color="#4c72b0",
            label="cumulative",
        )
        axes.set_xlim(0.5, series.answers + 0.5)
        axes.xaxis.set_major_locator(MaxNLocator(integer=True))
        axes.set_xlabel("routed answer (in time order)")
    axes.axhline(overall, linestyle="--", color="grey", label=f"overall {overall:.1%}")
    axes.set_ylim(0, 1.05)
    axes.yaxis.set_major_formatter(PercentFormatter(1.0))
    axes.set_ylabel("on pro / pro_tools")
    axes.set_title("Escalation rate: share of routed answers on Pro")
    axes.legend(loc="best", fontsize=8)
    return _save(figure, path)


def _html_table(table: ReportTable) -> str:
    def cells(tag: str, values: Sequence[str]) -> str:
        return "".join(
            f"<{tag}{_NUMERIC if numeric else ''}>{html.escape(value)}</{tag}>"
            for value, (_, numeric) in zip(values, table.columns, strict=True)
        )

    parts = [f"<table>\n<caption>{html.escape(table.title)}</caption>"]
    if table.show_header:
        parts.append(f"<thead><tr>{cells('th', [h for h, _ in table.columns])}</tr></thead>")
    parts.append("<tbody>")
    parts.extend(f"<tr>{cells('td', row)}</tr>" for row in table.rows)
    if not table.rows:
        parts.append(f'<tr><td colspan="{len(table.columns)}">none</td></tr>')
    parts.append("</tbody>")
    if table.total is not None:
        parts.append(f"<tfoot><tr>{cells('th', table.total)}</tr></tfoot>")
    parts.append("</table>")
    return "\n".join(parts)


def _series_table(series: EscalationSeries) -> ReportTable:
    fmt = "%Y-%m-%d %H:%M:%S"
    rows = tuple(
        (
            p.start.strftime(fmt),
            p.end.strftime(fmt),
            f"{p.first_answer}-{p.first_answer + p.answers - 1}",
            str(p.answers),
            str(p.escalated),
            percent(p.rate),
        )
        for p in series.points[:_HTML_SERIES_ROWS]
    )
    if isinstance(series.bucket, timedelta):
        size = _duration(series.bucket)
    else:
        size = _plural(series.bucket, "routed answer")
    more = len(series.points) - _HTML_SERIES_ROWS
    title = f"Escalation rate per bucket of {size}" + (
        f" (first {_HTML_SERIES_ROWS} buckets; {more} more in the plot)" if more > 0 else ""
    )
    headers = ("from (UTC)", "to (UTC)", "answers #", "answers", "escalated", "rate")
    return ReportTable(title, tuple((h, i >= 2) for i, h in enumerate(headers)), rows)


_STYLE = """
body { font-family: system-ui, sans-serif; margin: 2em auto; max-width: 60em; color: #222; }
table { border-collapse: collapse; margin: 1em 0 2em; }
caption { text-align: left; font-weight: bold; padding-bottom: .4em; }
th, td { border-bottom: 1px solid #ddd; padding: .25em .8em; text-align: left; }
.num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
tfoot th { border-top: 2px solid #999; }
figure { margin: 1em 0 2em; }
img { max-width: 100%; height: auto; }
"""


def _page(
    report: CostReport, series: EscalationSeries, plots: Mapping[str, Path], source: str | None
) -> str:
    title = "lc-gemini-router cost report" + (f": {source}" if source else "")
    captions = {
        "savings": "Routed spend, stacked by role, against the all-Pro reference",
        "spend_by_model": "Spend by model",
        "spend_by_role": "Spend by role",
        "escalation": "Escalation rate over time",
    }
    figures = [
        f'<figure><img src="{html.escape(path.name)}" alt="{html.escape(captions[key])}">'
        f"<figcaption>{html.escape(captions[key])}</figcaption></figure>"
        for key, path in plots.items()
    ]
    tables = [_html_table(table) for table in report_tables(report)]
    notes = (
        "Money is exact, in USD. Unpriced calls (cost unknown) are counted as calls and "
        "left out of every sum. The all-Pro reference is a lower bound: on Pro, the easy "
        "requests would also have spent thinking tokens."
    )
    body = [
        f"<h1>{html.escape(title)}</h1>",
        f"<p>{html.escape(notes)}</p>",
        tables[0],
        figures[0],
        *tables[1:3],
        *figures[1:3],
        *tables[3:],
        figures[3],
        _html_table(_series_table(series)),
    ]
    return (
        '<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        f"<title>{html.escape(title)}</title>\n<style>{_STYLE}</style>\n</head>\n<body>\n"
        + "\n".join(body)
        + "\n</body>\n</html>\n"
    )


def render_report(
    report: CostReport,
    records: Sequence[LogRecord],
    out_dir: str | PathLike[str],
    *,
    bucket: int | timedelta | None = None,
    source: str | None = None,
) -> list[Path]:
    """Draw the report's plots and write an HTML page that shows them.

    Writes :data:`PLOT_FILES` (PNG) and :data:`REPORT_HTML` into ``out_dir``,
    created if needed; existing files of those names are replaced. The page links
    the plots by relative path, so the directory can be moved or served as is.
    Needs matplotlib (the ``cli`` extra), imported on first use; draws on the Agg
    canvas without touching pyplot's global backend.

    Args:
        report: The totals (see :func:`summarize`).
        records: The records behind them, for the escalation rate over time.
        out_dir: Where to write.
        bucket: Escalation buckets, as for :func:`escalation_series`.
        source: What the page's title names as the log (a file name, say).

    Returns:
        The files written: the PNGs, then the HTML page.

    Raises:
        ImportError: matplotlib is not installed.
        OSError: the directory or a file cannot be written.
    """
    import matplotlib  # noqa: F401 - fail early, before any file is written

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    series = escalation_series(records, bucket)
    roles = {role: t.cost for role, t in report.by_role.items()}
    models = {model: t.cost for model, t in report.by_model.items()}
    plots = {
        "savings": _savings_plot(report, out / PLOT_FILES["savings"]),
        "spend_by_model": _bars(
            "Spend by model", models, report.total_cost, out / PLOT_FILES["spend_by_model"]
        ),
        "spend_by_role": _bars(
            "Spend by role", roles, report.total_cost, out / PLOT_FILES["spend_by_role"]
        ),
        "escalation": _escalation_plot(series, out / PLOT_FILES["escalation"]),
    }
    page = out / REPORT_HTML
    page.write_text(_page(report, series, plots, source), encoding="utf-8")
    return [*plots.values(), page]
