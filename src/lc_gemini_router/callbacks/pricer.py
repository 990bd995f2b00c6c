"""How one reply becomes a :class:`CallRecord`: its model, tier, day, free allowance, reference.

The cost handler hears LangChain's events; this prices what they carried. The model is
the one the reply names, else the run's ``ls_model_name``; the rates are those of the
run's service tier on the day the call was made; Google Search queries use the month's
free allowance first; an answer is also priced on the reference model (an image answer
is its own reference: an all-Pro setup would ask the image model too). What cannot be
priced is recorded with its cost unknown, and warned about once.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any
from uuid import UUID

from lc_gemini_router.callbacks.records import CallRecord
from lc_gemini_router.callbacks.replies import Reply
from lc_gemini_router.errors import UnknownPriceWarning
from lc_gemini_router.keys import ROLE_ANSWER, SERVICE_TIER_METADATA_KEY
from lc_gemini_router.pricing.catalog import SERVICE_TIERS, PriceCatalog, ServiceTier
from lc_gemini_router.pricing.costs import CostBreakdown, price_quietly
from lc_gemini_router.pricing.usage import TokenCounts, read_usage

__all__ = ["CallPricer", "RunInfo"]

_NO_TOKENS = TokenCounts(prompt=0, cached=0, output=0, reasoning=0)

Warn = Callable[[str, str, type[Warning]], None]
"""Issue a warning once per key: ``warn(key, message, category)``."""


@dataclass(frozen=True)
class RunInfo:
    """What a run's start said about it."""

    role: str
    service_tier: str
    """As the run's metadata gave it: possibly not a known tier."""
    router_run_id: str | None
    model: str | None
    """``ls_model_name`` of the run: the model of a reply that names none."""
    started: float
    """When the call was made: the day whose rates apply."""


class CallPricer:
    """Prices replies into records, with one catalog, reference model and allowance."""

    def __init__(
        self,
        *,
        catalog: PriceCatalog,
        reference_model: str | None,
        free_search_queries: int,
        clock: Callable[[], float],
        warn: Warn,
    ) -> None:
        self.catalog = catalog
        self.reference_model = reference_model
        self._free_queries_left = free_search_queries
        self._clock = clock
        self._warn = warn
        self._lock = threading.Lock()

    @property
    def free_search_queries_left(self) -> int:
        """Free search queries of this month's allowance not used yet."""
        with self._lock:
            return self._free_queries_left

    def record(
        self,
        reply: Reply,
        run_id: UUID,
        parent_run_id: UUID | None,
        info: RunInfo,
        decision: Mapping[str, Any] | None,
        *,
        error: str | None = None,
        reference: bool = True,
    ) -> CallRecord:
        model = reply.model or info.model
        with self._lock:  # the allowance is shared by concurrent calls
            free_queries = min(self._free_queries_left, reply.search_queries)
            self._free_queries_left -= free_queries
        cost = reference_cost = standard = standard_reference = None
        if info.service_tier not in SERVICE_TIERS:
            self._warn(
                f"tier:{info.service_tier}",
                f"unknown service tier {info.service_tier!r} in run metadata "
                f"({SERVICE_TIER_METADATA_KEY}); expected one of {', '.join(SERVICE_TIERS)}: "
                "the call's cost is unknown (None)",
                UnknownPriceWarning,
            )
        elif not reply.usage or model is None:
            self._warn(
                f"nousage:{model}",
                f"a {model or 'model'} reply carried no usage_metadata or model name: "
                "its cost is unknown (None), not $0",
                UnknownPriceWarning,
            )
        else:
            tier: ServiceTier = info.service_tier  # a known tier: checked above
            when = datetime.fromtimestamp(info.started, timezone.utc)
            cost = self._price(model, reply, tier, free_queries, when, warn=True)
            # An all-Pro setup would make the answer calls only (no classifier), and
            # would ask the image model for an image all the same.
            reference_model = None
            if cost is not None and reference and info.role == ROLE_ANSWER:
                if reply.images:
                    reference_cost = cost
                elif self.reference_model:
                    reference_model = self.reference_model
                    reference_cost = self._price(
                        reference_model, reply, tier, free_queries, when, warn=False
                    )
            # Another tier is also priced at standard rates, so both discounts show.
            if cost is not None and tier != "standard":
                standard = self._price(model, reply, "standard", free_queries, when, warn=False)
                if reference_cost is cost:  # an image answer, its own reference
                    standard_reference = standard
                elif reference_cost is not None and reference_model:
                    standard_reference = self._price(
                        reference_model, reply, "standard", free_queries, when, warn=False
                    )
        return self._call_record(
            reply,
            run_id,
            parent_run_id,
            info,
            model=cost.model if cost else model,
            cost=cost,
            reference_cost=reference_cost,
            decision=decision,
            free_queries=free_queries,
            error=error,
            standard_cost=standard,
            standard_reference_cost=standard_reference,
        )

    def _price(
        self,
        model: str,
        reply: Reply,
        tier: ServiceTier,
        free_queries: int,
        when: datetime,
        *,
        warn: bool,
    ) -> CostBreakdown | None:
        cost, problems = price_quietly(
            model,
            reply.usage or {},
            catalog=self.catalog,
            service_tier=tier,
            images=reply.images,
            search_queries=reply.search_queries,
            free_search_queries=free_queries,
            at=when,
        )
        for category, text in problems if warn else ():
            self._warn(text, text, category)
        return cost

    def unpriced(
        self,
        reply: Reply | None,
        run_id: UUID,
        parent_run_id: UUID | None,
        info: RunInfo,
        exc: Exception,
        *,
        error: str | None = None,
    ) -> CallRecord:
        """The record of a call whose pricing raised: counted, with its cost unknown."""
        self._warn(
            f"error:{type(exc).__name__}",
            f"could not price run {run_id}: {exc}: its cost is unknown (None)",
            UnknownPriceWarning,
        )
        reply = reply or Reply(usage=None, model=None, images=[], search_queries=0, decision=None)
        model = reply.model or info.model
        return self._call_record(reply, run_id, parent_run_id, info, model=model, error=error)

    def _call_record(
        self,
        reply: Reply,
        run_id: UUID,
        parent_run_id: UUID | None,
        info: RunInfo,
        *,
        model: str | None,
        cost: CostBreakdown | None = None,
        reference_cost: CostBreakdown | None = None,
        decision: Mapping[str, Any] | None = None,
        free_queries: int = 0,
        error: str | None = None,
        standard_cost: CostBreakdown | None = None,
        standard_reference_cost: CostBreakdown | None = None,
    ) -> CallRecord:
        counts = read_usage(reply.usage)
        tokens = counts if isinstance(counts, TokenCounts) else _NO_TOKENS  # bad usage: 0
        return CallRecord(
            run_id=str(run_id),
            parent_run_id=str(parent_run_id) if parent_run_id else None,
            model=model or "unknown",
            role=info.role,
            service_tier=info.service_tier,
            input_tokens=tokens.prompt,
            cached_tokens=tokens.cached,
            output_tokens=tokens.output,
            reasoning_tokens=tokens.reasoning,
            images=len(reply.images),
            cost=cost,
            reference_cost=reference_cost,
            decision=decision,
            router_run_id=info.router_run_id or (str(run_id) if decision else None),
            timestamp=self._clock(),
            search_queries=reply.search_queries,
            free_search_queries=free_queries,
            error=error,
            standard_cost=standard_cost,
            standard_reference_cost=standard_reference_cost,
        )
