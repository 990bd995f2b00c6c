"""Generated images: Gemini's size classes, their pixel sizes, and reading them from a reply.

Gemini bills a generated image by its size class (``"512"``, ``"1K"``, ``"2K"``, ``"4K"``),
whatever its aspect ratio: a 16:9 1K image is 1376 x 768, its long side over 1,024, and
it costs what a 1024 x 1024 one costs. So a class is read from the image's *area*: each
class keeps about the area of its square (512², 1024², 2048², 4096²), and the boundary
between two classes is the geometric mean of their areas (a 2:1 step in side length
either way). LangChain reports no image token count, so the pixel size is read from the
image header (PNG, JPEG, WebP, GIF).

The module needs nothing beyond the standard library: the simulator uses the same
table to answer with images of the size Gemini would send.

Example:
    >>> from lc_gemini_router.pricing.images import image_dimensions, size_class
    >>> image_dimensions("1K", "16:9")
    (1376, 768)
    >>> size_class(1376, 768)
    '1K'
"""

from __future__ import annotations

import base64
import binascii
import itertools
import math
import struct
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # typing only: the simulator imports this module without LangChain
    from langchain_core.messages import BaseMessage

__all__ = [
    "ASPECT_RATIOS",
    "DEFAULT_IMAGE_SIZE",
    "IMAGE_SIZES",
    "image_dimensions",
    "image_sizes",
    "size_class",
]

IMAGE_SIZES: tuple[str, ...] = ("512", "1K", "2K", "4K")
"""Gemini's image size classes, smallest first (``imageConfig.imageSize``)."""
DEFAULT_IMAGE_SIZE = "1K"
"""Gemini's default image size, assumed when a reply's image size cannot be read."""
_SIDE = {"512": 512, "1K": 1024, "2K": 2048, "4K": 4096}
_SCALE = {"512": 0.5, "1K": 1, "2K": 2, "4K": 4}

ASPECT_RATIOS: dict[str, tuple[int, int]] = {
    "1:1": (1024, 1024),
    "2:3": (848, 1264),
    "3:2": (1264, 848),
    "3:4": (896, 1200),
    "4:3": (1200, 896),
    "4:5": (928, 1152),
    "5:4": (1152, 928),
    "9:16": (768, 1376),
    "16:9": (1376, 768),
    "21:9": (1584, 672),
}
"""Width x height of a 1K image per aspect ratio, as Gemini's image-generation docs list
them; the other classes scale both sides (512: half, 2K: twice, 4K: four times)."""

# Boundaries between neighbouring classes: the geometric mean of their square areas.
_BOUNDS = [(_SIDE[small] * _SIDE[large], large) for small, large in itertools.pairwise(IMAGE_SIZES)]


def size_class(width: int, height: int) -> str:
    """The size class of a ``width`` x ``height`` image, read from its area.

    An area exactly on a boundary takes the larger class: a cost is never understated.
    """
    area = width * height
    found = IMAGE_SIZES[0]
    for bound, size in _BOUNDS:
        if area >= bound:
            found = size
    return found


def image_dimensions(size: str, aspect_ratio: str = "1:1") -> tuple[int, int]:
    """Width and height of an image Gemini generates at a size class and aspect ratio.

    Ratios beyond the documented table (3.1 Flash Image accepts up to 8:1) keep the
    class's square area, with sides rounded to multiples of 16; they are approximate.

    Raises:
        ValueError: an unknown size class, or a ratio that is not ``W:H`` with W, H > 0.
    """
    if size not in _SCALE:
        msg = f"unknown image size {size!r}; expected one of {', '.join(IMAGE_SIZES)}"
        raise ValueError(msg)
    scale = _SCALE[size]
    if aspect_ratio in ASPECT_RATIOS:
        width, height = ASPECT_RATIOS[aspect_ratio]
        return round(width * scale), round(height * scale)
    parts = aspect_ratio.split(":")
    if len(parts) != 2 or not all(p.isdigit() and int(p) > 0 for p in parts):
        msg = f"aspect ratio {aspect_ratio!r} is not of the form W:H"
        raise ValueError(msg)
    ratio = int(parts[0]) / int(parts[1])
    side = _SIDE[size]
    width = max(16, round(side * math.sqrt(ratio) / 16) * 16)
    height = max(16, round(side / math.sqrt(ratio) / 16) * 16)
    return width, height


def image_sizes(message: BaseMessage) -> list[str]:
    """The size class (``"512"``, ``"1K"``, ``"2K"``, ``"4K"``) of each image in a reply.

    An image whose size cannot be read counts as Gemini's default size, 1K.
    """
    content = message.content
    if isinstance(content, str):
        return []
    sizes = []
    for block in content:
        data = _image_data(block)
        if data is not None:
            dimensions = _dimensions(data)
            sizes.append(DEFAULT_IMAGE_SIZE if dimensions is None else size_class(*dimensions))
    return sizes


def _image_data(block: object) -> bytes | None:
    """The decoded bytes of an image content block, b"" when present but unreadable."""
    if not isinstance(block, Mapping):
        return None
    kind = block.get("type")
    encoded: Any = None
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
        head = encoded[:65536]  # the header is at the start: decode no more than needed
        try:
            return base64.b64decode(head + "=" * (-len(head) % 4))
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
