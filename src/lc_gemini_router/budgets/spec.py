"""What a budget is: a limit in USD, a window in UTC, and what it is kept per.

A :class:`Budget` with ``per=None`` covers the whole deployment; ``per="user"`` (or
``"tenant"``, or any key you name) keeps one account per value of that key, read
from the call's ``configurable`` settings or its run metadata. Each account has one
window at a time: ``"hour"``, ``"day"`` and ``"month"`` start at the top of the UTC
hour, at 00:00 UTC and on the 1st at 00:00 UTC; ``"none"`` never resets.

Example:
    >>> from datetime import datetime, timezone
    >>> from lc_gemini_router import Budget
    >>> from lc_gemini_router.budgets.spec import window_bounds
    >>> daily = Budget(limit="0.50", window="day", per="user")
    >>> daily.name, daily.limit
    ('user-day', Decimal('0.50'))
    >>> noon = datetime(2026, 12, 1, 12, 30, tzinfo=timezone.utc).timestamp()
    >>> start, end = window_bounds("day", noon)
    >>> start.isoformat(), end.isoformat()
    ('2026-12-01T00:00:00+00:00', '2026-12-02T00:00:00+00:00')
    >>> daily.account("alice", noon)
    'user-day|alice|2026-12-01'
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from typing import Any, Literal
from urllib.parse import quote

from pydantic import ConfigDict, Field, model_validator

from lc_gemini_router.config import RouterConfig, _Settings

__all__ = ["GLOBAL_KEY", "Budget", "OnExceed", "Window", "scope_key", "window_bounds"]

Window = Literal["none", "hour", "day", "month"]
"""How often a budget starts again, in UTC."""
OnExceed = Literal["downgrade", "refuse"]
"""What happens when a call's worst case does not fit: answer on lite, or refuse."""
GLOBAL_KEY = "*"
"""The scope key of a global budget (``per=None``)."""

_KEY_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_.-]{0,63}$")
_STAMP = {"hour": "%Y-%m-%dT%H", "day": "%Y-%m-%d", "month": "%Y-%m"}


class Budget(_Settings):
    """A spend limit the router enforces before every API call it makes.

    Attributes:
        limit: USD per window (a string such as ``"50.00"`` keeps it exact).
        window: ``"none"``, ``"hour"``, ``"day"`` or ``"month"`` (UTC).
        per: None for one deployment-wide account, or the key whose value names
            the account (``"user"``, ``"tenant"``...).
        on_exceed: ``"downgrade"``: a call whose lane does not fit goes to lite when
            lite fits (decision source ``budget``); ``"refuse"``: it raises
            :class:`~lc_gemini_router.BudgetExceededError`. Either way nothing is
            sent when nothing fits.
        required: a call that does not carry the ``per`` key raises ``ConfigError``
            (by default such a call is simply not counted against this budget).
        name: how the budget is reported and stored (default ``"{per}-{window}"``,
            ``"global-{window}"`` without ``per``); unique within a router.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    limit: Decimal = Field(gt=0)
    window: Window = "day"
    per: str | None = None
    on_exceed: OnExceed = "downgrade"
    required: bool = False
    name: str = ""

    def __init__(
        self,
        *,
        limit: Decimal | str | int,
        window: Window = "day",
        per: str | None = None,
        on_exceed: OnExceed = "downgrade",
        required: bool = False,
        name: str = "",
        **unknown: Any,  # rejected by validation, with the closest valid name
    ) -> None:
        super().__init__(
            limit=limit,
            window=window,
            per=per,
            on_exceed=on_exceed,
            required=required,
            name=name,
            **unknown,
        )

    @model_validator(mode="after")
    def _check(self) -> Budget:
        if self.per is not None and (
            not _KEY_NAME.match(self.per)
            or self.per in RouterConfig.model_fields
            or self.per == "lane"
        ):
            msg = (
                f"per={self.per!r} must be a plain key name (letters, digits, '_', '.', '-') "
                "that is not a router setting"
            )
            raise ValueError(msg)
        if self.required and self.per is None:
            msg = "required=True needs per= (a global budget applies to every call)"
            raise ValueError(msg)
        if not self.name:
            object.__setattr__(self, "name", f"{self.per or 'global'}-{self.window}")
        elif not _KEY_NAME.match(self.name):
            msg = f"name={self.name!r} must be letters, digits, '_', '.' or '-'"
            raise ValueError(msg)
        return self

    @property
    def scope(self) -> str:
        """``"global"``, or the key the budget is kept per."""
        return self.per or "global"

    def account(self, key: str, now: float) -> str:
        """The ledger account of scope value ``key`` in the window that holds ``now``."""
        start, _ = window_bounds(self.window, now)
        stamp = start.strftime(_STAMP[self.window]) if start is not None else "all"
        return f"{self.name}|{quote(key, safe='')}|{stamp}"


def window_bounds(window: Window, now: float) -> tuple[datetime | None, datetime | None]:
    """Start and end (UTC) of the window that holds the UNIX time ``now``; None for ``none``."""
    if window == "none":
        return None, None
    moment = datetime.fromtimestamp(now, tz=timezone.utc)
    if window == "hour":
        start = moment.replace(minute=0, second=0, microsecond=0)
        return start, start + timedelta(hours=1)
    start = moment.replace(hour=0, minute=0, second=0, microsecond=0)
    if window == "day":
        return start, start + timedelta(days=1)
    start = start.replace(day=1)
    after = start.replace(year=start.year + 1, month=1) if start.month == 12 else None
    return start, after or start.replace(month=start.month + 1)


def scope_key(
    budget: Budget, settings: Mapping[str, Any], metadata: Mapping[str, Any]
) -> str | None:
    """The call's value of ``budget.per``: its per-call settings first, then run metadata.

    LangChain copies plain ``configurable`` values into run metadata, so
    ``configurable={"user": "alice"}`` and ``metadata={"user": "alice"}`` both work,
    as does ``configurable={"lc_gemini_router": {"user": "alice"}}``.
    """
    if budget.per is None:
        return GLOBAL_KEY
    for source in (settings, metadata):
        value = source.get(budget.per)
        if isinstance(value, (str, int)) and not isinstance(value, bool) and str(value):
            return str(value)
    return None
