"""Price rules of issue 15, section 3: dated prices, newer models, free tier, grounding,
explicit context caches. Exact Decimal values, from gemini-facts.md."""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path

import pytest

from lc_gemini_router import (
    ConfigError,
    ModelLifecycleWarning,
    PriceCatalog,
    RetiredModelError,
    UnknownPriceWarning,
    UnverifiedPriceWarning,
    default_catalog,
    load_catalog,
    price_cache_storage,
    price_usage,
)


def fresh() -> PriceCatalog:
    """The packaged prices in a catalog of its own: its once-only warnings not yet given."""
    return PriceCatalog(default_catalog().entries(), as_of=default_catalog().as_of)


def usage(inp: int, out: int, *, cached: int = 0) -> dict[str, object]:
    return {
        "input_tokens": inp,
        "output_tokens": out,
        "input_token_details": {"cache_read": cached},
    }


# -- dated prices ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("model", "day", "expected"),
    [
        # gemini-4-argon: $2 / $10 until 2026-11-30, then $4 / $20
        ("gemini-4-argon", date(2026, 10, 13), Decimal("0.002")),  # 500 x 2 + 100 x 10
        ("gemini-4-argon", date(2026, 11, 30), Decimal("0.002")),
        ("gemini-4-argon", date(2026, 12, 1), Decimal("0.004")),  # 500 x 4 + 100 x 20
        # gemini-3.8-flash: $0.75 / $3.75 until 2026-12-31, then $1.50 / $7.50
        ("gemini-3.8-flash", date(2026, 12, 31), Decimal("0.00075")),
        ("gemini-3.8-flash", date(2027, 1, 1), Decimal("0.0015")),
    ],
)
def test_a_call_is_priced_at_the_rate_in_force_on_its_day(
    model: str, day: date, expected: Decimal
) -> None:
    catalog = fresh()
    with pytest.warns(UnverifiedPriceWarning, match="secondary sources"):
        cost = price_usage(model, usage(500, 100), catalog=catalog, at=day)
    assert cost is not None
    assert cost.total == expected
    assert cost.verified is False


def test_the_day_of_a_datetime_is_its_utc_day() -> None:
    # 23:30 on 2026-11-30 in New York is 04:30 on 2026-12-01 in UTC: the new rate.
    new_york = timezone(timedelta(hours=-5))
    late = datetime(2026, 11, 30, 23, 30, tzinfo=new_york)
    with pytest.warns(UnverifiedPriceWarning):
        cost = price_usage("gemini-4-argon", usage(500, 100), catalog=fresh(), at=late)
    assert cost is not None and cost.total == Decimal("0.004")
    assert cost.effective_from == date(2026, 12, 1)


def test_unverified_prices_warn_once_per_catalog() -> None:
    catalog = fresh()
    with pytest.warns(UnverifiedPriceWarning, match="gemini-3.5-flash-lite"):
        first = price_usage("gemini-3.5-flash-lite", usage(500, 100), catalog=catalog)
    second = price_usage("gemini-3.5-flash-lite", usage(500, 100), catalog=catalog)  # silent
    assert first == second
    assert first is not None and first.total == Decimal("0.0004")  # 500 x 0.30 + 100 x 2.50


def test_upcoming_changes_and_periods() -> None:
    catalog = default_catalog()
    argon = catalog.periods("gemini-4-argon")
    assert [(p.effective_from, p.effective_until) for p in argon] == [
        (None, date(2026, 11, 30)),
        (date(2026, 12, 1), None),
    ]
    (change,) = catalog.upcoming("gemini-3.8-flash", after=date(2026, 12, 1))
    assert change.effective_from == date(2027, 1, 1)
    assert (change.standard.input, change.standard.output) == (Decimal("1.50"), Decimal("7.50"))
    assert catalog.upcoming("gemini-3.8-flash", after=date(2027, 1, 1)) == ()


def test_a_day_without_a_price_is_unknown_not_zero(tmp_path: Path) -> None:
    path = tmp_path / "prices.toml"
    path.write_text(
        '[[models]]\nid = "m"\nas_of = 2026-12-01\nsource = "s"\neffective_from = 2027-01-01\n'
        '[models.standard]\ninput = "1"\noutput = "2"\n'
    )
    with pytest.warns(UnknownPriceWarning, match="no price for model 'm' on 2026-12-31"):
        assert (
            price_usage("m", usage(1, 1), catalog=load_catalog(path), at=date(2026, 12, 31)) is None
        )


def test_overlapping_periods_are_rejected(tmp_path: Path) -> None:
    entry = (
        '[[models]]\nid = "m"\nas_of = 2026-12-01\nsource = "s"\n{dates}\n'
        '[models.standard]\ninput = "1"\noutput = "2"\n'
    )
    path = tmp_path / "prices.toml"
    path.write_text(
        entry.format(dates="effective_until = 2026-12-31")
        + entry.format(dates="effective_from = 2026-12-31")
    )
    with pytest.raises(ConfigError, match="price periods of 'm' overlap"):
        load_catalog(path)


# -- newer models and their lifecycle ---------------------------------------------------


@pytest.mark.parametrize(
    ("model", "released"),
    [
        ("gemini-4-argon", date(2026, 10, 13)),
        ("gemini-3.8-flash", date(2026, 9, 2)),
        ("gemini-3.5-flash-lite", date(2026, 7, 21)),
        ("gemini-3.1-flash-lite-image", date(2026, 6, 30)),
    ],
)
def test_newer_models_are_in_the_catalog_with_their_lifecycle(model: str, released: date) -> None:
    entry = default_catalog().current(model)
    assert entry is not None
    assert (entry.status, entry.released) == ("ga", released)
    assert default_catalog().ensure_servable(model) is entry


def test_flash_lite_image_has_no_known_price() -> None:
    catalog = fresh()
    with pytest.warns(UnknownPriceWarning, match="no input, output price"):
        assert price_usage("gemini-3.1-flash-lite-image", usage(10, 10), catalog=catalog) is None
    with pytest.warns(UnknownPriceWarning, match="no image price"):
        cost = price_usage(
            "gemini-3.1-flash-lite-image", usage(10, 1120), catalog=catalog, images=["1K"]
        )
    assert cost is None


def test_cached_input_of_a_model_without_a_cached_rate_is_unknown() -> None:
    catalog = fresh()
    with (
        pytest.warns(UnverifiedPriceWarning),
        pytest.warns(UnknownPriceWarning, match="no cached input price"),
    ):
        assert price_usage("gemini-4-argon", usage(500, 100, cached=400), catalog=catalog) is None


def test_the_retired_image_preview_raises_naming_its_replacement() -> None:
    with pytest.raises(RetiredModelError) as info:
        default_catalog().ensure_servable("gemini-3.1-flash-image-preview")
    assert info.value.replacement == "gemini-3.1-flash-image"
    assert "use 'gemini-3.1-flash-image' instead" in str(info.value)
    with pytest.warns(ModelLifecycleWarning, match="gemini-3.1-flash-image'"):
        price_usage("gemini-3.1-flash-image-preview", usage(1, 0))


# -- free tier ---------------------------------------------------------------------------


def test_a_free_tier_catalog_prices_free_models_at_zero_and_says_so() -> None:
    free = default_catalog().with_free_tier()
    lite = price_usage("gemini-3.1-flash-lite", usage(500, 100), catalog=free)
    pro = price_usage("gemini-3.1-pro-preview", usage(500, 100), catalog=free)
    assert lite is not None and pro is not None
    assert lite.total == 0 and lite.free_tier is True
    assert (lite.input_tokens, lite.output_tokens) == (500, 100)  # tokens still counted
    assert pro.total == Decimal("0.0022") and pro.free_tier is False  # Pro has no free tier
    assert default_catalog().free_tier is False  # the packaged catalog is untouched


# -- grounding with Google Search --------------------------------------------------------


def test_search_queries_are_billed_per_query() -> None:
    # Gemini 3: $14 per 1,000 executed queries, i.e. $0.014 each.
    cost = price_usage("gemini-3.1-pro-preview", usage(500, 100), search_queries=3)
    assert cost is not None
    assert cost.search_cost == Decimal("0.042")
    assert cost.total == Decimal("0.0022") + Decimal("0.042")


def test_free_queries_left_cover_the_first_queries() -> None:
    cost = price_usage(
        "gemini-3.1-flash-lite", usage(500, 100), search_queries=3, free_search_queries=2
    )
    assert cost is not None
    assert (cost.search_queries, cost.free_search_queries) == (3, 2)
    assert cost.search_cost == Decimal("0.014")


def test_negative_search_query_counts_are_a_config_error() -> None:
    with pytest.raises(ConfigError, match="search query counts"):
        price_usage("gemini-3.1-flash-lite", usage(1, 1), search_queries=-1)


def test_search_queries_on_a_model_without_a_grounding_price_are_unknown() -> None:
    with pytest.warns(UnknownPriceWarning, match="no search query price"):
        assert price_usage("gemini-3.1-flash-image", usage(10, 0), search_queries=1) is None


# -- explicit context caches ---------------------------------------------------------------


def test_cache_storage_per_million_tokens_per_hour() -> None:
    catalog = fresh()
    with pytest.warns(UnverifiedPriceWarning, match="storage price"):
        # 100,000 tokens x $4.50 per 1M per hour x 2 hours
        assert price_cache_storage(
            "gemini-3.1-pro-preview", 100_000, 2, catalog=catalog
        ) == Decimal("0.9")
    assert price_cache_storage(
        "gemini-3.1-pro-preview", 1_000_000, "0.25", catalog=catalog
    ) == Decimal("1.125")
    assert price_cache_storage("gemini-3.1-pro-preview", 4096, 1.5, catalog=catalog) == Decimal(
        "0.027648"
    )


def test_cache_storage_unknown_and_bad_input() -> None:
    with pytest.warns(UnknownPriceWarning, match="no context-cache storage price"):
        assert price_cache_storage("gemini-3.1-flash-lite", 100_000, 1) is None
    with pytest.raises(ConfigError, match="tokens"):
        price_cache_storage("gemini-3.1-pro-preview", -1, 1)
    with pytest.raises(ConfigError, match="hours"):
        price_cache_storage("gemini-3.1-pro-preview", 10, "an hour")
    with pytest.raises(ConfigError, match="hours"):
        price_cache_storage("gemini-3.1-pro-preview", 10, -2)
