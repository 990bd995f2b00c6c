"""One process's state, shared by every router given the same :class:`MemoryStore`.

Example:
    >>> from lc_gemini_router import Budget, GeminiRouter, MemoryStore
    >>> store = MemoryStore()
    >>> a = GeminiRouter(api_key="k", store=store, budgets=[Budget(limit="5")])
    >>> b = GeminiRouter(api_key="k", store=store, budgets=[Budget(limit="5")])
    >>> a.budget_ledger is b.budget_ledger, a.breaker is b.breaker
    (True, True)
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

from lc_gemini_router.batches.stores import MemoryBatchStore
from lc_gemini_router.budgets.ledger import DEFAULT_RESERVATION_TTL, MemoryLedger
from lc_gemini_router.config import ClassifierSettings
from lc_gemini_router.state import Breaker, CircuitBreaker, ScoreCache, ScoreStore

__all__ = ["MemoryStore"]


class MemoryStore:
    """A :class:`~lc_gemini_router.state.StateStore` in this process's memory.

    The score cache and breaker are made on first use with the settings of the first
    router that asks, then shared. ``clock`` drives the ledger's hold expiry (UNIX
    time; the cache and breaker keep their monotonic clocks).
    """

    def __init__(
        self,
        *,
        reservation_ttl: float = DEFAULT_RESERVATION_TTL,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._lock = threading.Lock()
        self._scores: ScoreCache | None = None
        self._breaker: CircuitBreaker | None = None
        self._ledger = MemoryLedger(reservation_ttl, clock)
        self._batches = MemoryBatchStore()

    def score_store(self, settings: ClassifierSettings) -> ScoreStore:
        with self._lock:
            if self._scores is None:
                self._scores = ScoreCache(settings.cache_size, settings.cache_ttl_seconds)
            return self._scores

    def breaker(self, settings: ClassifierSettings) -> Breaker:
        with self._lock:
            if self._breaker is None:
                self._breaker = CircuitBreaker(
                    settings.failure_threshold, settings.cooldown_seconds
                )
            return self._breaker

    def budget_ledger(self) -> MemoryLedger:
        return self._ledger

    def batch_store(self) -> MemoryBatchStore:
        """Batch job records, shared by the routers of this store."""
        return self._batches
