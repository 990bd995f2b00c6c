"""Exact totals of a cost log: spend by model and role, savings, the classifier's share."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timezone
from decimal import Decimal

from lc_gemini_router.callbacks.handler import UsageTotals
from lc_gemini_router.keys import ROLE_ANSWER, ROLE_CLASSIFIER, ROLE_SPECULATIVE
from lc_gemini_router.tools.reports.records import ESCALATED_LANES, LogRecord

_ROLE_ORDER = (ROLE_ANSWER, ROLE_CLASSIFIER, ROLE_SPECULATIVE)


class _Totals:
    """A mutable :class:`UsageTotals` while records are added."""

    __slots__ = (
        "cached_tokens",
        "calls",
        "cost",
        "free_search_queries",
        "images",
        "input_tokens",
        "output_tokens",
        "reasoning_tokens",
        "reference_cost",
        "search_queries",
        "standard_cost",
        "standard_reference_cost",
        "unpriced_calls",
    )

    def __init__(self) -> None:
        self.calls = self.unpriced_calls = self.images = 0
        self.input_tokens = self.cached_tokens = self.output_tokens = self.reasoning_tokens = 0
        self.search_queries = self.free_search_queries = 0
        self.cost = self.reference_cost = Decimal(0)
        self.standard_cost = self.standard_reference_cost = Decimal(0)

    def add(self, record: LogRecord) -> None:
        self.calls += 1
        self.input_tokens += record.input_tokens
        self.cached_tokens += record.cached_tokens
        self.output_tokens += record.output_tokens
        self.reasoning_tokens += record.reasoning_tokens
        self.images += record.images
        self.search_queries += record.search_queries
        self.free_search_queries += record.free_search_queries
        if record.cost is None:
            self.unpriced_calls += 1
        else:
            self.cost += record.cost
        self.reference_cost += record.reference_total
        self.standard_cost += record.standard_total
        self.standard_reference_cost += record.standard_reference_total

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
            standard_cost=self.standard_cost,
            standard_reference_cost=self.standard_reference_cost,
            search_queries=self.search_queries,
            free_search_queries=self.free_search_queries,
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
