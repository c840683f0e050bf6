"""Rotating the master key: one transaction moves the museum from one key set to the next.

In the transaction of the `KeysRotated` event (`ledger.sealing` runs `RotationWrite.write` under
the events-table lock): every artist data key re-wrapped under the new master key (the data keys
themselves stay, so nothing sealed is re-encrypted or opened), the key ring rewritten with the
earlier generations' MAC and index keys wrapped by the new master key, and the rotation's own
leaves sealed with the new MAC key. It commits whole or not at all; a writer still holding the
old key is refused from then on (its generation is no longer the ring's).

Before it, the old key signs a last head; the statement both keys sign names that head, and the
new key signs the first head over the rotation.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any
from uuid import UUID

from pydantic import SecretStr

from ledger.application import MuseumLedger
from ledger.crypto import MasterKey
from ledger.domain import KeyHistory
from ledger.errors import Conflict, FileProblem, InvalidInput
from ledger.key_ring import (
    INDEX_PURPOSE,
    MAC_PURPOSE,
    KeyGeneration,
    KeyRing,
    rotation_statement,
    wrap_context,
)
from ledger.runtime import master_key_file, opened_ledger, pending_key_file, write_new_key
from ledger.sealing import LeafSealer
from ledger.settings import Settings
from ledger.views import View

KEY_RING_COLUMNS = (
    "generation",
    "key_id",
    "public_key",
    "first_notification_id",
    "leaf_mac_key_wrapped",
    "index_key_wrapped",
    "rotated_at_ms",
    "statement",
    "old_signature",
    "new_signature",
)


class RotationRead(View, frozen=True, kw_only=True):
    """What a rotation did. No secret: key ids and public keys only."""

    generation: int
    old_key_id: str
    new_key_id: str
    new_public_key: str
    artists_rewrapped: int
    last_old_head_id: int | None
    rotated_at_ms: int
    seconds: float
    first_new_head_id: int | None = None
    key_file: str | None = None  # where the new key is now (its path, never its value)


def _column(row: Any, name: str, index: int) -> Any:
    """A column of a row from either recorder's cursor (sqlite3.Row or psycopg's dict row)."""
    return row[name] if isinstance(row, dict) else row[index]


class RotationWrite:
    """The vault and key-ring writes of one rotation, run by the recorder in its transaction."""

    def __init__(
        self, old: MasterKey, new: MasterKey, ring: KeyRing, new_generation: KeyGeneration
    ) -> None:
        self.old, self.new, self.ring = old, new, ring
        self.from_generation = ring.generation
        self.sealer = LeafSealer(new.leaf_mac_key, new_generation.generation)
        self.new_generation = new_generation
        self.rewrapped = 0

    def write(self, cursor: Any, placeholder: str, first_notification_id: int) -> None:
        p = placeholder
        cursor.execute("SELECT artist_id, wrapped_key FROM artist_keys")
        updates = []
        for row in cursor.fetchall():
            artist = str(_column(row, "artist_id", 0))
            wrapped = bytes(_column(row, "wrapped_key", 1))
            updates.append((self.old.rewrap(UUID(hex=artist), wrapped, self.new), artist))
        if updates:
            cursor.executemany(
                f"UPDATE artist_keys SET wrapped_key = {p} WHERE artist_id = {p}",  # noqa: S608
                updates,
            )
        self.rewrapped = len(updates)
        cursor.execute("DELETE FROM key_ring")
        rows = [self._row(g, g.first_notification_id, wrapped=True) for g in self.ring.generations]
        rows.append(self._row(self.new_generation, first_notification_id, wrapped=False))
        marks = ", ".join([p] * len(KEY_RING_COLUMNS))
        cursor.executemany(
            f"INSERT INTO key_ring ({', '.join(KEY_RING_COLUMNS)}) VALUES ({marks})",  # noqa: S608
            rows,
        )

    def _row(self, g: KeyGeneration, first: int, *, wrapped: bool) -> tuple[Any, ...]:
        """A key-ring row: an earlier generation's secret keys wrapped by the new master key;
        the new generation's none (they are derived from it)."""

        def wrap(secret: bytes, purpose: str) -> bytes | None:
            context = wrap_context(g.generation, purpose)
            return self.new.wrap_secret(secret, context) if wrapped else None

        return (
            g.generation,
            g.key_id,
            g.public_key,
            first,
            wrap(g.leaf_mac_key, MAC_PURPOSE),
            wrap(g.index_key, INDEX_PURPOSE),
            g.rotated_at_ms,
            g.statement,
            g.old_signature,
            g.new_signature,
        )


def rotate_master(
    ledger: MuseumLedger, new: MasterKey, clock: Callable[[], float] = time.time
) -> RotationRead:
    """Move `ledger` (opened with the current master key) to `new`, in one transaction.

    Afterwards the ledger object is spent (its keys are retired): open the ledger again with
    `new`, which signs the first head of the new generation (`sign_first_head`).
    """
    began = time.perf_counter()
    old, ring = ledger.master, ledger.ring
    if new.key_id == old.key_id or ring.find(new.key_id) is not None:
        raise Conflict("the new master key must differ from every key the museum has used")
    history = ledger.find(KeyHistory.HISTORY_ID, KeyHistory) or KeyHistory()
    generation = ring.generation + 1
    history.check_next(generation)
    last_head = ledger.integrity.sign_head() if ledger.integrity.size() else None
    rotated_at_ms = int(clock() * 1000)
    statement = rotation_statement(
        generation,
        ring.current,
        new.key_id,
        new.public_key_bytes,
        None
        if last_head is None
        else {
            "head_id": last_head.head_id,
            "tree_size": last_head.tree_size,
            "root_hash": last_head.root_hash.hex(),
        },
        rotated_at_ms,
    )
    old_signature = old.signing_key.sign(statement)
    new_signature = new.signing_key.sign(statement)
    incoming = KeyGeneration(
        generation,
        new.key_id,
        new.public_key_bytes,
        0,  # the rotation's first notification id, known only inside its transaction
        new.leaf_mac_key,
        new.index_key,
        rotated_at_ms,
        statement,
        old_signature,
        new_signature,
    )
    write = RotationWrite(old, new, ring, incoming)
    history.rotate(generation, statement.decode(), old_signature.hex(), new_signature.hex())
    # Saved without the head rule of `MuseumLedger.save`: this process's keys are retired now.
    super(MuseumLedger, ledger).save(history, key_rotation=write)
    return RotationRead(
        generation=generation,
        old_key_id=old.key_id,
        new_key_id=new.key_id,
        new_public_key=new.public_key_bytes.hex(),
        artists_rewrapped=write.rewrapped,
        last_old_head_id=None if last_head is None else last_head.head_id,
        rotated_at_ms=rotated_at_ms,
        seconds=round(time.perf_counter() - began, 4),
    )


def rotate_configured(settings: Settings, new_key_file: Path | None = None) -> RotationRead:
    """`museum keys rotate-master`: rotate the museum of `settings` to a new master key.

    The new key comes from `new_key_file` (read if it exists, else made there, readable by its
    owner only). Without one, a key read from a file is rotated in place: the new key waits in
    `<file>.new` until the rotation has committed, then replaces the file (an interrupted
    rotation is finished by the next open, `ledger.runtime.open_ledger`). A key given by
    MUSEUM_MASTER_KEY needs `new_key_file`. The new key's first head is signed before return.
    """
    source = master_key_file(settings)
    if new_key_file is None and source is None:
        raise InvalidInput(
            "the master key comes from MUSEUM_MASTER_KEY: give --new-key-file FILE for the new one"
        )
    in_place = new_key_file is None
    target = new_key_file if new_key_file is not None else pending_key_file(Path(str(source)))
    try:
        new = MasterKey.from_text(target.read_text()) if target.exists() else write_new_key(target)
    except OSError as exc:
        raise FileProblem(f"cannot use {target} for the new master key: {exc.strerror}") from None
    with opened_ledger(settings) as ledger:
        if ledger.master.key_id == new.key_id:  # opening finished an interrupted rotation
            raise Conflict(
                "the museum runs on that new key already: an earlier rotation to it had "
                "committed (opening the museum has put its key file in place)"
            )
        read = rotate_master(ledger, new)
    if in_place and source is not None:
        os.replace(target, source)
        target = source
    rotated = settings.model_copy(
        update={"master_key": SecretStr(target.read_text().strip()), "master_key_file": None}
    )
    with opened_ledger(rotated) as ledger:
        head = ledger.integrity.sign_head()
        ledger.vault.scrub()  # the wrapped keys as the old master key wrapped them
    return RotationRead(
        **(read.as_builtins() | {"first_new_head_id": head.head_id, "key_file": str(target)})
    )
