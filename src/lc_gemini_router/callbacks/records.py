"""What the cost handler counts: one priced call (`CallRecord`) and running totals."""

from __future__ import annotations

import json
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from lc_gemini_router.pricing.costs import CostBreakdown
from lc_gemini_router.pricing.money import MONEY, add_money

__all__ = ["CallRecord", "UsageTotals"]


@dataclass(frozen=True)
class UsageTotals:
    """Token and cost totals of a group of calls (one model, one role, or all)."""

    calls: int = 0
    unpriced_calls: int = 0
    """Calls whose cost is unknown (no price, no usage, or no model name)."""
    input_tokens: int = 0
    """All input tokens, cached included (as LangChain reports them)."""
    cached_tokens: int = 0
    output_tokens: int = 0
    """All output tokens, thinking included."""
    reasoning_tokens: int = 0
    images: int = 0
    cost: Decimal = Decimal(0)
    """USD of the priced calls."""
    reference_cost: Decimal = Decimal(0)
    """USD the priced calls would have cost on the reference model."""
    standard_cost: Decimal = Decimal(0)
    """USD the priced calls would have cost on the standard tier (batch, flex and
    priority calls repriced; standard calls as they were)."""
    standard_reference_cost: Decimal = Decimal(0)
    """USD the priced calls would have cost on the reference model at the standard tier:
    what an all-Pro setup without the batch lane would have paid."""
    search_queries: int = 0
    """Google Search queries executed (grounding), billed or free."""
    free_search_queries: int = 0
    """The part of ``search_queries`` the monthly free allowance covered."""

    @property
    def total_tokens(self) -> int:
        return self.input_tokens + self.output_tokens

    @property
    def savings(self) -> Decimal:
        """``reference_cost - cost``: what routing saved against the reference model."""
        return MONEY.subtract(self.reference_cost, self.cost)

    @property
    def tier_savings(self) -> Decimal:
        """``standard_cost - cost``: what the service tier saved (batch: about half)."""
        return MONEY.subtract(self.standard_cost, self.cost)

    def add(self, record: CallRecord) -> UsageTotals:
        """These totals with one more call counted."""
        priced = record.cost is not None
        cost = add_money(self.cost, record.cost.total) if record.cost else self.cost
        reference_cost = add_money(self.reference_cost, record.reference_total)
        standard_cost = add_money(self.standard_cost, record.standard_total)
        standard_reference = add_money(
            self.standard_reference_cost, record.standard_reference_total
        )
        return UsageTotals(
            calls=self.calls + 1,
            unpriced_calls=self.unpriced_calls + (0 if priced else 1),
            input_tokens=self.input_tokens + record.input_tokens,
            cached_tokens=self.cached_tokens + record.cached_tokens,
            output_tokens=self.output_tokens + record.output_tokens,
            reasoning_tokens=self.reasoning_tokens + record.reasoning_tokens,
            images=self.images + record.images,
            cost=cost,
            reference_cost=reference_cost,
            standard_cost=standard_cost,
            standard_reference_cost=standard_reference,
            search_queries=self.search_queries + record.search_queries,
            free_search_queries=self.free_search_queries + record.free_search_queries,
        )


@dataclass(frozen=True)
class CallRecord:
    """One finished chat-model run, priced. Written as a JSON line when logging is on.

    A run that failed or was cut off after Gemini reported usage is billed for that
    usage; ``error`` then names the exception.
    """

    run_id: str
    parent_run_id: str | None
    model: str
    role: str
    service_tier: str
    """A :data:`~lc_gemini_router.pricing.catalog.ServiceTier`, or the unknown tier a
    run's metadata named (the call is then unpriced)."""
    input_tokens: int
    cached_tokens: int
    output_tokens: int
    reasoning_tokens: int
    images: int
    cost: CostBreakdown | None
    reference_cost: CostBreakdown | None
    decision: Mapping[str, Any] | None = None
    router_run_id: str | None = None
    """The router run this call belongs to: its own ID for a routed answer, the
    serving router's for its classifier call (None outside a router)."""
    timestamp: float = field(default_factory=time.time)
    search_queries: int = 0
    free_search_queries: int = 0
    """Search queries the monthly free allowance covered (not billed)."""
    error: str | None = None
    """The exception of a failed or cut-off run that still reported usage."""
    standard_cost: CostBreakdown | None = None
    """A call on another tier (batch, flex, priority) priced at the standard tier too;
    None for a standard-tier call (its ``cost`` is that)."""
    standard_reference_cost: CostBreakdown | None = None
    """The reference model at the standard tier, for an answer on another tier."""

    @property
    def reference_total(self) -> Decimal:
        """Reference-model cost, counted only when the call itself is priced."""
        if self.cost is None or self.reference_cost is None:
            return Decimal(0)
        return self.reference_cost.total

    @property
    def standard_total(self) -> Decimal:
        """The call's cost at the standard tier (its cost, for a standard-tier call)."""
        if self.cost is None:
            return Decimal(0)
        return (self.standard_cost or self.cost).total

    @property
    def standard_reference_total(self) -> Decimal:
        """The reference model's cost at the standard tier, when the call has a reference."""
        if self.cost is None or self.reference_cost is None:
            return Decimal(0)
        return (self.standard_reference_cost or self.reference_cost).total

    def to_json(self) -> str:
        """One JSON line; money as decimal strings."""
        data = {
            "ts": round(self.timestamp, 6),
            "run_id": self.run_id,
            "parent_run_id": self.parent_run_id,
            "model": self.model,
            "role": self.role,
            "service_tier": self.service_tier,
            "input_tokens": self.input_tokens,
            "cached_tokens": self.cached_tokens,
            "output_tokens": self.output_tokens,
            "reasoning_tokens": self.reasoning_tokens,
            "images": self.images,
            "cost": str(self.cost.total) if self.cost else None,
            "cost_breakdown": self.cost.to_dict() if self.cost else None,
            "reference_cost": str(self.reference_cost.total) if self.reference_cost else None,
            "standard_cost": str(self.standard_cost.total) if self.standard_cost else None,
            "standard_reference_cost": (
                str(self.standard_reference_cost.total) if self.standard_reference_cost else None
            ),
            "decision": dict(self.decision) if self.decision else None,
            "router_run_id": self.router_run_id,
            "search_queries": self.search_queries,
            "free_search_queries": self.free_search_queries,
            "free_tier": bool(self.cost and self.cost.free_tier),
            "error": self.error,
        }
        return json.dumps(data, default=str, separators=(",", ":"))
