"""A sample, read: its requests, some perhaps still waiting for a classifier score."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any, Literal

from langchain_core.messages import BaseMessage

from lc_gemini_router.errors import ConfigError
from lc_gemini_router.pricing.catalog import ServiceTier
from lc_gemini_router.pricing.costs import price_quietly
from lc_gemini_router.routing.policy import RouteDecision
from lc_gemini_router.routing.thresholds import ScoredRequest

SampleFormat = Literal["cost-log", "requests"]
"""The two sample formats: a router cost log, or request lines."""

DEFAULT_OUTPUT_TOKENS = 300
"""Reply length assumed for a request line without ``output_tokens``."""
CHARS_PER_TOKEN = 4
"""Characters per token when token counts are estimated from text."""
CLASSIFIER_OUTPUT_TOKENS = 20
"""Output tokens assumed for one classifier call (its JSON score)."""

_RULE_SOURCES = frozenset({"rule", "override", "sticky"})
_SCORED_SOURCES = frozenset({"classifier", "cache"})


@dataclass(frozen=True)
class PendingRequest:
    """A request line that the rules leave open and that has no score yet.

    :func:`score_sample` scores it with a router's classifier.
    """

    id: str
    messages: tuple[BaseMessage, ...]
    tools: int
    """Tools bound to the request (placeholders are bound when it is scored)."""
    lite_cost: Decimal | None
    pro_cost: Decimal | None
    where: str
    """``file:line`` of the request."""


@dataclass(frozen=True)
class Sample:
    """A sample file, read: its requests in file order, some perhaps still pending."""

    path: Path
    format: SampleFormat
    entries: tuple[ScoredRequest | PendingRequest, ...]
    notes: tuple[str, ...] = ()
    """Things worth telling the user (unknown prices, unattributed classifier calls)."""

    @property
    def pending(self) -> tuple[PendingRequest, ...]:
        """The requests that still need a classifier score."""
        return tuple(e for e in self.entries if isinstance(e, PendingRequest))

    @property
    def requests(self) -> list[ScoredRequest]:
        """The requests, when none is pending.

        Raises:
            ConfigError: some requests have no score yet.
        """
        return self.with_scores(())

    def with_scores(self, scored: Sequence[ScoredRequest]) -> list[ScoredRequest]:
        """Every request in file order, the pending ones replaced by ``scored`` (in order).

        Raises:
            ConfigError: ``scored`` does not have one request per pending one.
        """
        pending = self.pending
        if len(scored) != len(pending):
            first = f" (first: {pending[0].where})" if pending else ""
            given = f", {len(scored)} scores given" if scored else ""
            msg = (
                f"{self.path}: {len(pending)} requests have no score{first}{given}: score "
                'them with the classifier (score_sample) or add "score" to each line'
            )
            raise ConfigError(msg)
        scores = iter(scored)
        return [next(scores) if isinstance(e, PendingRequest) else e for e in self.entries]


def _from_decision(
    request_id: str,
    decision: RouteDecision,
    lite_cost: Decimal | None,
    pro_cost: Decimal | None,
    classifier_cost: Decimal,
) -> ScoredRequest:
    """A request as its routing decision describes it."""
    scored = decision.score is not None and decision.needs_tools is not None
    if decision.source in _SCORED_SOURCES or (decision.source == "fallback" and scored):
        # Scored by the classifier (a lane failure afterwards does not change that).
        return ScoredRequest(
            request_id,
            score=decision.score,
            category=decision.category or "chat",
            needs_tools=bool(decision.needs_tools),
            tools=decision.tools,
            lite_cost=lite_cost,
            pro_cost=pro_cost,
            classifier_cost=classifier_cost,
        )
    if decision.source in _RULE_SOURCES or decision.fallback_from is not None:
        # Rules fixed the lane; a lane failure then moved it, which no threshold changes.
        return ScoredRequest(
            request_id,
            score=decision.score,
            rule_lane=decision.fallback_from or decision.lane,
            category=decision.category or "chat",
            tools=decision.tools,
            lite_cost=lite_cost,
            pro_cost=pro_cost,
            classifier_cost=classifier_cost,
        )
    # The classifier failed or was skipped: the fallback lane answers.
    return ScoredRequest(
        request_id,
        tools=decision.tools,
        lite_cost=lite_cost,
        pro_cost=pro_cost,
        classifier_cost=classifier_cost,
    )


def _price(
    model: str, usage: Mapping[str, Any], tier: ServiceTier, problems: dict[str, None]
) -> Decimal | None:
    cost, found = price_quietly(model, usage, service_tier=tier)
    for _, text in found:
        problems[text] = None
    return cost.total if cost is not None else None


def _tool_names(count: int) -> tuple[str, ...]:
    return tuple(f"tool_{i}" for i in range(1, count + 1))
