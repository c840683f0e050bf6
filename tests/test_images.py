"""Stage images must decode completely: every truncation class refused, every valid image kept."""

from __future__ import annotations

import io
import struct
import zlib
from collections.abc import Callable, Iterator

import pytest
from PIL import Image, ImageFile

from collection import founding_collection
from ledger.errors import InvalidImage
from ledger.images import ADAM7, inspect_image


def pillow(mode: str, fmt: str, size: tuple[int, int] = (37, 23), **options: object) -> bytes:
    """A real Pillow-made file with varied pixels (so the compressed data is not trivial)."""
    image = Image.linear_gradient("L").resize(size).convert(mode)
    buffer = io.BytesIO()
    image.save(buffer, fmt, **options)
    return buffer.getvalue()


def chunk(kind: bytes, body: bytes) -> bytes:
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))


def interlaced_png(width: int, height: int) -> bytes:
    """An Adam7 RGB PNG, built by hand: Pillow reads interlaced PNGs but never writes them."""
    raw = bytearray()
    for x0, y0, dx, dy in ADAM7:
        columns = len(range(x0, width, dx))
        for y in range(y0, height, dy):
            if columns:
                raw.append(0)  # filter type None
                raw += bytes((3 * x + y) % 256 for x in range(x0, width, dx) for _ in range(3))
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 1)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(bytes(raw)))
        + chunk(b"IEND", b"")
    )


def chunks(png: bytes) -> Iterator[tuple[bytes, int, int]]:
    """(kind, offset, length) of each chunk."""
    position = 8
    while position < len(png):
        length, kind = struct.unpack(">I4s", png[position : position + 8])
        yield kind, position, length
        position += 12 + length


def last_idat(png: bytes) -> tuple[int, int]:
    offsets = [(offset, length) for kind, offset, length in chunks(png) if kind == b"IDAT"]
    return offsets[-1]


def with_idat_body(png: bytes, change: Callable[[bytes], bytes]) -> bytes:
    """Rewrite the last IDAT's body, with a length and CRC that match the new body."""
    offset, length = last_idat(png)
    body = change(png[offset + 8 : offset + 8 + length])
    return png[:offset] + chunk(b"IDAT", body) + png[offset + 12 + length :]


VALID = {
    "png-grey": pillow("L", "PNG"),
    "png-rgb": pillow("RGB", "PNG"),
    "png-rgba": pillow("RGBA", "PNG"),
    "png-palette": pillow("P", "PNG"),
    "png-1-bit": pillow("1", "PNG"),
    "png-16-bit": pillow("I;16", "PNG"),
    "png-grey-alpha": pillow("LA", "PNG"),
    "png-interlaced": interlaced_png(37, 23),
    "png-interlaced-tiny": interlaced_png(3, 2),
    "png-one-pixel": pillow("RGB", "PNG", (1, 1)),
    "png-unoptimised": pillow("RGB", "PNG", compress_level=0),
    "jpeg": pillow("RGB", "JPEG"),
    "jpeg-progressive": pillow("RGB", "JPEG", progressive=True),
    "jpeg-grey": pillow("L", "JPEG"),
    "webp-lossy": pillow("RGB", "WEBP"),
    "webp-lossless": pillow("RGBA", "WEBP", lossless=True),
}


@pytest.mark.parametrize("name", VALID)
def test_valid_images_are_accepted(name: str) -> None:
    data = VALID[name]
    facts = inspect_image(data, "stage 0")
    with Image.open(io.BytesIO(data)) as image:
        assert (facts.width, facts.height) == image.size
    assert facts.byte_size == len(data)


def test_the_demo_collections_images_are_accepted() -> None:
    drafts = founding_collection(n_artists=3, donations_per_artist=1, size=32, seed=3)
    images = [stage.image for draft in drafts for d in draft.donations for stage in d.stages]
    assert len(images) >= 6
    for image in images:
        assert inspect_image(image).byte_size == len(image)


PNG = VALID["png-rgb"]
IEND = next(offset for kind, offset, _ in chunks(PNG) if kind == b"IEND")
IDAT_OFFSET, IDAT_LENGTH = last_idat(PNG)
IDAT_END = IDAT_OFFSET + 8 + IDAT_LENGTH

TRUNCATED: dict[str, tuple[bytes, str]] = {
    "png-last-byte-cut": (PNG[:-1], "checksum of chunk IEND is cut"),
    "png-end-chunk-missing": (PNG[:IEND], r"end chunk \(IEND\) is missing"),
    "png-end-chunk-header-cut": (PNG[: IEND + 5], "chunk header is cut"),
    "png-cut-inside-data": (PNG[: IDAT_OFFSET + 20], "chunk IDAT is cut"),
    "png-data-checksum-cut": (PNG[: IDAT_END + 2], "checksum of chunk IDAT is cut"),
    "png-data-checksum-missing": (PNG[:IDAT_END], "checksum of chunk IDAT is cut"),
    "png-data-checksum-wrong": (
        PNG[:IDAT_END] + bytes(4) + PNG[IDAT_END + 4 :],
        "checksum of chunk IDAT is wrong",
    ),
    "png-header-only": (PNG[:33], r"end chunk \(IEND\) is missing"),
    "png-garbage-after-end": (PNG + b"\x00garbage", r"8 bytes follow the end chunk \(IEND\)"),
    "png-garbage-inside-data": (
        with_idat_body(PNG, lambda body: body + b"junk"),
        "4 bytes follow the end of the compressed image data",
    ),
    "png-compressed-stream-cut": (
        with_idat_body(PNG, lambda body: body[: len(body) // 2]),
        "compressed image data is cut|does not decompress",
    ),
    "png-too-much-image-data": (
        with_idat_body(PNG, lambda body: zlib.compress(zlib.decompress(body) + bytes(40))),
        "more than the",
    ),
    "png-too-little-image-data": (
        with_idat_body(PNG, lambda body: zlib.compress(zlib.decompress(body)[:-40])),
        "its size needs",
    ),
    "jpeg-end-marker-cut": (VALID["jpeg"][:-2], r"end marker \(EOI\) is missing"),
    "jpeg-half": (VALID["jpeg"][: len(VALID["jpeg"]) // 2], r"end marker \(EOI\) is missing"),
    "jpeg-cut-in-tables-end-marker-kept": (
        VALID["jpeg"][: VALID["jpeg"].index(b"\xff\xda") // 2] + b"\xff\xd9",
        "does not decode",
    ),
    "webp-last-byte-cut": (VALID["webp-lossy"][:-1], "it is cut"),
    "webp-half": (VALID["webp-lossless"][: len(VALID["webp-lossless"]) // 2], "it is cut"),
    "webp-garbage-after-end": (VALID["webp-lossy"] + b"xx", "2 bytes follow the end"),
}


@pytest.mark.parametrize("name", TRUNCATED)
def test_truncated_and_corrupt_images_are_refused_with_the_reason(name: str) -> None:
    data, reason = TRUNCATED[name]
    with pytest.raises(InvalidImage, match=f"^image of stage 2 .*({reason})"):
        inspect_image(data, "image of stage 2")


def test_every_cut_of_a_png_is_refused() -> None:
    """Cut after any byte: no prefix of a PNG is a PNG."""
    for end in range(1, len(PNG)):
        with pytest.raises(InvalidImage):
            inspect_image(PNG[:end])


@pytest.mark.parametrize("name", ["jpeg-end-marker-cut", "png-cut-inside-data", "webp-half"])
def test_a_global_load_truncated_images_does_not_leak_in(
    name: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Another library may set Pillow's global leniency: the ledger loads strictly and restores it."""
    seen: list[bool] = []
    load = ImageFile.ImageFile.load

    def spy(image: ImageFile.ImageFile) -> object:
        seen.append(ImageFile.LOAD_TRUNCATED_IMAGES)
        return load(image)

    monkeypatch.setattr(ImageFile, "LOAD_TRUNCATED_IMAGES", True)
    monkeypatch.setattr(ImageFile.ImageFile, "load", spy)
    with pytest.raises(InvalidImage):
        inspect_image(TRUNCATED[name][0])
    assert inspect_image(VALID["jpeg"]).media_type == "image/jpeg"
    assert inspect_image(VALID["png-rgb"]).media_type == "image/png"
    assert seen, "the full load ran"
    assert not any(seen), "Pillow loaded with LOAD_TRUNCATED_IMAGES on"
    assert ImageFile.LOAD_TRUNCATED_IMAGES is True, "the caller's setting is restored"
