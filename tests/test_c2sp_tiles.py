"""tlog-tiles: paths by the spec's own examples, and tile and entry-bundle contents of a real
ledger checked against the spec's formula with `sigstore`'s RFC 6962 hashing (not ours)."""

from __future__ import annotations

import struct
from collections.abc import Iterator
from pathlib import Path

import factories
import pytest
from pydantic import SecretStr
from sigstore._internal.merkle import _hash_children, _hash_leaf

from ledger.application import MuseumLedger
from ledger.crypto import MasterKey
from ledger.domain import Donation
from ledger.errors import NotFound
from ledger.log_tiles import LogTiles
from ledger.runtime import opened_ledger
from ledger.settings import Settings
from ledger.tiles import TileRef, encode_index, parse_entry_bundle, parse_path, tiles_for
from ledger.vocabulary import Purpose


def test_paths_as_the_spec_writes_them() -> None:
    assert encode_index(1234067) == "x001/x234/067"
    assert encode_index(0) == "000"
    assert encode_index(1000) == "x001/000"
    assert TileRef(0, 1234067).path() == "tile/0/x001/x234/067"
    assert TileRef(2, 5, 17).path() == "tile/2/005.p/17"
    assert TileRef(None, 1, 3).path() == "tile/entries/001.p/3"
    for path in ("0/x001/x234/067", "entries/x001/000.p/255", "63/000", "1/005.p/1"):
        assert parse_path(path).path() == "tile/" + path
    wrong = [
        "00/000",
        "64/000",
        "0/1",
        "0/0000",
        "0/x000/001",
        "0/001/002",
        "0/x1/002",
        "0/000.p/0",
        "0/000.p/256",
        "0/000.p/07",
        "0/000.p",
        "entry/000",
        "0",
        "-1/000",
    ]
    for path in wrong:
        with pytest.raises(NotFound):
            parse_path(path)


def test_tiles_of_a_tree_as_the_spec_counts_them() -> None:
    tiles = tiles_for(70_000)  # the spec's example
    by_level = {level: [t for t in tiles if t.level == level] for level in (0, 1, 2)}
    assert sum(t.width is None for t in by_level[0]) == 273
    assert [t.width for t in by_level[0] if t.width] == [112]
    assert [t.width for t in by_level[1]] == [None, 17]
    assert [t.width for t in by_level[2]] == [1]
    assert len(tiles) == 273 + 1 + 2 + 1
    assert tiles_for(256) == [TileRef(0, 0), TileRef(1, 0, 1)]
    assert tiles_for(0) == []


def mth(leaves: list[bytes]) -> bytes:
    """RFC 6962 MTH with sigstore's hash functions: the spec's definition, written here."""
    if len(leaves) == 1:
        return leaves[0]
    k = 1 << ((len(leaves) - 1).bit_length() - 1)
    return _hash_children(mth(leaves[:k]), mth(leaves[k:]))


@pytest.fixture
def grown(tmp_path: Path) -> Iterator[MuseumLedger]:
    settings = Settings(home=tmp_path / "var", master_key=SecretStr(MasterKey.generate_text()))
    with opened_ledger(settings) as ledger:
        artist = ledger.register_artist(factories.artist())
        donation = ledger.donate(factories.donation(artist)).donation_id
        aggregate = ledger.get_donation(donation)
        for _ in range(150):  # 300 consent events in one save: a tree past one full tile
            Donation.grant(aggregate, Purpose.RESEARCH)
            Donation.revoke(aggregate, Purpose.RESEARCH)
        ledger.save(aggregate)
        yield ledger


def test_tiles_and_entries_of_a_real_log(grown: MuseumLedger) -> None:
    size = grown.integrity.size()
    tiles = LogTiles(grown.integrity)
    bundle = parse_entry_bundle(tiles.entries(TileRef(None, 0)))
    assert len(bundle) == 256
    level0 = tiles.tile(TileRef(0, 0))
    assert len(level0) == 8192
    # Each entry hashes (RFC 6962 leaf) to the level-0 hash at its place.
    assert b"".join(_hash_leaf(entry) for entry in bundle) == level0
    rest = size - 256
    partial = tiles.tile(TileRef(0, 1, rest))
    entries = parse_entry_bundle(tiles.entries(TileRef(None, 1, rest)))
    assert b"".join(_hash_leaf(entry) for entry in entries) == partial
    # Level 1: the MTH of the full level-0 tile below; with the partial tile, the tree's root.
    leaves = [level0[i : i + 32] for i in range(0, 8192, 32)]
    assert tiles.tile(TileRef(1, 0, 1)) == mth(leaves)
    right = [partial[i : i + 32] for i in range(0, len(partial), 32)]
    assert _hash_children(mth(leaves), mth(right)) == grown.integrity.sign_head().root_hash
    # The bundle's framing: big-endian uint16 lengths.
    raw = tiles.entries(TileRef(None, 1, rest))
    assert struct.unpack(">H", raw[:2])[0] == len(entries[0])
    for beyond in (TileRef(0, 1), TileRef(0, 1, rest + 1), TileRef(1, 0), TileRef(None, 2, 1)):
        with pytest.raises(NotFound):
            tiles.tile(beyond) if beyond.level is not None else tiles.entries(beyond)
