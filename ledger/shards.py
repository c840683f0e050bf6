"""Which shard an item trains in: the rule of compartmentalised training, written once.

A run records each item's shard with its snapshot. New runs put every stage of one artist in the
same shard (SHA-256 of the artist id, modulo the shard count), so an erasure or a change of a
donor's consent retrains exactly one shard of S. Runs recorded before shards were written down
used the SHA-256 of the item id; an item without a recorded shard is read by that rule.
"""

from __future__ import annotations

import dataclasses
import hashlib
from collections.abc import Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ledger.training_snapshot import TrainingItem


def shard_of(key: str, shards: int) -> int:
    """SHA-256 of `key` modulo `shards`: depends on nothing else, so it never moves."""
    if isinstance(shards, bool) or not isinstance(shards, int) or shards < 1:
        raise ValueError(f"shards must be an integer of at least 1, got {shards!r}")
    if not isinstance(key, str):
        raise ValueError(f"a shard key must be a string, got {key!r}")
    return int.from_bytes(hashlib.sha256(key.encode("utf-8")).digest(), "big") % shards


def assign_shards(items: Sequence[TrainingItem], shards: int) -> list[TrainingItem]:
    """The items with their shard recorded: the artist's."""
    return [dataclasses.replace(i, shard=shard_of(str(i.artist_id), shards)) for i in items]


def members_by_shard(items: Sequence[TrainingItem], shards: int) -> list[list[TrainingItem]]:
    """Each shard's items, in snapshot order; the recorded shard, else the legacy rule."""
    members: list[list[TrainingItem]] = [[] for _ in range(shards)]
    for item in items:
        shard = item.shard if item.shard is not None else shard_of(item.item_id, shards)
        if not 0 <= shard < shards:
            raise ValueError(f"item {item.item_id} is recorded in shard {shard} of {shards}")
        members[shard].append(item)
    return members
