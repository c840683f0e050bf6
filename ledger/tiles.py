"""tlog-tiles (c2sp.org/tlog-tiles): the Merkle tree and its entries as static resources.

A tile at level L, index N holds up to 256 consecutive node hashes at height 8·L:
`MTH(D[(N·256 + i)·256^L : (N·256 + i + 1)·256^L])`, so level 0 holds leaf hashes. A tile of
fewer than 256 hashes is partial and named `.p/W`. Entry bundles hold the level-0 tile's entries,
each prefixed by its big-endian uint16 length. Indices are written in 3-digit groups, all but
the last prefixed with `x` (1234067 → `x001/x234/067`). Pure: paths, hashes and bytes only.
"""

from __future__ import annotations

import re
import struct
from collections.abc import Sequence
from dataclasses import dataclass

from ledger import merkle
from ledger.errors import InvalidInput, NotFound, ProofError

WIDTH = 256
HASH_BYTES = 32
MAX_LEVEL = 63
MAX_ENTRY_BYTES = 0xFFFF
_LEVEL = re.compile(r"0|[1-9][0-9]?")
_WIDTH = re.compile(r"[1-9][0-9]{0,2}")
_GROUP = re.compile(r"x[0-9]{3}")
_LAST = re.compile(r"[0-9]{3}")


@dataclass(frozen=True)
class TileRef:
    """A tile (`level` 0–63) or an entry bundle (`level` None); `width` None: a full one."""

    level: int | None
    index: int
    width: int | None = None

    @property
    def count(self) -> int:
        return WIDTH if self.width is None else self.width

    def path(self) -> str:
        where = "entries" if self.level is None else str(self.level)
        partial = "" if self.width is None else f".p/{self.width}"
        return f"tile/{where}/{encode_index(self.index)}{partial}"

    def span(self) -> tuple[int, int]:
        """The leaves [start, end) this tile's hashes (or entries) cover."""
        per_hash = 1 << (8 * (self.level or 0))
        start = self.index * WIDTH * per_hash
        return start, start + self.count * per_hash


def encode_index(index: int) -> str:
    """`index` as 3-digit path elements, all but the last starting with `x`."""
    if index < 0:
        raise InvalidInput(f"a tile index is not negative, got {index}")
    groups = []
    while True:
        groups.append(f"{index % 1000:03d}")
        index //= 1000
        if index == 0:
            break
    groups.reverse()
    return "/".join(["x" + group for group in groups[:-1]] + [groups[-1]])


def parse_path(path: str) -> TileRef:
    """The tile a path (after `tile/`, e.g. `0/x001/234.p/7` or `entries/005`) names.

    Only the canonical spelling is accepted, so every tile has one URL; NotFound otherwise.
    """
    path = path.strip("/")
    parts = path.split("/")
    if len(parts) < 2:
        raise NotFound(f"not a tile path: {path[:80]!r}")
    where, rest = parts[0], parts[1:]
    width: int | None = None
    if len(rest) >= 2 and rest[-2].endswith(".p"):
        if not _WIDTH.fullmatch(rest[-1]) or int(rest[-1]) >= WIDTH:
            raise NotFound(f"a partial tile's width is 1–255 without leading zeros: {path!r}")
        width = int(rest[-1])
        rest = [*rest[:-2], rest[-2][: -len(".p")]]
    if where == "entries":
        level = None
    elif _LEVEL.fullmatch(where) and int(where) <= MAX_LEVEL:
        level = int(where)
    else:
        raise NotFound(f"a tile level is 0–63 without leading zeros, or 'entries': {path!r}")
    *groups, last = rest
    if not all(_GROUP.fullmatch(group) for group in groups) or not _LAST.fullmatch(last):
        raise NotFound(f"a tile index is 3-digit groups, all but the last x-prefixed: {path!r}")
    index = int("".join(group[1:] for group in groups) + last)
    if encode_index(index) != "/".join(rest):
        raise NotFound(f"a tile index has no leading zero groups: {path!r}")
    return TileRef(level, index, width)


def full_tiles(size: int, level: int) -> int:
    """How many full tiles a tree of `size` leaves has at `level`."""
    return size // (1 << (8 * (level + 1)))


def partial_width(size: int, level: int) -> int:
    """The width of the partial tile at `level` for a tree of `size` (0: there is none)."""
    return (size // (1 << (8 * level))) % WIDTH


def tiles_for(size: int) -> list[TileRef]:
    """Every tile (not entry bundle) a tree of `size` leaves has, level by level."""
    refs: list[TileRef] = []
    level = 0
    while size >= (1 << (8 * level)) and level <= MAX_LEVEL:
        refs.extend(TileRef(level, n) for n in range(full_tiles(size, level)))
        width = partial_width(size, level)
        if width:
            refs.append(TileRef(level, full_tiles(size, level), width))
        level += 1
    return refs


def check_within(ref: TileRef, size: int) -> None:
    """NotFound unless the tile lies inside a tree of `size` (empty tiles are never served)."""
    if ref.span()[1] > size:
        raise NotFound(f"{ref.path()} is not in the log's tree of {size} entries (yet)")


def tile_root(tile: bytes) -> bytes:
    """The Merkle tree hash of a full tile's 256 hashes: one hash of the level above."""
    if len(tile) != WIDTH * HASH_BYTES:
        raise ProofError("only a full tile is hashed into the level above")
    return merkle.root([tile[i : i + HASH_BYTES] for i in range(0, len(tile), HASH_BYTES)])


def entry_bundle(entries: Sequence[bytes]) -> bytes:
    """Entries, each behind its big-endian uint16 length."""
    parts = []
    for entry in entries:
        if len(entry) > MAX_ENTRY_BYTES:
            raise ProofError(
                f"an entry of {len(entry)} bytes does not fit an entry bundle's 16-bit length"
            )
        parts.append(struct.pack(">H", len(entry)) + entry)
    return b"".join(parts)


def parse_entry_bundle(bundle: bytes) -> list[bytes]:
    entries, at = [], 0
    while at < len(bundle):
        if at + 2 > len(bundle):
            raise ProofError("an entry bundle ends inside a length prefix")
        (length,) = struct.unpack_from(">H", bundle, at)
        at += 2
        if at + length > len(bundle):
            raise ProofError("an entry bundle ends inside an entry")
        entries.append(bundle[at : at + length])
        at += length
    return entries
