"""Explicit context caches: what keeping one costs, apart from reading it.

Reading cached tokens is priced per call (``cached_input``, in the usage of each reply).
An explicit cache (``client.caches.create``) also pays **storage**: per 1M cached tokens
per hour of its TTL, billed whether or not it is read, and reported by no
``usage_metadata``. Implicit caching has no storage fee.

Example:
    >>> import warnings
    >>> from lc_gemini_router import price_cache_storage
    >>> with warnings.catch_warnings():
    ...     warnings.simplefilter("ignore")  # Pro's storage rate is from a secondary source
    ...     price_cache_storage("gemini-3.1-pro-preview", tokens=100_000, hours=2)
    Decimal('0.90')
"""

from __future__ import annotations

import warnings
from datetime import date, datetime
from decimal import Decimal, InvalidOperation, localcontext

from lc_gemini_router.errors import ConfigError, UnknownPriceWarning, UnverifiedPriceWarning
from lc_gemini_router.pricing.catalog import PriceCatalog, default_catalog
from lc_gemini_router.pricing.money import MONEY, PER_MILLION

__all__ = ["price_cache_storage"]


def price_cache_storage(
    model: str,
    tokens: int,
    hours: int | float | str | Decimal,
    *,
    catalog: PriceCatalog | None = None,
    at: date | datetime | None = None,
) -> Decimal | None:
    """USD to store ``tokens`` in an explicit context cache of ``model`` for ``hours``.

    Args:
        model: the model the cache was created for.
        tokens: the cache's size in tokens (``usage_metadata.total_token_count`` of
            the cache, as ``caches.create`` reports it).
        hours: how long it is kept: its TTL, in hours (``1.5`` is 90 minutes).
        catalog: the prices to apply; the packaged catalog by default.
        at: when the cache was created; the rates in force that day apply.

    Returns:
        The exact cost, or None with an :class:`~lc_gemini_router.UnknownPriceWarning`
        when the catalog has no storage price for the model. A rate only secondary
        sources confirm warns (:class:`~lc_gemini_router.UnverifiedPriceWarning`) the
        first time it is used with a catalog.

    Raises:
        ConfigError: ``tokens`` is not a whole number >= 0, or ``hours`` not a number >= 0.
    """
    if not isinstance(tokens, int) or isinstance(tokens, bool) or tokens < 0:
        msg = f"tokens must be a whole number >= 0, got {tokens!r}"
        raise ConfigError(msg)
    try:
        # str() first: a float becomes the decimal it was typed as (0.1, not 0.1000...055).
        duration = Decimal(str(hours)) if not isinstance(hours, bool) else Decimal("NaN")
    except InvalidOperation:
        duration = Decimal("NaN")
    if not duration.is_finite() or duration < 0:
        msg = f"hours must be a number >= 0, got {hours!r}"
        raise ConfigError(msg)
    catalog = catalog or default_catalog()
    entry = catalog.get(model, at=at, warn=False)
    storage = entry.cache_storage if entry else None
    if entry is None or storage is None:
        msg = f"no context-cache storage price for model {model!r}: its cost is unknown (None)"
        warnings.warn(msg, UnknownPriceWarning, stacklevel=2)
        return None
    if not storage.verified and catalog.first_warning(f"unverified-storage:{entry.id}"):
        msg = (
            f"the context-cache storage price of {entry.id!r} is confirmed by secondary "
            "sources only; override it if Google bills otherwise"
        )
        warnings.warn(msg, UnverifiedPriceWarning, stacklevel=2)
    with localcontext(MONEY):
        return tokens * storage.usd_per_1m_tokens_per_hour * duration / PER_MILLION
