"""The simulator's manual clock: batch jobs and uploaded files age only when a test says so.

Time starts at 0 seconds and moves only through :meth:`ManualClock.advance`; it is mapped
onto wall-clock timestamps (RFC 3339, UTC, as Gemini writes them) from the moment the
clock was created or last reset, so answers carry realistic ``createTime`` values while
tests never sleep.
"""

from __future__ import annotations

import threading
from datetime import datetime, timedelta, timezone

__all__ = ["ManualClock"]


class ManualClock:
    """Seconds since start, advanced by hand; thread-safe."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._now = 0.0
        self._epoch = datetime.now(timezone.utc)

    @property
    def now(self) -> float:
        """Seconds since the clock started (or was last reset)."""
        with self._lock:
            return self._now

    def advance(self, seconds: float) -> float:
        """Move the clock forward by ``seconds`` (>= 0); returns the new time."""
        if seconds < 0:
            msg = f"the clock only moves forward, got {seconds}"
            raise ValueError(msg)
        with self._lock:
            self._now += seconds
            return self._now

    def reset(self) -> None:
        """Back to 0 seconds, with a fresh wall-clock origin."""
        with self._lock:
            self._now = 0.0
            self._epoch = datetime.now(timezone.utc)

    def timestamp(self, at: float) -> str:
        """The RFC 3339 UTC timestamp of clock time ``at`` (microseconds, ``Z``)."""
        with self._lock:
            moment = self._epoch + timedelta(seconds=at)
        return moment.strftime("%Y-%m-%dT%H:%M:%S.%fZ")
