"""A budget's state as users read it: spent, reserved, remaining, and its window.

Example:
    >>> from lc_gemini_router import Budget, GeminiRouter
    >>> router = GeminiRouter(api_key="k", budgets=[Budget(limit="0.50", per="user")])
    >>> [status] = router.budget_status("user", "alice")
    >>> status.spent, status.remaining, status.window
    (Decimal('0'), Decimal('0.50'), 'day')
"""

from __future__ import annotations

from collections.abc import Generator, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any, Literal

from lc_gemini_router.budgets.accounts import Account, AccountState, usd
from lc_gemini_router.budgets.spec import GLOBAL_KEY, Budget, Window, window_bounds
from lc_gemini_router.engine import Effect, State
from lc_gemini_router.errors import ConfigError

if TYPE_CHECKING:
    from lc_gemini_router.router.chat_model import GeminiRouter

__all__ = ["BudgetStatus", "account_of", "budget_steps", "matching"]


@dataclass(frozen=True)
class BudgetStatus:
    """One budget account in its current window. Money in USD, exact."""

    budget: str
    scope: str
    key: str
    window: Window
    limit: Decimal
    spent: Decimal
    """Settled spend of the calls that finished in this window."""
    reserved: Decimal
    """Held for calls in flight (their worst case), released as they settle."""
    window_start: datetime | None
    window_end: datetime | None
    """When the window starts again (UTC); None for ``window="none"``."""

    @property
    def remaining(self) -> Decimal:
        """What a new call may still hold: ``limit - spent - reserved``."""
        return self.limit - self.spent - self.reserved

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe: money as decimal strings, times in ISO 8601."""
        return {
            "budget": self.budget,
            "scope": self.scope,
            "key": self.key,
            "window": self.window,
            "limit": usd(self.limit),
            "spent": usd(self.spent),
            "reserved": usd(self.reserved),
            "remaining": usd(self.remaining),
            "window_end": self.window_end.isoformat() if self.window_end else None,
        }

    @classmethod
    def of(cls, budget: Budget, key: str, state: AccountState, now: float) -> BudgetStatus:
        start, end = window_bounds(budget.window, now)
        return cls(
            budget.name,
            budget.scope,
            key,
            budget.window,
            budget.limit,
            state.spent,
            state.reserved,
            start,
            end,
        )


def account_of(budget: Budget, key: str, now: float) -> Account:
    """The ledger account of ``budget`` for scope value ``key`` at UNIX time ``now``."""
    _, end = window_bounds(budget.window, now)
    return Account(budget.account(key, now), budget.limit, end.timestamp() if end else None)


def matching(budgets: Sequence[Budget], scope: str, key: str | None) -> list[tuple[Budget, str]]:
    """The budgets kept per ``scope`` (``"global"`` or a ``per`` key), with the key to read.

    Raises:
        ConfigError: no budget is kept per ``scope``, or a scoped one is asked without key.
    """
    found = [b for b in budgets if b.scope == scope]
    if not found:
        known = sorted({b.scope for b in budgets}) or ["(no budgets)"]
        msg = f"no budget is kept per {scope!r}; the router's scopes: {', '.join(known)}"
        raise ConfigError(msg)
    if scope == "global":
        return [(b, GLOBAL_KEY) for b in found]
    if not key:
        msg = f"budget_status({scope!r}, key): name the {scope} to report"
        raise ConfigError(msg)
    return [(b, key) for b in found]


def budget_steps(
    router: GeminiRouter, action: Literal["status", "reset"], scope: str, key: str | None
) -> Generator[Effect, Any, list[BudgetStatus]]:
    """Read (or first reset) the current window of ``scope``'s budgets for ``key``."""
    ledger = router.budget_ledger
    if ledger is None or not router.budgets:
        msg = "the router has no budgets (GeminiRouter(budgets=[Budget(...)]))"
        raise ConfigError(msg)
    now = ledger.now()
    found = matching(router.budgets, scope, key)
    accounts = [account_of(budget, value, now) for budget, value in found]
    if action == "reset":
        yield State(ledger, "reset", (accounts,))
    states = yield State(ledger, "status", (accounts,))
    return [
        BudgetStatus.of(b, value, state, now)
        for (b, value), state in zip(found, states, strict=True)
    ]
