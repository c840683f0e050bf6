"""The ledger's log served as tlog-tiles: tiles from the leaf hashes, entry bundles from the
stored records (the leaf preimages, `ledger.sealing.record_bytes`).

A tile's bytes never change once the tree covers it (the log only appends), so full tiles are
kept in memory once made; a tile at level L > 0 is hashed from the 256 full tiles below it.
"""

from __future__ import annotations

from collections import OrderedDict
from threading import Lock

from ledger import merkle
from ledger.errors import IntegrityViolation, NotFound
from ledger.log import VerifiableLog
from ledger.sealing import record_bytes
from ledger.tiles import WIDTH, TileRef, check_within, entry_bundle, tile_root

CACHED_TILES = 4096  # full tiles kept (8 KiB each: 32 MiB at most)


class LogTiles:
    """Tiles and entry bundles of one verifiable log."""

    def __init__(self, log: VerifiableLog, cached: int = CACHED_TILES) -> None:
        self.log = log
        self._cache: OrderedDict[tuple[int, int], bytes] = OrderedDict()
        self._cached = cached
        self._lock = Lock()
        self._size = 0  # the tree size last read: the log only grows, so tiles within it exist

    def _check(self, ref: TileRef) -> None:
        if ref.span()[1] > self._size:
            self._size = self.log.size()
        check_within(ref, self._size)

    def tile(self, ref: TileRef) -> bytes:
        """The tile's hashes; NotFound for an entry bundle's path or a tile beyond the tree."""
        if ref.level is None:
            raise NotFound("an entry bundle is not a hash tile")
        self._check(ref)
        return self._tile(ref.level, ref.index, ref.count)

    def _tile(self, level: int, index: int, count: int) -> bytes:
        full = count == WIDTH
        if full:
            with self._lock:
                found = self._cache.get((level, index))
                if found is not None:
                    self._cache.move_to_end((level, index))
                    return found
        if level == 0:
            start = index * WIDTH
            _, hashes = self.log.leaves_between(start, start + count, fresh=False)
            body = b"".join(hashes)
        else:
            below = index * WIDTH
            body = b"".join(
                tile_root(self._tile(level - 1, below + i, WIDTH)) for i in range(count)
            )
        if full:
            with self._lock:
                self._cache[(level, index)] = body
                while len(self._cache) > self._cached:
                    self._cache.popitem(last=False)
        return body

    def entries(self, ref: TileRef) -> bytes:
        """The entry bundle: each record's leaf preimage, checked against its sealed leaf."""
        if ref.level is not None:
            raise NotFound("a hash tile is not an entry bundle")
        self._check(ref)
        start, end = ref.span()
        ids, hashes = self.log.leaves_between(start, end, fresh=False)
        records = self.log.records.page(ids[0] - 1, len(ids))
        entries = []
        for position, (nid, leaf, record) in enumerate(zip(ids, hashes, records, strict=False)):
            entry = record_bytes(*record) if record[0] == nid else b""
            if merkle.leaf_hash(entry) != leaf:
                raise IntegrityViolation(
                    f"position {start + position}: event {nid} does not match its sealed leaf",
                    start + position,
                )
            entries.append(entry)
        if len(entries) != len(ids):
            raise IntegrityViolation(f"events of positions {start}–{end - 1} are missing", start)
        return entry_bundle(entries)
