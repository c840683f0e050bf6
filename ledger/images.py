"""Checks on donated images before a single byte is stored."""

from __future__ import annotations

import io
import warnings
from dataclasses import dataclass

from PIL import Image, UnidentifiedImageError

from ledger.errors import InvalidImage

MAX_IMAGE_BYTES = 10 * 1024 * 1024
MAX_IMAGE_PIXELS = 4096 * 4096
ACCEPTED_FORMATS = {"PNG": "image/png", "JPEG": "image/jpeg", "WEBP": "image/webp"}


@dataclass(frozen=True)
class ImageFacts:
    media_type: str
    width: int
    height: int
    byte_size: int


def inspect_image(data: bytes, what: str = "image") -> ImageFacts:
    """Decode fully (not just the header) so truncated or hostile files are refused up front."""
    if not data:
        raise InvalidImage(f"{what} is empty")
    if len(data) > MAX_IMAGE_BYTES:
        raise InvalidImage(f"{what} is {len(data)} bytes; the limit is {MAX_IMAGE_BYTES}")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data)) as img:
                fmt = img.format or ""
                width, height = img.size
                if width * height > MAX_IMAGE_PIXELS:
                    raise InvalidImage(
                        f"{what} is {width}x{height} pixels; the limit is {MAX_IMAGE_PIXELS} pixels"
                    )
                img.load()
    except InvalidImage:
        raise
    except (
        UnidentifiedImageError,
        OSError,
        SyntaxError,
        ValueError,
        Image.DecompressionBombError,
        Image.DecompressionBombWarning,
    ) as exc:
        raise InvalidImage(f"{what} does not decode as PNG, JPEG or WebP: {exc}") from None
    if fmt not in ACCEPTED_FORMATS:
        raise InvalidImage(f"{what} is {fmt or 'an unknown format'}; accepted: PNG, JPEG, WebP")
    return ImageFacts(ACCEPTED_FORMATS[fmt], width, height, len(data))
