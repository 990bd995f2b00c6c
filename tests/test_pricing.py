"""The price catalog: packaged data, lifecycle, user overrides and files."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest

from lc_gemini_router import (
    ConfigError,
    ModelLifecycleWarning,
    PriceCatalog,
    RetiredModelError,
    default_catalog,
    load_catalog,
)
from lc_gemini_router.pricing.catalog import SERVICE_TIERS

REQUIRED = [
    "gemini-3.1-pro-preview",
    "gemini-3.1-pro-preview-customtools",
    "gemini-3.1-flash-lite",
    "gemini-3.1-flash-lite-preview",
    "gemini-3.1-flash-image",
    "gemini-3.1-flash-image-preview",
    "gemini-3.5-flash",
]


@pytest.mark.parametrize("model", REQUIRED)
def test_packaged_catalog_covers_model_with_date_and_source(model: str) -> None:
    entry = default_catalog().get(model, warn=False)
    assert entry is not None
    assert entry.as_of == date(2026, 11, 23)
    assert entry.source
    standard, batch = entry.standard, entry.batch
    assert standard.input is not None and standard.output is not None
    assert standard.input > 0 and standard.output > 0
    assert batch is not None and batch.input is not None
    assert batch.input == standard.input / 2


def test_pro_is_eight_times_flash_lite() -> None:
    catalog = default_catalog()
    pro = catalog.get("gemini-3.1-pro-preview")
    lite = catalog.get("gemini-3.1-flash-lite")
    assert pro is not None and lite is not None
    assert lite.standard.input is not None and lite.standard.output is not None
    assert pro.standard.input == 8 * lite.standard.input
    assert pro.standard.output == 8 * lite.standard.output


def test_pro_long_context_band_and_grounding() -> None:
    pro = default_catalog().get("gemini-3.1-pro-preview")
    assert pro is not None and pro.standard.long_context is not None
    assert pro.long_context_threshold == 200_000
    assert pro.standard.long_context.input == Decimal("4.00")
    assert pro.standard.long_context.output == Decimal("18.00")
    assert pro.standard.long_context.cached_input == Decimal("0.40")
    assert pro.grounding is not None
    assert pro.grounding.usd_per_1k_queries == Decimal("14.00")
    assert pro.grounding.free_queries_per_month == 5000


def test_lifecycle_records() -> None:
    catalog = default_catalog()
    shut = catalog.get("gemini-3.1-flash-image-preview", warn=False)
    assert shut is not None
    assert shut.status == "shutdown"
    assert shut.shutdown_on == date(2026, 6, 25)
    assert shut.replacement == "gemini-3.1-flash-image"
    image = catalog.get("gemini-3.1-flash-image", warn=False)
    assert image is not None and image.image_tokens["1K"] == 1120 and not image.free_tier
    lite = catalog.get("gemini-3.1-flash-lite", warn=False)
    assert lite is not None and lite.status == "ga" and lite.released == date(2026, 5, 7)


def test_ensure_servable_raises_for_shut_down_id_naming_replacement() -> None:
    with pytest.raises(RetiredModelError, match="use 'gemini-3.1-flash-image' instead") as info:
        default_catalog().ensure_servable("models/gemini-3.1-flash-image-preview")
    assert info.value.replacement == "gemini-3.1-flash-image"


def test_ensure_servable_warns_for_deprecated_and_accepts_unknown() -> None:
    catalog = default_catalog()
    with pytest.warns(ModelLifecycleWarning, match="gemini-3.1-flash-lite-preview"):
        assert catalog.ensure_servable("gemini-3.1-flash-lite-preview") is not None
    assert catalog.ensure_servable("gemini-3.7-flash") is None  # not in the catalog


def test_with_prices_negotiated_long_context_and_new_model() -> None:
    catalog = (
        default_catalog()
        .with_prices("gemini-3.1-pro-preview", input="1.60", output="9.60")
        .with_prices("gemini-3.1-pro-preview", long_context=True, input="3.20")
        .with_prices("gemini-3.7-flash", input="0.5", output="3", cached_input="0.05")
    )
    pro = catalog.get("gemini-3.1-pro-preview")
    assert pro is not None and pro.standard.long_context is not None
    assert (pro.standard.input, pro.standard.output) == (Decimal("1.60"), Decimal("9.60"))
    assert pro.standard.cached_input == Decimal("0.20")  # untouched
    assert pro.standard.long_context.input == Decimal("3.20")
    assert pro.source == "user override"
    assert "gemini-3.7-flash" in catalog and "gemini-3.7-flash" not in default_catalog()


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"inputs": "1"}, "unknown rate name"),
        ({"input": "-1"}, "greater than or equal to 0"),
        ({"tier": "turbo", "input": "1"}, "unknown service tier"),
    ],
)
def test_with_prices_rejects_bad_overrides(kwargs: dict[str, str], match: str) -> None:
    with pytest.raises(ConfigError, match=match):
        # Deliberately bad overrides (an unknown tier, rates as str): each must be rejected.
        default_catalog().with_prices("gemini-3.1-flash-lite", **kwargs)  # type: ignore[arg-type]


def test_with_prices_new_model_needs_all_rates() -> None:
    with pytest.raises(ConfigError, match="gemini-x"):
        default_catalog().with_prices("gemini-x", input="1")


CUSTOM = """
as_of = 2026-12-01
[[models]]
id = "gemini-3.1-flash-lite"
as_of = 2026-12-01
source = "our contract"
[models.standard]
input = "0.20"
output = "1.20"
cached_input = "0.02"
"""


def test_load_catalog_file_and_merge(tmp_path: Path) -> None:
    path = tmp_path / "prices.toml"
    path.write_text(CUSTOM)
    custom = load_catalog(path)
    assert len(custom) == 1
    merged = default_catalog().merged(custom)
    lite = merged.get("gemini-3.1-flash-lite")
    assert lite is not None and lite.standard.input == Decimal("0.20")
    assert "gemini-3.1-pro-preview" in merged
    assert merged.as_of == date(2026, 12, 1)


def test_load_catalog_json(tmp_path: Path) -> None:
    path = tmp_path / "prices.json"
    path.write_text(
        '{"models": [{"id": "m", "as_of": "2026-01-01", "source": "s",'
        ' "standard": {"input": "1", "output": "2", "cached_input": "0.1"}}]}'
    )
    entry = load_catalog(path).get("m")
    assert entry is not None and entry.standard.output == Decimal("2")


@pytest.mark.parametrize(
    ("text", "match"),
    [
        ("models = [", "not valid TOML"),
        ("x = 1", "non-empty 'models' list"),
        ('[[models]]\nid = "m"\nsource = "s"\nas_of = 2026-01-01\n', "invalid entry m"),
        (
            '[[models]]\nid = "m"\nsource = "s"\nas_of = 2026-01-01\n[models.standard]\n'
            'input = "1"\noutput = "1"\ncached_input = "1"\nlong_context = '
            '{input = "2", output = "2", cached_input = "2"}\n',
            "long_context_threshold",
        ),
    ],
)
def test_load_catalog_rejects_malformed_files(tmp_path: Path, text: str, match: str) -> None:
    path = tmp_path / "bad.toml"
    path.write_text(text)
    with pytest.raises(ConfigError, match=match):
        load_catalog(path)


def test_load_catalog_missing_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="cannot read price catalog"):
        load_catalog(tmp_path / "nope.toml")


def test_catalog_is_iterable_and_sized() -> None:
    catalog = default_catalog()
    assert len(list(catalog)) == len(catalog) >= 8
    assert isinstance(catalog, PriceCatalog)
    assert "models/gemini-3.1-pro-preview" in catalog
    assert 42 not in catalog


# -- the audit (issue 15) ------------------------------------------------------------


def test_with_prices_reaches_every_tier_and_band_unless_narrowed() -> None:
    free = default_catalog().with_prices(
        "gemini-3.1-flash-lite", input="0", output="0", cached_input="0"
    )
    lite = free.get("gemini-3.1-flash-lite")
    assert lite is not None
    for tier in SERVICE_TIERS:
        rates = lite.tier(tier)
        assert rates is not None
        assert (rates.input, rates.output, rates.cached_input) == (Decimal(0),) * 3, tier
    pro = default_catalog().with_prices("gemini-3.1-pro-preview", input="1.60")
    entry = pro.get("gemini-3.1-pro-preview")
    assert entry is not None and entry.batch is not None
    assert entry.standard.long_context is not None and entry.batch.long_context is not None
    assert entry.standard.input == entry.standard.long_context.input == Decimal("1.60")
    assert entry.batch.input == entry.batch.long_context.input == Decimal("1.60")
    assert entry.standard.output == Decimal("12.00")  # only the rates named change


def test_with_prices_narrowed_to_one_tier_and_band() -> None:
    catalog = default_catalog().with_prices(
        "gemini-3.1-pro-preview", tier="standard", long_context=False, input="1.60"
    )
    entry = catalog.get("gemini-3.1-pro-preview")
    assert entry is not None and entry.batch is not None
    assert entry.standard.long_context is not None
    assert entry.standard.input == Decimal("1.60")
    assert entry.standard.long_context.input == Decimal("4.00")  # the other band
    assert entry.batch.input == Decimal("1.00")  # the other tiers


def test_vertex_path_of_a_retired_model_raises_naming_the_replacement() -> None:
    path = "projects/p/locations/global/publishers/google/models/gemini-3.1-flash-image-preview"
    with pytest.raises(RetiredModelError, match="use 'gemini-3.1-flash-image' instead"):
        default_catalog().ensure_servable(path)


@pytest.mark.parametrize(
    ("model", "kwargs", "match"),
    [
        ("gemini-3.1-flash-lite", {"long_context": True, "input": "1"}, "no long-context"),
        ("gemini-3.1-flash-image", {"tier": "flex", "input": "0.1"}, "no flex rates"),
        ("gemini-3.1-flash-lite", {"input": "cheap"}, "rates must be numbers"),
        ("gemini-x", {"tier": "batch", "input": "1", "output": "2"}, "standard rates first"),
    ],
)
def test_with_prices_rejects_overrides_it_cannot_apply(
    model: str, kwargs: dict[str, str], match: str
) -> None:
    with pytest.raises(ConfigError, match=match):
        default_catalog().with_prices(model, **kwargs)  # type: ignore[arg-type]


def test_with_prices_adds_a_tier_the_model_lacks() -> None:
    catalog = default_catalog().with_prices(
        "gemini-3.1-flash-image", tier="flex", input="0.125", output="0.75"
    )
    entry = catalog.get("gemini-3.1-flash-image")
    assert entry is not None and entry.flex is not None
    assert (entry.flex.input, entry.flex.output) == (Decimal("0.125"), Decimal("0.75"))


def test_dated_entries_replace_only_the_periods_they_overlap() -> None:
    catalog = default_catalog()
    later = catalog.periods("gemini-3.8-flash")[1]
    cheaper = later.model_copy(
        update={"standard": later.standard.model_copy(update={"input": Decimal("1.20")})}
    )
    updated = catalog.with_model(cheaper)
    periods = updated.periods("gemini-3.8-flash")
    assert [p.standard.input for p in periods] == [Decimal("0.75"), Decimal("1.20")]
    # merged(): the other catalog's model keeps only its own periods.
    flat = PriceCatalog([cheaper.model_copy(update={"effective_from": None})])
    assert len(catalog.merged(flat).periods("gemini-3.8-flash")) == 1


def test_a_model_priced_only_from_a_future_day(tmp_path: Path) -> None:
    path = tmp_path / "prices.toml"
    path.write_text(
        '[[models]]\nid = "m"\nas_of = 2026-12-01\nsource = "s"\neffective_from = 2999-01-01\n'
        '[models.standard]\ninput = "1"\noutput = "2"\n'
    )
    catalog = load_catalog(path)
    assert catalog.get("m") is None  # nothing in force today
    current = catalog.current("m")  # its lifecycle is still known
    assert current is not None and current.effective_from == date(2999, 1, 1)
    assert [e.id for e in catalog] == ["m"]
    assert repr(catalog.with_free_tier()) == "PriceCatalog(1 models, as_of=None, free_tier=True)"
