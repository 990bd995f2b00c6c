"""The in-memory budget ledger: atomic holds with expiry, idempotent settlement.

:class:`MemoryLedger` implements :class:`~lc_gemini_router.state.BudgetLedger` for
one process (threads and asyncio tasks alike). ``RedisStore`` implements the same
protocol for several processes; both are tested against one suite.

Example:
    >>> from decimal import Decimal
    >>> from lc_gemini_router.budgets.accounts import Account, Hold
    >>> from lc_gemini_router.budgets.ledger import MemoryLedger
    >>> ledger = MemoryLedger()
    >>> day = [Account("global-day|*|2026-12-01", Decimal("1.00"))]
    >>> ledger.reserve([Hold("run-1:0", Decimal("0.80"))], day).ok
    True
    >>> ledger.reserve([Hold("run-2:0", Decimal("0.30"))], day).refused
    (0,)
    >>> ledger.settle("run-1:0", Decimal("0.12"), day)[0].spent
    Decimal('0.12')
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal

from lc_gemini_router.budgets.accounts import Account, AccountState, Grant, Hold

__all__ = ["DEFAULT_RESERVATION_TTL", "MemoryLedger"]

DEFAULT_RESERVATION_TTL = 900.0
"""Seconds a hold lasts when its call never settles (a crashed process, a lost task).
Longer than any call should take: a hold that expires while its call still runs lets
other calls spend the same money."""
_SETTLED_KEPT = 65_536
"""Settled hold ids remembered so a repeated settlement counts once."""
_ZERO = Decimal(0)


@dataclass
class _Book:
    spent: Decimal = _ZERO
    holds: dict[str, tuple[Decimal, float]] = field(default_factory=dict)
    """Hold id -> (amount, expiry)."""
    expires_at: float | None = None

    @property
    def reserved(self) -> Decimal:
        return sum((amount for amount, _ in self.holds.values()), _ZERO)

    def reap(self, now: float) -> None:
        for hold in [h for h, (_, until) in self.holds.items() if until <= now]:
            del self.holds[hold]

    def state(self, key: str) -> AccountState:
        return AccountState(key, self.spent, self.reserved)


class MemoryLedger:
    """Budget accounts in this process's memory (see the module docstring).

    Args:
        reservation_ttl: seconds after which an unsettled hold is dropped.
        clock: UNIX time source (injectable so tests never sleep).
    """

    def __init__(
        self,
        reservation_ttl: float = DEFAULT_RESERVATION_TTL,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.reservation_ttl = reservation_ttl
        self._clock = clock
        self._lock = threading.Lock()
        self._books: dict[str, _Book] = {}
        self._settled: OrderedDict[str, None] = OrderedDict()

    def now(self) -> float:
        """The ledger's clock: UNIX time."""
        return self._clock()

    def _book(self, account: Account, now: float) -> _Book:
        book = self._books.get(account.key)
        if book is None:
            book = self._books[account.key] = _Book(expires_at=account.expires_at)
            self._prune(now)
        book.reap(now)
        return book

    def _prune(self, now: float) -> None:
        # Accounts of windows that ended, with nothing held, are history.
        if len(self._books) % 1024:
            return
        for key in [k for k, b in self._books.items() if b.expires_at and b.expires_at <= now]:
            if not self._books[key].holds:
                del self._books[key]

    def reserve(self, holds: Sequence[Hold], accounts: Sequence[Account]) -> Grant:
        """Make every hold on every account, or none when one account cannot take them."""
        total = sum((h.amount for h in holds), _ZERO)
        with self._lock:
            now = self._clock()
            books = [self._book(a, now) for a in accounts]
            retried = any(h.id in b.holds for b in books for h in holds)
            refused = () if retried else self._refused(books, accounts, total)
            if not refused and not retried:
                until = now + self.reservation_ttl
                for book in books:
                    for hold in holds:
                        book.holds[hold.id] = (hold.amount, until)
            return Grant(
                refused, tuple(b.state(a.key) for b, a in zip(books, accounts, strict=True))
            )

    @staticmethod
    def _refused(
        books: list[_Book], accounts: Sequence[Account], total: Decimal
    ) -> tuple[int, ...]:
        return tuple(
            i
            for i, (book, account) in enumerate(zip(books, accounts, strict=True))
            if book.spent + book.reserved + total > account.limit
        )

    def settle(
        self, hold: str, amount: Decimal, accounts: Sequence[Account]
    ) -> tuple[AccountState, ...]:
        """Drop the hold and count ``amount`` as spent; a second settlement does nothing."""
        with self._lock:
            now = self._clock()
            books = [self._book(a, now) for a in accounts]
            if hold not in self._settled:
                self._settled[hold] = None
                while len(self._settled) > _SETTLED_KEPT:
                    self._settled.popitem(last=False)
                for book in books:
                    book.holds.pop(hold, None)
                    book.spent += amount
            return tuple(b.state(a.key) for b, a in zip(books, accounts, strict=True))

    def status(self, accounts: Sequence[Account]) -> tuple[AccountState, ...]:
        """Spent and reserved of each account (expired holds dropped first)."""
        with self._lock:
            now = self._clock()
            return tuple(self._book(a, now).state(a.key) for a in accounts)

    def reset(self, accounts: Sequence[Account]) -> None:
        """Forget the accounts: spend and holds start again from zero."""
        with self._lock:
            for account in accounts:
                self._books.pop(account.key, None)

    async def areserve(self, holds: Sequence[Hold], accounts: Sequence[Account]) -> Grant:
        return self.reserve(holds, accounts)

    async def asettle(
        self, hold: str, amount: Decimal, accounts: Sequence[Account]
    ) -> tuple[AccountState, ...]:
        return self.settle(hold, amount, accounts)

    async def astatus(self, accounts: Sequence[Account]) -> tuple[AccountState, ...]:
        return self.status(accounts)

    async def areset(self, accounts: Sequence[Account]) -> None:
        self.reset(accounts)
