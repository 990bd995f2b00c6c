"""The escalation rate over time: routed answers in buckets of N answers or of a time span."""

from __future__ import annotations

import math
import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

from lc_gemini_router.tools.reports.records import LogRecord

DEFAULT_BUCKETS = 20
"""Buckets :func:`escalation_series` aims for when no bucket size is given."""


_MINUTE = 60
_DAY = 86400
_UNITS = {"s": 1, "m": _MINUTE, "h": 3600, "d": _DAY}
_BUCKET_PATTERN = re.compile(r"(\d{1,9})\s*([smhd]?)")
_MAX_SPAN = 36_500 * _DAY
"""The widest time bucket (100 years): its windows stay within the dates Python holds."""


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
        ValueError: anything else, a size of zero, or a time span over 100 years.

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
    if not unit:
        return count
    if count * _UNITS[unit] > _MAX_SPAN:
        raise ValueError(f"a time bucket must be at most 100 years (36500d), got {text!r}")
    return timedelta(seconds=count * _UNITS[unit])


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


def _duration(span: timedelta) -> str:
    """``6h``, ``15m``, ``1d``: a bucket width as ``--bucket`` takes it."""
    seconds = int(span.total_seconds())
    for unit, size in sorted(_UNITS.items(), key=lambda item: -item[1]):
        if seconds and seconds % size == 0:
            return f"{seconds // size}{unit}"
    return str(span)
