"""The typed records of the price data: one model's price period, its tiers and rates.

``data/prices.toml`` is read into these (see :mod:`lc_gemini_router.pricing.catalog`).
Money is ``Decimal``, USD per 1M tokens unless a field says otherwise; a rate left out
(None) is unknown, never $0.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Literal, get_args

from pydantic import BaseModel, ConfigDict, Field, model_validator

__all__ = [
    "SERVICE_TIERS",
    "CacheStoragePrice",
    "GroundingPrice",
    "ModelPrice",
    "ModelStatus",
    "Rates",
    "ServiceTier",
    "TierPrices",
]

ServiceTier = Literal["standard", "batch", "flex", "priority"]
SERVICE_TIERS: tuple[ServiceTier, ...] = get_args(ServiceTier)
ModelStatus = Literal["preview", "ga", "deprecated", "shutdown"]

_NonNegative = Field(default=None, ge=0)


class Rates(BaseModel):
    """USD per 1M tokens for one tier (and one prompt-size band) of one model.

    A rate left out (None) is unknown: a call that needs it costs None, with a warning.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    input: Decimal | None = _NonNegative
    """Fresh (uncached) input tokens, including tool-use prompt tokens."""
    output: Decimal | None = _NonNegative
    """Output tokens, thinking tokens included (Gemini bills thinking as output)."""
    cached_input: Decimal | None = _NonNegative
    """Input tokens read from the context cache."""
    image_output: Decimal | None = _NonNegative
    """Generated image tokens; None for models that do not generate images."""


class TierPrices(Rates):
    """Rates of one service tier, with the optional long-prompt band."""

    long_context: Rates | None = None
    """Rates for a whole request whose prompt exceeds the model's long-context threshold."""


class GroundingPrice(BaseModel):
    """Grounding with Google Search: a fee per 1,000 executed search queries.

    Gemini 3 bills each query the model runs (Gemini 2.5 billed each grounded prompt).
    ``free_queries_per_month`` is Google's monthly allowance, shared by every model of a
    project: tell the cost handler how much of it is left (``free_search_queries=``).
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    usd_per_1k_queries: Decimal = Field(ge=0)
    free_queries_per_month: int = Field(default=0, ge=0)


class CacheStoragePrice(BaseModel):
    """Storage of an explicit context cache: USD per 1M cached tokens per hour of its TTL."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    usd_per_1m_tokens_per_hour: Decimal = Field(ge=0)
    verified: bool = True
    """False when only secondary sources confirm the rate."""


class ModelPrice(BaseModel):
    """One price period of one model: identity, lifecycle, and prices per service tier.

    A model whose prices change on a date has one entry per period, each with
    ``effective_from`` / ``effective_until`` (inclusive dates; None is open-ended).
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    id: str = Field(min_length=1)
    display_name: str = ""
    aliases: tuple[str, ...] = ()
    status: ModelStatus = "ga"
    released: date | None = None
    deprecated_on: date | None = None
    shutdown_on: date | None = None
    replacement: str | None = None
    """The model ID to move to when this one is deprecated or shut down."""
    as_of: date
    """When these figures were last checked."""
    source: str = Field(min_length=1)
    """Where the figures come from."""
    verified: bool = True
    """False when only secondary sources confirm the rates (not Google's pricing page):
    pricing with them warns (:class:`~lc_gemini_router.UnverifiedPriceWarning`) once."""
    effective_from: date | None = None
    """First day these rates apply (None: since the model's release)."""
    effective_until: date | None = None
    """Last day these rates apply (None: until further notice)."""
    long_context_threshold: int | None = Field(default=None, gt=0)
    """Prompt size (tokens) above which a tier's ``long_context`` rates apply."""
    free_tier: bool = False
    """Gemini has a free tier for this model (see :meth:`PriceCatalog.with_free_tier`)."""
    grounding: GroundingPrice | None = None
    cache_storage: CacheStoragePrice | None = None
    image_tokens: dict[str, int] = Field(default_factory=dict)
    """Output tokens per generated image, by size (``"512"``, ``"1K"``, ``"2K"``, ``"4K"``)."""
    standard: TierPrices
    batch: TierPrices | None = None
    flex: TierPrices | None = None
    priority: TierPrices | None = None

    @model_validator(mode="after")
    def _check_consistency(self) -> ModelPrice:
        tiers = [t for t in (self.standard, self.batch, self.flex, self.priority) if t]
        if any(t.long_context for t in tiers) and self.long_context_threshold is None:
            msg = f"{self.id}: long_context rates need long_context_threshold"
            raise ValueError(msg)
        if self.image_tokens and self.standard.image_output is None:
            msg = f"{self.id}: image_tokens given but standard.image_output is missing"
            raise ValueError(msg)
        start, end = self.effective_from, self.effective_until
        if start and end and start > end:
            msg = f"{self.id}: effective_from is after effective_until"
            raise ValueError(msg)
        return self

    def tier(self, service_tier: ServiceTier) -> TierPrices | None:
        """The prices of one service tier, or None when the catalog has none for it."""
        prices: TierPrices | None = getattr(self, service_tier)
        return prices

    def in_force(self, day: date) -> bool:
        """True when these rates apply on ``day``."""
        started = self.effective_from is None or self.effective_from <= day
        return started and (self.effective_until is None or day <= self.effective_until)

    @property
    def retired(self) -> bool:
        """True once Gemini no longer serves this model ID."""
        return self.status == "shutdown"

    def lifecycle_notice(self) -> str | None:
        """A sentence naming the replacement when the ID is deprecated or shut down."""
        if self.status not in ("deprecated", "shutdown"):
            return None
        when = self.shutdown_on if self.status == "shutdown" else self.deprecated_on
        state = "has been shut down" if self.status == "shutdown" else "is deprecated"
        msg = f"model {self.id!r} {state}"
        if when:
            msg += f" (since {when.isoformat()})"
        if self.replacement:
            msg += f"; use {self.replacement!r} instead"
        return msg
