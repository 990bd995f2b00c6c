"""State the router keeps between calls, behind small protocols: scores and the breaker.

A :class:`ScoreStore` caches classifier scores; a :class:`Breaker` skips a failing
classifier for a cool-down. Each protocol has blocking and ``a``-prefixed async
methods, so a store that does I/O (a shared Redis, say) serves ``invoke`` and
``ainvoke`` alike; the routing pipeline calls whichever its driver needs. The
in-memory defaults, :class:`ScoreCache` and :class:`CircuitBreaker`, are
thread-safe and never await inside their lock, so threads and asyncio tasks can
share them. Pass one instance to as many routers as you like::

    >>> from lc_gemini_router import GeminiRouter, ScoreCache
    >>> shared = ScoreCache(size=10_000, ttl=3600)
    >>> a = GeminiRouter(api_key="k", score_cache=shared)
    >>> b = GeminiRouter(api_key="k", score_cache=shared)
    >>> a.classifier_runner.cache is b.classifier_runner.cache
    True

A :class:`BudgetLedger` keeps spend budgets: holds reserved before each call and
settled after it (:class:`~lc_gemini_router.budgets.ledger.MemoryLedger` in one
process). A :class:`StateStore` makes all three for a router, so one object (a
``RedisStore``) shares scores, breaker and budgets between processes.
"""

from __future__ import annotations

import hashlib
import re
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Sequence
from decimal import Decimal
from typing import TYPE_CHECKING, Literal, Protocol, runtime_checkable

from lc_gemini_router.routing.policy import ClassifierScore

if TYPE_CHECKING:
    from lc_gemini_router.budgets.accounts import Account, AccountState, Grant, Hold
    from lc_gemini_router.config import ClassifierSettings

__all__ = [
    "Breaker",
    "BudgetLedger",
    "CircuitBreaker",
    "ScoreCache",
    "ScoreStore",
    "StateStore",
    "score_key",
]


def score_key(model: str, text: str) -> str:
    """The cache key of one classifier input: whitespace and case do not matter.

    A SHA-256 digest, so no prompt text is kept in any store.
    """
    normalised = re.sub(r"\s+", " ", text).strip().lower()
    return hashlib.sha256(f"{model}\x00{normalised}".encode()).hexdigest()


@runtime_checkable
class ScoreStore(Protocol):
    """Where classifier scores are cached, by :func:`score_key`."""

    def get(self, key: str) -> ClassifierScore | None: ...
    def peek(self, key: str) -> bool: ...
    def put(self, key: str, score: ClassifierScore) -> None: ...
    async def aget(self, key: str) -> ClassifierScore | None: ...
    async def apeek(self, key: str) -> bool: ...
    async def aput(self, key: str, score: ClassifierScore) -> None: ...


@runtime_checkable
class Breaker(Protocol):
    """Decides whether the classifier may be called, from its recent failures."""

    def allow(self) -> bool: ...
    def record_success(self) -> None: ...
    def record_failure(self) -> None: ...
    async def aallow(self) -> bool: ...
    async def arecord_success(self) -> None: ...
    async def arecord_failure(self) -> None: ...


@runtime_checkable
class BudgetLedger(Protocol):
    """Spend reserved before a call and settled after it, per budget account.

    ``reserve`` makes every hold on every account atomically, or none when one
    account's ``spent + reserved + holds`` would pass its limit; a hold left
    unsettled expires. ``settle`` drops a hold and counts what the call cost, once
    per hold id however often it is called.
    """

    def now(self) -> float:
        """The UNIX time windows are read by (injectable in tests)."""
        ...

    def reserve(self, holds: Sequence[Hold], accounts: Sequence[Account]) -> Grant: ...
    def settle(
        self, hold: str, amount: Decimal, accounts: Sequence[Account]
    ) -> tuple[AccountState, ...]: ...
    def status(self, accounts: Sequence[Account]) -> tuple[AccountState, ...]: ...
    def reset(self, accounts: Sequence[Account]) -> None: ...
    async def areserve(self, holds: Sequence[Hold], accounts: Sequence[Account]) -> Grant: ...
    async def asettle(
        self, hold: str, amount: Decimal, accounts: Sequence[Account]
    ) -> tuple[AccountState, ...]: ...
    async def astatus(self, accounts: Sequence[Account]) -> tuple[AccountState, ...]: ...
    async def areset(self, accounts: Sequence[Account]) -> None: ...


@runtime_checkable
class StateStore(Protocol):
    """Makes a router's score store, breaker and budget ledger (``GeminiRouter(store=)``)."""

    def score_store(self, settings: ClassifierSettings) -> ScoreStore: ...
    def breaker(self, settings: ClassifierSettings) -> Breaker: ...
    def budget_ledger(self) -> BudgetLedger: ...


class CircuitBreaker:
    """Opens after ``threshold`` consecutive failures; one trial call after ``cooldown``.

    While the trial is in flight (half-open) every other caller is refused, so at any
    concurrency one request probes a classifier that was failing. A trial that never
    reports back (its caller was cancelled) is replaced by a new one after another
    ``cooldown``. Thread-safe; the clock is injectable so tests never sleep.
    """

    def __init__(
        self, threshold: int, cooldown: float, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.threshold = threshold
        self.cooldown = cooldown
        self._clock = clock
        self._lock = threading.Lock()
        self._failures = 0
        self._opened_at: float | None = None
        self._trial_at: float | None = None

    @property
    def is_open(self) -> bool:
        """Whether a call now would be refused."""
        with self._lock:
            return not self._may_pass(self._clock())

    @property
    def state(self) -> Literal["closed", "open", "half_open"]:
        """``closed`` (calls pass), ``open`` (cooling down) or ``half_open`` (a trial is
        out, or the next caller is the trial), for reports and health checks."""
        with self._lock:
            if self._opened_at is None:
                return "closed"
            return "half_open" if self._may_pass(self._clock()) or self._trial_at else "open"

    @property
    def failures(self) -> int:
        """Consecutive failures recorded since the last success."""
        return self._failures

    def _may_pass(self, now: float) -> bool:
        if self._trial_at is not None:
            return now - self._trial_at >= self.cooldown
        return self._opened_at is None or now - self._opened_at >= self.cooldown

    def allow(self) -> bool:
        """True when a call may go to the classifier (the one trial, when half-open)."""
        with self._lock:
            now = self._clock()
            if not self._may_pass(now):
                return False
            if self._opened_at is not None:
                self._trial_at = now  # half-open: this caller is the trial
            return True

    def record_success(self) -> None:
        with self._lock:
            self._failures = 0
            self._opened_at = None
            self._trial_at = None

    def record_failure(self) -> None:
        with self._lock:
            self._failures += 1
            if self._trial_at is not None or self._failures >= self.threshold:
                self._opened_at = self._clock()  # a failed trial reopens at once
            self._trial_at = None

    async def aallow(self) -> bool:
        return self.allow()

    async def arecord_success(self) -> None:
        self.record_success()

    async def arecord_failure(self) -> None:
        self.record_failure()


class ScoreCache:
    """A size-bounded LRU of classifier scores with a time to live.

    Scores, not decisions, are cached: a per-call threshold still applies to a cached
    score. ``size=0`` caches nothing.
    """

    def __init__(self, size: int, ttl: float, clock: Callable[[], float] = time.monotonic) -> None:
        self.size = size
        self.ttl = ttl
        self._clock = clock
        self._lock = threading.Lock()
        self._items: OrderedDict[str, tuple[float, ClassifierScore]] = OrderedDict()
        self.hits = 0
        self.misses = 0

    key = staticmethod(score_key)

    def get(self, key: str) -> ClassifierScore | None:
        with self._lock:
            item = self._items.get(key)
            if item is None or self._clock() - item[0] > self.ttl:
                if item is not None:
                    del self._items[key]
                self.misses += 1
                return None
            self._items.move_to_end(key)
            self.hits += 1
            return item[1]

    def peek(self, key: str) -> bool:
        """Whether a fresh score is cached (statistics untouched)."""
        with self._lock:
            item = self._items.get(key)
            return item is not None and self._clock() - item[0] <= self.ttl

    def put(self, key: str, score: ClassifierScore) -> None:
        if self.size <= 0:
            return
        with self._lock:
            self._items[key] = (self._clock(), score)
            self._items.move_to_end(key)
            while len(self._items) > self.size:
                self._items.popitem(last=False)

    async def aget(self, key: str) -> ClassifierScore | None:
        return self.get(key)

    async def apeek(self, key: str) -> bool:
        return self.peek(key)

    async def aput(self, key: str, score: ClassifierScore) -> None:
        self.put(key, score)

    def __len__(self) -> int:
        return len(self._items)
