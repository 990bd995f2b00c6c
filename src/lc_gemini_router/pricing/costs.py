"""The cost engine: one reply's tokens in, an exact ``Decimal`` breakdown out.

The rules it applies (see the README, "How a call is priced"):

- ``usage_metadata.input_tokens`` already includes cached tokens
  (``input_token_details.cache_read``): bill ``input - cache_read`` at the input
  rate and ``cache_read`` at the cached rate.
- ``output_tokens`` includes thinking tokens (``output_token_details.reasoning``),
  which Gemini bills as output.
- A prompt above the model's long-context threshold (200k tokens for 3.1 Pro)
  moves the *whole* request to the long-context rates: input, cache and output.
- Generated images are not split out by LangChain: count the reply's image blocks;
  their tokens are taken out of ``output_tokens`` and billed at the image rate.
- Google Search grounding bills each executed query (Gemini 3); queries covered by
  the monthly free allowance cost nothing and are counted apart.
- A call is priced at the rates in force on its day (UTC); with a free-tier catalog
  a model that has a free tier costs $0, and the breakdown says so.
- Usage that is not whole token counts >= 0 (or whose parts exceed their whole) is
  not priced: None and a warning, never a guess.

Money is computed in a local ``decimal`` context, whatever context the caller has set.

Example:
    >>> from lc_gemini_router import price_usage
    >>> cost = price_usage("gemini-3.1-flash-lite", {"input_tokens": 500, "output_tokens": 100})
    >>> cost.total
    Decimal('0.000275')
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, fields
from datetime import date, datetime
from decimal import Decimal, localcontext
from typing import Any

from langchain_core.messages import BaseMessage

from lc_gemini_router.errors import (
    ConfigError,
    ModelLifecycleWarning,
    UnknownPriceWarning,
    UnverifiedPriceWarning,
)
from lc_gemini_router.pricing.catalog import (
    SERVICE_TIERS,
    PriceCatalog,
    Rates,
    ServiceTier,
    default_catalog,
    utc_day,
)
from lc_gemini_router.pricing.images import DEFAULT_IMAGE_SIZE, image_sizes
from lc_gemini_router.pricing.money import MONEY, PER_MILLION, add_money
from lc_gemini_router.pricing.usage import TokenCounts, read_usage, search_queries

__all__ = [
    "DEFAULT_IMAGE_SIZE",
    "CostBreakdown",
    "image_sizes",
    "price_message",
    "price_quietly",
    "price_usage",
]

_ZERO = Decimal(0)


@dataclass(frozen=True)
class CostBreakdown:
    """The exact price of one reply. Token counts are those billed at each rate."""

    model: str
    """Canonical ID of the model whose prices were applied."""
    service_tier: ServiceTier
    long_context: bool
    """True when the prompt exceeded the model's long-context threshold."""
    input_tokens: int
    """Fresh (uncached) input tokens."""
    cached_tokens: int
    output_tokens: int
    """Text output tokens, thinking included (image tokens excluded)."""
    reasoning_tokens: int
    """The thinking part of ``output_tokens`` (already billed there)."""
    image_tokens: int
    images: int
    input_cost: Decimal
    cached_input_cost: Decimal
    output_cost: Decimal
    image_output_cost: Decimal
    search_queries: int = 0
    """Google Search queries the model executed (grounding)."""
    free_search_queries: int = 0
    """The part of ``search_queries`` covered by the monthly free allowance (not billed)."""
    search_cost: Decimal = _ZERO
    """USD of the billed search queries."""
    free_tier: bool = False
    """Priced as a call on a free-tier key: every cost is $0."""
    verified: bool = True
    """False when only secondary sources confirm the rates applied."""
    effective_from: date | None = None
    """First day of the price period applied (None: the model's only prices)."""

    @property
    def total(self) -> Decimal:
        """Sum of every part, in USD."""
        return add_money(
            self.input_cost,
            self.cached_input_cost,
            self.output_cost,
            self.image_output_cost,
            self.search_cost,
        )

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe view: money as decimal strings, so no precision is lost."""
        # A shallow copy: asdict() would deep-copy every Decimal on each priced call.
        data = {f.name: getattr(self, f.name) for f in fields(self)}
        for key, value in data.items():
            if isinstance(value, (Decimal, date)):
                data[key] = str(value)
        data["total"] = str(self.total)
        return data


Problem = tuple[type[Warning], str]
"""A warning to issue: its class and message."""


def price_usage(
    model: str,
    usage: Mapping[str, Any],
    *,
    catalog: PriceCatalog | None = None,
    service_tier: ServiceTier = "standard",
    images: Sequence[str] = (),
    search_queries: int = 0,
    free_search_queries: int = 0,
    at: date | datetime | None = None,
) -> CostBreakdown | None:
    """Price one reply from its LangChain ``usage_metadata``.

    Args:
        model: the model ID that answered (``models/`` or a Vertex AI resource name
            prefix and aliases allowed).
        usage: a LangChain ``UsageMetadata`` mapping (``input_tokens``,
            ``output_tokens``, ``input_token_details``, ``output_token_details``).
        catalog: the prices to apply; the packaged catalog by default.
        service_tier: ``standard``, ``batch``, ``flex`` or ``priority``.
        images: the size of each generated image (``"512"``, ``"1K"``, ``"2K"``, ``"4K"``).
        search_queries: Google Search queries the reply executed (grounding).
        free_search_queries: how many free queries of this month's allowance are left;
            they cover this reply's first queries. Default: none assumed.
        at: when the call was made (a date, or a datetime; naive means UTC); the rates
            in force on that day apply. Default: now.

    Returns:
        The breakdown, or None with an :class:`~lc_gemini_router.UnknownPriceWarning`
        when the usage is not valid token counts, or the catalog has no price for
        this model, day, tier, cached input, image output or search query.
        A deprecated or shut-down model ID is priced and warns with its replacement;
        rates only secondary sources confirm are priced and warn once per catalog.

    Raises:
        ConfigError: an unknown ``service_tier``, or a negative search query count.
    """
    cost, problems = price_quietly(
        model,
        usage,
        catalog=catalog,
        service_tier=service_tier,
        images=images,
        search_queries=search_queries,
        free_search_queries=free_search_queries,
        at=at,
    )
    for category, message in problems:
        warnings.warn(message, category, stacklevel=2)
    return cost


def price_quietly(
    model: str,
    usage: Mapping[str, Any],
    *,
    catalog: PriceCatalog | None = None,
    service_tier: ServiceTier = "standard",
    images: Sequence[str] = (),
    search_queries: int = 0,
    free_search_queries: int = 0,
    at: date | datetime | None = None,
) -> tuple[CostBreakdown | None, list[Problem]]:
    """:func:`price_usage` that returns its warnings instead of issuing them.

    Callback handlers use it: they must never raise (a warning filter set to
    ``error`` would turn a warning into an exception) and warn once per model,
    not once per call.
    """
    if service_tier not in SERVICE_TIERS:
        msg = f"unknown service tier {service_tier!r}; expected one of {', '.join(SERVICE_TIERS)}"
        raise ConfigError(msg)
    if search_queries < 0 or free_search_queries < 0:
        msg = f"search query counts must be >= 0, got {search_queries} and {free_search_queries}"
        raise ConfigError(msg)
    counts = read_usage(usage)
    if isinstance(counts, str):
        return None, [(UnknownPriceWarning, f"{model} reply: {counts}: its cost is unknown")]
    catalog = catalog or default_catalog()
    day = utc_day(at)
    entry = catalog.get(model, at=day, warn=False)
    if entry is None:
        known = bool(catalog.periods(model))
        why = f"no price for model {model!r} on {day.isoformat()}" if known else ""
        why = why or f"no price for model {model!r}"
        return None, [(UnknownPriceWarning, f"{why}: its cost is unknown (None), not $0")]
    problems: list[Problem] = []
    notice = entry.lifecycle_notice()
    if notice:
        problems.append((ModelLifecycleWarning, notice))
    if not entry.verified and catalog.first_warning(f"unverified:{entry.id}"):
        problems.append(
            (
                UnverifiedPriceWarning,
                f"prices of {entry.id!r} are confirmed by secondary sources only "
                f"({entry.source}); override them if Google bills otherwise",
            )
        )
    tier = entry.tier(service_tier)
    if tier is None:
        problems.append((UnknownPriceWarning, f"no {service_tier} price for model {entry.id!r}"))
        return None, problems

    threshold = entry.long_context_threshold
    long_context = threshold is not None and counts.prompt > threshold
    rates: Rates = tier.long_context if long_context and tier.long_context else tier
    image_tokens = 0
    if images:
        per_image = entry.image_tokens
        if rates.image_output is None or not per_image:
            problems.append((UnknownPriceWarning, f"no image price for model {entry.id!r}"))
            return None, problems
        unknown_sizes = sorted({size for size in images if size not in per_image})
        if unknown_sizes:
            problems.append(
                (UnknownPriceWarning, f"no token count for {entry.id!r} images of {unknown_sizes}")
            )
            return None, problems
        image_tokens = sum(per_image[size] for size in images)
        if image_tokens > counts.output:
            problems.append(
                (
                    UnknownPriceWarning,
                    f"{entry.id} reply: bad usage: {len(images)} image(s) of {image_tokens} "
                    f"tokens exceed its {counts.output} output tokens: its cost is unknown",
                )
            )
            return None, problems
    missing = _missing_rates(rates, counts)
    if search_queries and entry.grounding is None:
        missing.append("search query")
    if missing:
        problems.append(
            (
                UnknownPriceWarning,
                f"no {', '.join(missing)} price for model {entry.id!r} ({service_tier}): "
                "its cost is unknown",
            )
        )
        return None, problems

    free_queries = min(max(free_search_queries, 0), search_queries)
    free = catalog.free_tier and entry.free_tier
    with localcontext(MONEY):

        def cost(tokens: int, rate: Decimal | None) -> Decimal:
            return _ZERO if free or not tokens else tokens * (rate or _ZERO) / PER_MILLION

        fee = entry.grounding.usd_per_1k_queries if entry.grounding else _ZERO
        billed_queries = search_queries - free_queries
        breakdown = CostBreakdown(
            model=entry.id,
            service_tier=service_tier,
            long_context=long_context,
            input_tokens=counts.prompt - counts.cached,
            cached_tokens=counts.cached,
            output_tokens=counts.output - image_tokens,
            reasoning_tokens=counts.reasoning,
            image_tokens=image_tokens,
            images=len(images),
            input_cost=cost(counts.prompt - counts.cached, rates.input),
            cached_input_cost=cost(counts.cached, rates.cached_input),
            output_cost=cost(counts.output - image_tokens, rates.output),
            image_output_cost=cost(image_tokens, rates.image_output),
            search_queries=search_queries,
            free_search_queries=free_queries,
            search_cost=_ZERO if free or not billed_queries else billed_queries * fee / 1000,
            free_tier=free,
            verified=entry.verified,
            effective_from=entry.effective_from,
        )
    return breakdown, problems


def _missing_rates(rates: Rates, counts: TokenCounts) -> list[str]:
    """The names of the rates this call needs that the catalog leaves unknown.

    Input and output rates are always needed, so that a model with no known price is
    never a silent $0 for an empty reply; the cached rate only when tokens are cached.
    """
    missing = []
    if rates.input is None:
        missing.append("input")
    if rates.cached_input is None and counts.cached:
        missing.append("cached input")
    if rates.output is None:
        missing.append("output")
    return missing


def price_message(
    message: BaseMessage,
    *,
    model: str | None = None,
    catalog: PriceCatalog | None = None,
    service_tier: ServiceTier = "standard",
    free_search_queries: int = 0,
    at: date | datetime | None = None,
) -> CostBreakdown | None:
    """Price an ``AIMessage`` (or merged stream chunk) from its usage, images and searches.

    The model is read from ``response_metadata["model_name"]`` unless given; search
    queries from ``response_metadata["grounding_metadata"]["web_search_queries"]``.
    Returns None (with a warning) when the message has no usage or no model name.
    """
    usage = getattr(message, "usage_metadata", None)
    name = model or message.response_metadata.get("model_name")
    if not usage or not name:
        msg = "reply carries no usage_metadata or model_name: its cost is unknown"
        warnings.warn(msg, UnknownPriceWarning, stacklevel=2)
        return None
    return price_usage(
        name,
        usage,
        catalog=catalog,
        service_tier=service_tier,
        images=image_sizes(message),
        search_queries=search_queries(message),
        free_search_queries=free_search_queries,
        at=at,
    )
