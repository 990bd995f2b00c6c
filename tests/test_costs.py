"""The cost engine: exact Decimal prices for the rules in gemini-facts.md."""

from __future__ import annotations

import base64
import struct
from decimal import Decimal, localcontext

import pytest
from langchain_core.messages import AIMessage

from lc_gemini_router import (
    ConfigError,
    CostBreakdown,
    ModelLifecycleWarning,
    UnknownPriceWarning,
    default_catalog,
    price_message,
    price_usage,
)
from lc_gemini_router.pricing.catalog import ServiceTier
from lc_gemini_router.pricing.costs import image_sizes
from tests.fakes import image_block, png_header


def usage(inp: int, out: int, *, cached: int = 0, thinking: int = 0) -> dict[str, object]:
    return {
        "input_tokens": inp,
        "output_tokens": out,
        "total_tokens": inp + out,
        "input_token_details": {"cache_read": cached},
        "output_token_details": {"reasoning": thinking},
    }


def test_flash_lite_500_in_100_out() -> None:
    cost = price_usage("gemini-3.1-flash-lite", usage(500, 100))
    assert cost is not None
    assert cost.total == Decimal("0.000275")
    assert cost.input_cost == Decimal("0.000125")
    assert cost.output_cost == Decimal("0.00015")


def test_thousand_flash_lite_requests_standard_and_batch() -> None:
    # gemini-facts.md's worked check: $0.275 standard, $0.1375 batch.
    one = price_usage("gemini-3.1-flash-lite", usage(500, 100))
    one_batch = price_usage("gemini-3.1-flash-lite", usage(500, 100), service_tier="batch")
    assert one is not None and one_batch is not None
    assert one.total * 1000 == Decimal("0.275")
    assert one_batch.total * 1000 == Decimal("0.1375")


def test_pro_long_prompt_uses_higher_tier_for_every_token_type() -> None:
    cost = price_usage("gemini-3.1-pro-preview", usage(250_000, 1_000, cached=60_000, thinking=400))
    assert cost == CostBreakdown(
        model="gemini-3.1-pro-preview",
        service_tier="standard",
        long_context=True,
        input_tokens=190_000,
        cached_tokens=60_000,
        output_tokens=1_000,
        reasoning_tokens=400,
        image_tokens=0,
        images=0,
        input_cost=Decimal("0.76"),  # 190,000 x $4.00/1M
        cached_input_cost=Decimal("0.024"),  # 60,000 x $0.40/1M
        output_cost=Decimal("0.018"),  # 1,000 (400 thinking) x $18.00/1M
        image_output_cost=Decimal(0),
    )
    assert cost.total == Decimal("0.802")


def test_pro_threshold_is_strictly_above_200k() -> None:
    at = price_usage("gemini-3.1-pro-preview", usage(200_000, 0))
    above = price_usage("gemini-3.1-pro-preview", usage(200_001, 0))
    assert at is not None and above is not None
    assert not at.long_context and at.total == Decimal("0.4")
    assert above.long_context and above.total == Decimal("0.800004")


def test_customtools_priced_like_pro() -> None:
    a = price_usage("gemini-3.1-pro-preview", usage(1234, 567, cached=100))
    b = price_usage("gemini-3.1-pro-preview-customtools", usage(1234, 567, cached=100))
    assert a is not None and b is not None
    # 1,134 fresh x $2 + 100 cached x $0.20 + 567 x $12, per 1M
    assert a.total == b.total == Decimal("0.009092")


@pytest.mark.parametrize(
    ("tier", "expected"),
    [
        ("standard", Decimal("0.000275")),
        ("batch", Decimal("0.0001375")),
        ("flex", Decimal("0.0001375")),
        ("priority", Decimal("0.000495")),  # 1.8x standard
    ],
)
def test_service_tiers(tier: ServiceTier, expected: Decimal) -> None:
    cost = price_usage("gemini-3.1-flash-lite", usage(500, 100), service_tier=tier)
    assert cost is not None
    assert cost.total == expected


def test_one_1k_image_standard_and_batch() -> None:
    standard = price_usage("gemini-3.1-flash-image", usage(0, 1120), images=["1K"])
    batch = price_usage(
        "gemini-3.1-flash-image", usage(0, 1120), images=["1K"], service_tier="batch"
    )
    assert standard is not None and batch is not None
    assert standard.total == Decimal("0.0672")
    assert standard.output_tokens == 0 and standard.image_tokens == 1120
    assert batch.total == Decimal("0.0336")


def test_image_with_text_bills_text_at_output_rate() -> None:
    # 20 prompt tokens, 1,120 image + 30 text output tokens, one 512 image would be 747.
    cost = price_usage("gemini-3.1-flash-image", usage(20, 1150), images=["1K"])
    assert cost is not None
    assert cost.output_tokens == 30
    assert cost.total == Decimal("0.000005") + Decimal("0.000045") + Decimal("0.0672")


def test_image_on_text_model_is_unpriced() -> None:
    with pytest.warns(UnknownPriceWarning, match="no image price"):
        assert price_usage("gemini-3.1-flash-lite", usage(10, 1120), images=["1K"]) is None


def test_cached_tokens_are_part_of_input() -> None:
    cost = price_usage("gemini-3.1-flash-lite", usage(10_000, 0, cached=8_000))
    assert cost is not None
    assert cost.input_tokens == 2_000
    assert cost.total == Decimal("0.0005") + Decimal("0.0002")


def test_unknown_model_is_none_with_warning_naming_it() -> None:
    with pytest.warns(UnknownPriceWarning, match="gemini-9-ultra"):
        assert price_usage("gemini-9-ultra", usage(10, 10)) is None


def test_shut_down_preview_warns_with_replacement_and_still_prices() -> None:
    with pytest.warns(ModelLifecycleWarning, match="use 'gemini-3.1-flash-image' instead"):
        cost = price_usage("gemini-3.1-flash-image-preview", usage(100, 0))
    assert cost is not None and cost.total == Decimal("0.000025")


def test_deprecated_flash_lite_preview_warns() -> None:
    with pytest.warns(ModelLifecycleWarning, match="deprecated.*gemini-3.1-flash-lite'"):
        price_usage("gemini-3.1-flash-lite-preview", usage(1, 1))


def test_model_id_normalised() -> None:
    for name in (
        "models/gemini-3.1-flash-lite",
        " Gemini-3.1-Flash-Lite",
        "gemini-3.1-flash-lite-001",
    ):
        cost = price_usage(name, usage(500, 100))
        assert cost is not None and cost.model == "gemini-3.1-flash-lite"
    alias = price_usage("nano-banana-2", usage(0, 1120), images=["1K"])
    assert alias is not None and alias.model == "gemini-3.1-flash-image"


def test_unknown_service_tier_raises() -> None:
    with pytest.raises(ConfigError, match="unknown service tier 'turbo'"):
        # "turbo" is deliberately not a ServiceTier: the error path under test.
        price_usage("gemini-3.1-flash-lite", usage(1, 1), service_tier="turbo")  # type: ignore[arg-type]


def test_override_free_tier_key_prices_at_zero() -> None:
    free = default_catalog().with_prices(
        "gemini-3.1-flash-lite", input="0", output="0", cached_input="0"
    )
    cost = price_usage("gemini-3.1-flash-lite", usage(500, 100), catalog=free)
    assert cost is not None and cost.total == Decimal(0)
    # The packaged catalog is untouched.
    base = price_usage("gemini-3.1-flash-lite", usage(500, 100))
    assert base is not None and base.total == Decimal("0.000275")


def test_to_dict_keeps_exact_money_as_strings() -> None:
    cost = price_usage("gemini-3.1-flash-lite", usage(500, 100))
    assert cost is not None
    data = cost.to_dict()
    assert data["total"] == "0.000275"
    assert data["input_cost"] == "0.000125"
    assert data["model"] == "gemini-3.1-flash-lite"


# -- images in replies ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("side", "size"), [(512, "512"), (1024, "1K"), (2048, "2K"), (4096, "4K"), (800, "1K")]
)
def test_image_size_read_from_png_header(side: int, size: str) -> None:
    data = base64.b64encode(png_header(side, side)).decode()
    message = AIMessage(
        content=[
            {"type": "text", "text": "here"},
            {"type": "image_url", "image_url": {"url": f"data:image/png;base64,{data}"}},
        ]
    )
    assert image_sizes(message) == [size]


def test_image_of_unknown_format_counts_as_default_1k() -> None:
    message = AIMessage(content=[{"type": "image", "base64": base64.b64encode(b"????").decode()}])
    assert image_sizes(message) == ["1K"]


def test_price_message_counts_images_and_reads_model_name() -> None:
    data = base64.b64encode(png_header(2048, 1024)).decode()
    message = AIMessage(
        content=[{"type": "image_url", "image_url": {"url": f"data:image/png;base64,{data}"}}],
        usage_metadata={"input_tokens": 40, "output_tokens": 1680, "total_tokens": 1720},
        response_metadata={"model_name": "gemini-3.1-flash-image"},
    )
    cost = price_message(message)
    assert cost is not None
    assert cost.images == 1 and cost.image_tokens == 1680
    assert cost.total == Decimal("0.00001") + Decimal("0.1008")


def test_price_message_without_usage_is_unknown() -> None:
    with pytest.warns(UnknownPriceWarning, match="no usage_metadata"):
        assert price_message(AIMessage(content="hi")) is None


# -- the audit (issue 15): bad usage, image size classes, exact arithmetic --------------


@pytest.mark.parametrize(
    "bad",
    [
        {},
        {"input_tokens": 500},
        {"input_tokens": -5, "output_tokens": 100},
        {"input_tokens": 500, "output_tokens": -1},
        {"input_tokens": 500.7, "output_tokens": 100},
        {"input_tokens": 500, "output_tokens": 100.2},
        {"input_tokens": "500", "output_tokens": 100},
        {"input_tokens": True, "output_tokens": 100},
        {"input_tokens": 500, "output_tokens": 100, "input_token_details": {"cache_read": 501}},
        {"input_tokens": 500, "output_tokens": 100, "input_token_details": {"cache_read": -1}},
        {"input_tokens": 500, "output_tokens": 100, "output_token_details": {"reasoning": 101}},
        {"input_tokens": 500, "output_tokens": 100, "output_token_details": {"reasoning": 1.5}},
    ],
)
def test_bad_usage_is_a_warning_and_none_never_a_guess(bad: dict[str, object]) -> None:
    with pytest.warns(UnknownPriceWarning, match="usage"):
        assert price_usage("gemini-3.1-flash-lite", bad) is None


def test_image_tokens_beyond_the_output_are_bad_usage() -> None:
    # One 2K image is 1,680 output tokens: a reply reporting 1,000 cannot hold it.
    with pytest.warns(UnknownPriceWarning, match="usage"):
        assert price_usage("gemini-3.1-flash-image", usage(10, 1000), images=["2K"]) is None


@pytest.mark.parametrize(
    ("width", "height", "size"),
    [
        (1376, 768, "1K"),  # 16:9 at 1K: its long side is over 1,024
        (768, 1376, "1K"),  # 9:16
        (1584, 672, "1K"),  # 21:9
        (1264, 848, "1K"),  # 3:2
        (688, 384, "512"),  # 16:9 at 512
        (2752, 1536, "2K"),  # 16:9 at 2K
        (1696, 2528, "2K"),  # 2:3 at 2K
        (5504, 3072, "4K"),  # 16:9 at 4K
        (6336, 2688, "4K"),  # 21:9 at 4K
    ],
)
def test_non_square_images_are_classed_by_area(width: int, height: int, size: str) -> None:
    assert image_sizes(AIMessage(content=[image_block(width, height)])) == [size]


def test_a_non_square_1k_image_is_billed_as_1k() -> None:
    message = AIMessage(
        content=[image_block(1376, 768)],
        usage_metadata={"input_tokens": 20, "output_tokens": 1120, "total_tokens": 1140},
        response_metadata={"model_name": "gemini-3.1-flash-image"},
    )
    cost = price_message(message)
    assert cost is not None
    assert cost.image_tokens == 1120 and cost.output_tokens == 0
    assert cost.total == Decimal("0.000005") + Decimal("0.0672")


def test_money_is_exact_whatever_decimal_context_is_active() -> None:
    with localcontext() as ctx:
        ctx.prec = 3  # a caller's low precision must not round our money
        cost = price_usage("gemini-3.1-pro-preview", usage(1234, 567, cached=100))
        assert cost is not None
        assert cost.total == Decimal("0.009092")
        assert cost.to_dict()["total"] == "0.009092"


def test_full_vertex_model_paths_are_recognised() -> None:
    path = "projects/my-proj/locations/us-central1/publishers/google/models/gemini-3.1-pro-preview"
    cost = price_usage(path, usage(500, 100))
    assert cost is not None
    assert cost.model == "gemini-3.1-pro-preview"
    assert cost.total == Decimal("0.0022")


@pytest.mark.parametrize(
    ("block", "sizes"),
    [
        # GIF: little-endian width and height after the signature
        (
            {
                "type": "image",
                "base64": base64.b64encode(b"GIF89a" + struct.pack("<HH", 512, 512)).decode(),
            },
            ["512"],
        ),
        # WebP (VP8X): 24-bit width-1 and height-1
        (
            {
                "type": "image",
                "base64": base64.b64encode(
                    b"RIFF\0\0\0\0WEBPVP8X"
                    + b"\0" * 8
                    + (2751).to_bytes(3, "little")
                    + (1535).to_bytes(3, "little")
                ).decode(),
            },
            ["2K"],
        ),
        # JPEG: an APP0 segment, then SOF0 with height and width
        (
            {
                "type": "media",
                "mime_type": "image/jpeg",
                "data": b"\xff\xd8\xff\xe0\x00\x04\x00\x00\xff\xc0\x00\x11\x08"
                + struct.pack(">HH", 768, 1376)
                + b"\x03"
                + b"\x00" * 9,
            },
            ["1K"],
        ),
        ({"type": "image_url", "image_url": {"url": "https://example.com/cat.png"}}, ["1K"]),
        ({"type": "image", "base64": "not base64 at all!"}, ["1K"]),
        ({"type": "text", "text": "no image here"}, []),
        ("plain string part", []),
    ],
)
def test_image_formats_and_blocks(block: object, sizes: list[str]) -> None:
    # An image whose size cannot be read counts as Gemini's default, 1K.
    assert image_sizes(AIMessage(content=[block])) == sizes  # type: ignore[list-item]


def test_a_text_reply_has_no_images() -> None:
    assert image_sizes(AIMessage(content="just text")) == []
