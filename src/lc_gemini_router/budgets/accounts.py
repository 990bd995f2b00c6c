"""The records a budget ledger reads and returns: accounts, holds, grants, states.

Plain frozen dataclasses with no I/O, shared by the in-memory ledger, the Redis
ledger and the router's guard.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

__all__ = ["Account", "AccountState", "Grant", "Hold", "usd"]


@dataclass(frozen=True)
class Account:
    """One budget's account for one scope value in one window."""

    key: str
    """``"{budget}|{scope value}|{window start}"`` (see ``Budget.account``)."""
    limit: Decimal
    expires_at: float | None = None
    """UNIX time when the window ends (None: never); a ledger may drop it some time after."""


@dataclass(frozen=True)
class Hold:
    """A reservation: ``amount`` USD held until it is settled or ``ttl`` runs out."""

    id: str
    amount: Decimal


@dataclass(frozen=True)
class AccountState:
    """What an account has spent (settled) and holds (reserved, not yet settled)."""

    key: str
    spent: Decimal
    reserved: Decimal


@dataclass(frozen=True)
class Grant:
    """The answer to a reservation: every hold was made, or none was."""

    refused: tuple[int, ...]
    """Indexes of the accounts the holds did not fit (empty: reserved)."""
    states: tuple[AccountState, ...]
    """Each account as the ledger saw it (after the holds, when they were made)."""
    note: str | None = None
    """Set when the ledger could not be asked and let the call go on (fail-open)."""

    @property
    def ok(self) -> bool:
        return not self.refused


def usd(amount: Decimal) -> str:
    """An amount as a plain decimal string (``"0.000275"``, never ``"2.75E-4"``)."""
    text = format(amount.normalize(), "f")
    return "0" if text in ("-0", "") else text
