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

Example:
    >>> from lc_gemini_router import price_usage
    >>> cost = price_usage("gemini-3.1-flash-lite", {"input_tokens": 500, "output_tokens": 100})
    >>> cost.total
    Decimal('0.000275')
"""

from __future__ import annotations

import base64
import binascii
import struct
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, fields
from decimal import Decimal
from typing import Any

from langchain_core.messages import BaseMessage

from lc_gemini_router.errors import ConfigError, ModelLifecycleWarning, UnknownPriceWarning
from lc_gemini_router.pricing.catalog import (
    SERVICE_TIERS,
    PriceCatalog,
    Rates,
    ServiceTier,
    default_catalog,
)

__all__ = [
    "DEFAULT_IMAGE_SIZE",
    "CostBreakdown",
    "image_sizes",
    "price_message",
    "price_quietly",
    "price_usage",
]

_PER_MILLION = Decimal(1_000_000)
DEFAULT_IMAGE_SIZE = "1K"
"""Gemini's default image size, assumed when a reply's image size cannot be read."""


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

    @property
    def total(self) -> Decimal:
        """Sum of every part, in USD."""
        return self.input_cost + self.cached_input_cost + self.output_cost + self.image_output_cost

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe view: money as decimal strings, so no precision is lost."""
        # A shallow copy: asdict() would deep-copy every Decimal on each priced call.
        data = {f.name: getattr(self, f.name) for f in fields(self)}
        for key, value in data.items():
            if isinstance(value, Decimal):
                data[key] = str(value)
        data["total"] = str(self.total)
        return data


Problem = tuple[type[Warning], str]
"""A warning to issue: its class and message."""


def _tokens(mapping: Mapping[str, Any] | None, key: str) -> int:
    if not mapping:
        return 0
    value = mapping.get(key) or 0
    return max(int(value), 0)


def price_usage(
    model: str,
    usage: Mapping[str, Any],
    *,
    catalog: PriceCatalog | None = None,
    service_tier: ServiceTier = "standard",
    images: Sequence[str] = (),
) -> CostBreakdown | None:
    """Price one reply from its LangChain ``usage_metadata``.

    Args:
        model: the model ID that answered (``models/`` prefix and aliases allowed).
        usage: a LangChain ``UsageMetadata`` mapping (``input_tokens``,
            ``output_tokens``, ``input_token_details``, ``output_token_details``).
        catalog: the prices to apply; the packaged catalog by default.
        service_tier: ``standard``, ``batch``, ``flex`` or ``priority``.
        images: the size of each generated image (``"512"``, ``"1K"``, ``"2K"``, ``"4K"``).

    Returns:
        The breakdown, or None with an :class:`~lc_gemini_router.UnknownPriceWarning`
        when the catalog has no price for this model, tier, or image output.
        A deprecated or shut-down model ID is priced and warns with its replacement.

    Raises:
        ConfigError: an unknown ``service_tier``.
    """
    cost, problems = price_quietly(
        model, usage, catalog=catalog, service_tier=service_tier, images=images
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
) -> tuple[CostBreakdown | None, list[Problem]]:
    """:func:`price_usage` that returns its warnings instead of issuing them.

    Callback handlers use it: they must never raise (a warning filter set to
    ``error`` would turn a warning into an exception) and warn once per model,
    not once per call.
    """
    if service_tier not in SERVICE_TIERS:
        msg = f"unknown service tier {service_tier!r}; expected one of {', '.join(SERVICE_TIERS)}"
        raise ConfigError(msg)
    entry = (catalog or default_catalog()).get(model, warn=False)
    if entry is None:
        return None, [
            (
                UnknownPriceWarning,
                f"no price for model {model!r}: its cost is unknown (None), not $0",
            )
        ]
    problems: list[Problem] = []
    notice = entry.lifecycle_notice()
    if notice:
        problems.append((ModelLifecycleWarning, notice))
    tier = entry.tier(service_tier)
    if tier is None:
        problems.append(
            (
                UnknownPriceWarning,
                f"no {service_tier} price for model {entry.id!r}: its cost is unknown",
            )
        )
        return None, problems

    prompt = _tokens(usage, "input_tokens")
    cached = min(_tokens(usage.get("input_token_details"), "cache_read"), prompt)
    output = _tokens(usage, "output_tokens")
    reasoning = min(_tokens(usage.get("output_token_details"), "reasoning"), output)

    threshold = entry.long_context_threshold
    long_context = threshold is not None and prompt > threshold
    rates: Rates = tier.long_context if long_context and tier.long_context else tier

    image_tokens = 0
    if images:
        per_image = entry.image_tokens
        unknown_sizes = sorted({size for size in images if size not in per_image})
        if rates.image_output is None or not per_image:
            problems.append(
                (UnknownPriceWarning, f"no image price for model {entry.id!r} ({service_tier})")
            )
            return None, problems
        if unknown_sizes:
            problems.append(
                (
                    UnknownPriceWarning,
                    f"no token count for {entry.id!r} images of size {unknown_sizes}",
                )
            )
            return None, problems
        image_tokens = sum(per_image[size] for size in images)
    text_output = max(output - image_tokens, 0)

    cost = CostBreakdown(
        model=entry.id,
        service_tier=service_tier,
        long_context=long_context,
        input_tokens=prompt - cached,
        cached_tokens=cached,
        output_tokens=text_output,
        reasoning_tokens=reasoning,
        image_tokens=image_tokens,
        images=len(images),
        input_cost=(prompt - cached) * rates.input / _PER_MILLION,
        cached_input_cost=cached * rates.cached_input / _PER_MILLION,
        output_cost=text_output * rates.output / _PER_MILLION,
        image_output_cost=image_tokens * (rates.image_output or 0) / _PER_MILLION,
    )
    return cost, problems


def price_message(
    message: BaseMessage,
    *,
    model: str | None = None,
    catalog: PriceCatalog | None = None,
    service_tier: ServiceTier = "standard",
) -> CostBreakdown | None:
    """Price an ``AIMessage`` (or merged stream chunk) from its usage and image blocks.

    The model is read from ``response_metadata["model_name"]`` unless given.
    Returns None (with a warning) when the message has no usage or no model name.
    """
    usage = getattr(message, "usage_metadata", None)
    name = model or message.response_metadata.get("model_name")
    if not usage or not name:
        msg = "reply carries no usage_metadata or model_name: its cost is unknown"
        warnings.warn(msg, UnknownPriceWarning, stacklevel=2)
        return None
    return price_usage(
        name, usage, catalog=catalog, service_tier=service_tier, images=image_sizes(message)
    )


# -- images ---------------------------------------------------------------------------


def image_sizes(message: BaseMessage) -> list[str]:
    """The size class (``"512"``, ``"1K"``, ``"2K"``, ``"4K"``) of each image in a reply.

    Gemini bills images by size; LangChain reports no image token count, so the
    size is read from the image header (PNG, JPEG, WebP, GIF). An image whose size
    cannot be read counts as Gemini's default size, 1K.
    """
    content = message.content
    if isinstance(content, str):
        return []
    sizes = []
    for block in content:
        data = _image_data(block)
        if data is not None:
            sizes.append(_size_class(_dimensions(data)))
    return sizes


def _image_data(block: object) -> bytes | None:
    """The decoded bytes of an image content block, b"" when present but unreadable."""
    if not isinstance(block, Mapping):
        return None
    kind = block.get("type")
    encoded: object = None
    if kind == "image":  # LangChain v1 standard block
        encoded = block.get("base64") or block.get("data")
    elif kind == "image_url":  # OpenAI-style block, as langchain-google-genai emits
        url = block.get("image_url")
        url = url.get("url") if isinstance(url, Mapping) else url
        if isinstance(url, str) and url.startswith("data:") and "," in url:
            encoded = url.split(",", 1)[1]
        else:
            return b""
    elif kind == "media" and str(block.get("mime_type", "")).startswith("image/"):
        encoded = block.get("data")
    else:
        return None
    if isinstance(encoded, bytes):
        return encoded
    if isinstance(encoded, str):
        try:
            return base64.b64decode(encoded[:65536] + "=" * (-len(encoded[:65536]) % 4))
        except (binascii.Error, ValueError):
            return b""
    return b""


def _dimensions(data: bytes) -> tuple[int, int] | None:
    """Width and height from an image header, or None for an unknown format."""
    if data.startswith(b"\x89PNG\r\n\x1a\n") and len(data) >= 24:
        width, height = struct.unpack(">II", data[16:24])
        return int(width), int(height)
    if data[:6] in (b"GIF87a", b"GIF89a") and len(data) >= 10:
        width, height = struct.unpack("<HH", data[6:10])
        return int(width), int(height)
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP" and len(data) >= 30:
        if data[12:16] == b"VP8X":
            width = 1 + int.from_bytes(data[24:27], "little")
            height = 1 + int.from_bytes(data[27:30], "little")
            return width, height
        return None
    if data.startswith(b"\xff\xd8"):
        return _jpeg_dimensions(data)
    return None


def _jpeg_dimensions(data: bytes) -> tuple[int, int] | None:
    index = 2
    while index + 9 < len(data):
        if data[index] != 0xFF:
            return None
        marker = data[index + 1]
        length = int.from_bytes(data[index + 2 : index + 4], "big")
        # SOF0..SOF15 carry the frame size, except DHT (C4), JPG (C8) and DAC (CC).
        if 0xC0 <= marker <= 0xCF and marker not in (0xC4, 0xC8, 0xCC):
            height, width = struct.unpack(">HH", data[index + 5 : index + 9])
            return int(width), int(height)
        index += 2 + length
    return None


def _size_class(dimensions: tuple[int, int] | None) -> str:
    if dimensions is None:
        return DEFAULT_IMAGE_SIZE
    longest = max(dimensions)
    if longest <= 512:
        return "512"
    if longest <= 1024:
        return "1K"
    if longest <= 2048:
        return "2K"
    return "4K"
