"""The images the simulator returns: real, tiny PNGs with the pixel size Gemini would send."""

from __future__ import annotations

import base64
import functools
import struct
import zlib

__all__ = ["IMAGE_TOKENS", "png_base64", "sample_png"]

IMAGE_TOKENS: dict[str, int] = {"512": 747, "1K": 1120, "2K": 1680, "4K": 2520}
"""Output tokens Gemini bills per generated image, by image size."""
_IMAGE_PIXELS = {"512": 512, "1K": 1024, "2K": 2048, "4K": 4096}


def sample_png(size: str = "512") -> bytes:
    """A valid PNG of an image size tier ("512", "1K", "2K", "4K"), as the simulator sends."""
    return base64.b64decode(png_base64(size))


@functools.cache
def png_base64(size: str) -> str:
    """Base64 of a black square PNG with the pixel size of an image tier (1-bit, tiny)."""
    side = _IMAGE_PIXELS[size]

    def chunk(tag: bytes, data: bytes) -> bytes:
        crc = zlib.crc32(tag + data) & 0xFFFFFFFF
        return struct.pack(">I", len(data)) + tag + data + struct.pack(">I", crc)

    header = struct.pack(">IIBBBBB", side, side, 1, 0, 0, 0, 0)
    pixels = (b"\x00" + b"\x00" * ((side + 7) // 8)) * side
    png = b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header)
    png += chunk(b"IDAT", zlib.compress(pixels, 9)) + chunk(b"IEND", b"")
    return base64.b64encode(png).decode("ascii")
