"""The images the simulator returns: real, tiny PNGs with the pixel size Gemini would send.

Each is a valid PNG (a reader decodes it) of the width and height Gemini generates for
the requested size class and aspect ratio (``pricing.images.image_dimensions``): 1-bit
black pixels, which compress to a few kilobytes even at 4K.
"""

from __future__ import annotations

import base64
import functools
import struct
import zlib

from lc_gemini_router.pricing.images import image_dimensions

__all__ = ["IMAGE_TOKENS", "png_base64", "sample_png"]

IMAGE_TOKENS: dict[str, int] = {"512": 747, "1K": 1120, "2K": 1680, "4K": 2520}
"""Output tokens Gemini bills per generated image, by image size (any aspect ratio)."""


def sample_png(size: str = "512", aspect_ratio: str = "1:1") -> bytes:
    """A valid PNG of an image size ("512", "1K", "2K", "4K"), as the simulator sends."""
    return base64.b64decode(png_base64(size, aspect_ratio))


@functools.cache
def png_base64(size: str, aspect_ratio: str = "1:1") -> str:
    """Base64 of a black PNG with the pixel size of an image size and ratio (1-bit, tiny)."""
    width, height = image_dimensions(size, aspect_ratio)

    def chunk(tag: bytes, data: bytes) -> bytes:
        crc = zlib.crc32(tag + data) & 0xFFFFFFFF
        return struct.pack(">I", len(data)) + tag + data + struct.pack(">I", crc)

    header = struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0)
    pixels = (b"\x00" + b"\x00" * ((width + 7) // 8)) * height  # filter byte + row
    png = b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header)
    png += chunk(b"IDAT", zlib.compress(pixels, 9)) + chunk(b"IEND", b"")
    return base64.b64encode(png).decode("ascii")
