"""Checks on donated images before a single byte is stored: each must decode completely.

Pillow alone is lenient at the edges: it accepts a PNG whose end chunk's checksum is cut, bytes
after the compressed image data, and a JPEG without its end marker. So each format's container is
walked first (PNG chunks and their CRCs, the zlib stream, the JPEG end marker, the WebP RIFF
size), then Pillow's `verify()` runs on one buffer and a full `load()` on a fresh one, with
`ImageFile.LOAD_TRUNCATED_IMAGES` forced off for that call whatever a caller set globally.

Known limit: a JPEG whose scan data is cut but which still ends with an end marker (made by hand;
a cut upload loses the marker) decodes with the rest filled in: libjpeg only warns, and Pillow
drops its warnings. Telling that apart would mean decoding the Huffman data ourselves.
"""

from __future__ import annotations

import io
import struct
import threading
import warnings
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from PIL import Image, ImageFile, UnidentifiedImageError

from ledger.errors import InvalidImage

MAX_IMAGE_BYTES = 10 * 1024 * 1024
MAX_IMAGE_PIXELS = 4096 * 4096
ACCEPTED_FORMATS = {"PNG": "image/png", "JPEG": "image/jpeg", "WEBP": "image/webp"}
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
PNG_CHANNELS = {0: 1, 2: 3, 3: 1, 4: 2, 6: 4}  # colour type → samples per pixel
# (x start, y start, x step, y step) of the seven interlace passes
ADAM7 = (
    (0, 0, 8, 8), (4, 0, 8, 8), (0, 4, 4, 8), (2, 0, 4, 4), (0, 2, 2, 4), (1, 0, 2, 2), (0, 1, 1, 2)
)  # fmt: skip
_STRICT = threading.Lock()


@dataclass(frozen=True)
class ImageFacts:
    media_type: str
    width: int
    height: int
    byte_size: int


def inspect_image(data: bytes, what: str = "image") -> ImageFacts:
    """Refuse, naming `what` and the reason, anything that does not decode completely."""
    if not data:
        raise InvalidImage(f"{what} is empty")
    if len(data) > MAX_IMAGE_BYTES:
        raise InvalidImage(f"{what} is {len(data)} bytes; the limit is {MAX_IMAGE_BYTES}")
    container, reason = _container_problem(data)
    if reason:
        raise InvalidImage(f"{what} is not a complete {container} file: {reason}")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data)) as img:
                fmt = img.format or ""
                width, height = img.size
                if fmt not in ACCEPTED_FORMATS:
                    raise InvalidImage(
                        f"{what} is {fmt or 'an unknown format'}; accepted: PNG, JPEG, WebP"
                    )
                if width * height > MAX_IMAGE_PIXELS:
                    raise InvalidImage(
                        f"{what} is {width}x{height} pixels; the limit is {MAX_IMAGE_PIXELS} pixels"
                    )
                img.verify()
            with _strict_loading(), Image.open(io.BytesIO(data)) as img:
                img.load()
    except InvalidImage:
        raise
    except (
        UnidentifiedImageError,
        OSError,
        SyntaxError,
        ValueError,
        struct.error,
        Image.DecompressionBombError,
        Image.DecompressionBombWarning,
    ) as exc:
        raise InvalidImage(f"{what} does not decode as PNG, JPEG or WebP: {exc}") from None
    return ImageFacts(ACCEPTED_FORMATS[fmt], width, height, len(data))


@contextmanager
def _strict_loading() -> Iterator[None]:
    """Pillow reads truncation tolerance from a module global: hold it False while loading."""
    with _STRICT:
        previous = ImageFile.LOAD_TRUNCATED_IMAGES
        ImageFile.LOAD_TRUNCATED_IMAGES = False
        try:
            yield
        finally:
            ImageFile.LOAD_TRUNCATED_IMAGES = previous


def _container_problem(data: bytes) -> tuple[str, str | None]:
    """The container named by the file's magic bytes, and what is wrong with it (None: nothing).

    Files of no accepted container pass here and are refused by Pillow or the format check.
    """
    if data.startswith(PNG_SIGNATURE):
        return "PNG", _png_problem(data)
    if data.startswith(b"\xff\xd8\xff"):
        return "JPEG", None if data.endswith(b"\xff\xd9") else "the end marker (EOI) is missing"
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "WebP", _webp_problem(data)
    return "", None


def _webp_problem(data: bytes) -> str | None:
    """The RIFF header states the file's length; it must be exactly the bytes given."""
    stated = 8 + struct.unpack("<I", data[4:8])[0]
    if stated > len(data):
        return f"it is cut: the header states {stated} bytes, {len(data)} arrived"
    if stated < len(data):
        return f"{len(data) - stated} bytes follow the end of the WebP data"
    return None


def _png_problem(data: bytes) -> str | None:
    """Every chunk whole with a correct CRC, IEND last, and one zlib stream of the exact size."""
    position, header, image_data = len(PNG_SIGNATURE), b"", bytearray()
    while position < len(data):
        if position + 8 > len(data):
            return f"a chunk header is cut at byte {position}"
        length, kind = struct.unpack(">I4s", data[position : position + 8])
        name = kind.decode("latin-1")
        body_end = position + 8 + length
        if body_end > len(data):
            return f"chunk {name} is cut: {len(data) - position - 8} of {length} bytes"
        if body_end + 4 > len(data):
            return f"the checksum of chunk {name} is cut"
        (crc,) = struct.unpack(">I", data[body_end : body_end + 4])
        if zlib.crc32(data[position + 4 : body_end]) != crc:
            return f"the checksum of chunk {name} is wrong"
        body = data[position + 8 : body_end]
        position = body_end + 4
        if kind == b"IHDR":
            header = body
        elif kind == b"IDAT":
            image_data += body
        elif kind == b"IEND":
            if position != len(data):
                return f"{len(data) - position} bytes follow the end chunk (IEND)"
            return _png_stream_problem(header, bytes(image_data))
    return "the end chunk (IEND) is missing"


def _png_stream_problem(header: bytes, stream: bytes) -> str | None:
    """Decompress (discarding output, never more than the size needs) and compare lengths."""
    if len(header) != 13:
        return "the header chunk (IHDR) is missing or malformed"
    width, height, depth, colour, _, _, interlace = struct.unpack(">IIBBBBB", header)
    if width * height > MAX_IMAGE_PIXELS:
        return None  # refused by the pixel limit, before anything is decompressed
    if colour not in PNG_CHANNELS:
        return f"colour type {colour} is not defined"
    bits = depth * PNG_CHANNELS[colour]
    passes = ADAM7 if interlace else ((0, 0, 1, 1),)
    expected = 0
    for x0, y0, dx, dy in passes:
        columns, rows = -(-(width - x0) // dx), -(-(height - y0) // dy)
        if columns > 0 and rows > 0:
            expected += rows * (1 + -(-columns * bits // 8))
    if not stream:
        return "there is no image data (IDAT)"
    inflater = zlib.decompressobj()
    produced, pending = 0, stream
    try:
        while pending and not inflater.eof:
            produced += len(inflater.decompress(pending, 1 << 20))
            pending = inflater.unconsumed_tail
            if produced > expected:
                return f"the image data holds more than the {expected} bytes its size needs"
        produced += len(inflater.flush())  # what zlib still held once all input was read
    except zlib.error as exc:
        return f"the image data does not decompress ({exc})"
    if not inflater.eof:
        return "the compressed image data is cut"
    if inflater.unused_data:
        return f"{len(inflater.unused_data)} bytes follow the end of the compressed image data"
    if produced != expected:
        return f"the image data holds {produced} bytes; its size needs {expected}"
    return None
