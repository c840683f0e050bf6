"""Tamper evidence: edit the database behind the ledger's back and expect `verify()` to say where.

Each case seeds a fresh ledger, signs a head, then changes the stored rows directly with a
separate connection (sqlite3 / psycopg), as an intruder with database access would.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any
from uuid import UUID, uuid4

import psycopg
import pytest
from factories import artist, donation, stages

from ledger.application import MuseumLedger
from ledger.errors import IntegrityViolation, ProofError
from ledger.log import head_message
from ledger.merkle import verify_consistency
from ledger.receipt import verify_receipt
from ledger.sealing import record_leaf
from ledger.settings import Settings


class Db:
    """Direct access to the ledger's tables, bypassing the ledger (the intruder's view)."""

    def __init__(self, ledger: MuseumLedger, settings: Settings) -> None:
        self.settings = settings
        self.sqlite = settings.embedded
        self.events = ledger.recorder.events_table_name
        self.nid = "rowid" if self.sqlite else "notification_id"

    @contextmanager
    def cursor(self) -> Iterator[Any]:
        if self.sqlite:
            connection = sqlite3.connect(self.settings.sqlite_path)
            try:
                with connection:
                    yield connection
            finally:
                connection.close()
        else:
            with psycopg.connect(str(self.settings.database_url)) as connection:
                yield connection

    def run(self, sql: str, *params: Any) -> list[tuple[Any, ...]]:
        sql = sql.format(events=self.events, nid=self.nid)
        if not self.sqlite:
            sql = sql.replace("?", "%s")
        with self.cursor() as c:
            cursor = c.execute(sql, params)
            return list(cursor.fetchall()) if cursor.description else []

    def event(self, nid: int) -> tuple[Any, int, str, bytes]:
        (row,) = self.run(
            "SELECT originator_id, originator_version, topic, state FROM {events} WHERE {nid} = ?",
            nid,
        )
        return row[0], int(row[1]), str(row[2]), bytes(row[3])

    def ids(self) -> list[int]:
        return [int(r[0]) for r in self.run("SELECT {nid} FROM {events} ORDER BY {nid}")]

    def oid(self, value: UUID) -> Any:
        """An originator id as this backend stores it."""
        return value.hex if self.sqlite else value


def flip(data: bytes, at: int = 0) -> bytes:
    return data[:at] + bytes([data[at] ^ 0x01]) + data[at + 1 :]


def seed(ledger: MuseumLedger) -> dict[str, Any]:
    """A few artists, donations, consent changes and feedback; a signed head over all of it."""
    first = ledger.register_artist(artist("Ink Moth"))
    second = ledger.register_artist(
        artist("Glass Heron", legal_name="Tomasz Wren", contact="tw@example.org")
    )
    one = ledger.donate(donation(first)).donation_id
    two = ledger.donate(donation(second, stages=stages("sketch", "failure", shade=90))).donation_id
    ledger.revoke_consent(one, "train")
    ledger.grant_consent(two, "research")
    ledger.give_feedback("donation", one, 1, "wet on wet", "let it dry first", "Curator Okonkwo")
    head = ledger.integrity.sign_head()
    report = ledger.integrity.verify()
    assert report.events == head.tree_size == ledger.integrity.size()
    assert report.latest_head == head
    assert (
        report.heads == len(ledger.integrity.heads.all()) >= 2
    )  # each donation's receipt signed one
    return {"artists": (first, second), "donations": (one, two), "head": head}


def position_of(ids: Sequence[int], db: Db, originator: UUID, version: int = 1) -> int:
    for position, nid in enumerate(ids):
        oid, v, _, _ = db.event(nid)
        if str(oid).replace("-", "") == originator.hex and v == version:
            return position
    raise AssertionError(f"no event {originator} v{version}")


# --- tampering with stored events ----------------------------------------------------------------


def _edit_state(db: Db, ids: list[int], target: int) -> int:
    nid = ids[target]
    state = db.event(nid)[3]
    db.run("UPDATE {events} SET state = ? WHERE {nid} = ?", flip(state, len(state) // 2), nid)
    return target


def _edit_state_and_leaf(db: Db, ids: list[int], target: int) -> int:
    """Change an event and recompute its leaf hash: only the MAC, keyed by the master key, is left."""
    nid = ids[target]
    oid, version, topic, state = db.event(nid)
    changed = (
        state.replace(b"frustration", b"pride      ") if b"frustration" in state else flip(state, 3)
    )
    db.run("UPDATE {events} SET state = ? WHERE {nid} = ?", changed, nid)
    leaf = record_leaf(
        nid, oid if isinstance(oid, str) else UUID(str(oid)), version, topic, changed
    )
    db.run("UPDATE ledger_leaves SET leaf_hash = ? WHERE notification_id = ?", leaf, nid)
    return target


def _edit_topic(db: Db, ids: list[int], target: int) -> int:
    db.run("UPDATE {events} SET topic = topic || 'X' WHERE {nid} = ?", ids[target])
    return target


def _delete_row(db: Db, ids: list[int], target: int) -> int:
    db.run("DELETE FROM {events} WHERE {nid} = ?", ids[target])
    return target


def _delete_first_row(db: Db, ids: list[int], _target: int) -> int:
    db.run("DELETE FROM {events} WHERE {nid} = ?", ids[0])
    return 0


def _delete_last_row(db: Db, ids: list[int], _target: int) -> int:
    db.run("DELETE FROM {events} WHERE {nid} = ?", ids[-1])
    return len(ids) - 1


def _swap_ids(db: Db, ids: list[int], target: int) -> int:
    """Reorder: the two rows exchange notification ids (rowids on SQLite)."""
    a, b = ids[target], ids[target + 3]
    db.run("UPDATE {events} SET {nid} = -1 WHERE {nid} = ?", a)
    db.run("UPDATE {events} SET {nid} = ? WHERE {nid} = ?", a, b)
    db.run("UPDATE {events} SET {nid} = ? WHERE {nid} = -1", b)
    return target


def _swap_contents(db: Db, ids: list[int], target: int) -> int:
    """Swap state and topic of two rows, keeping ids and originators in place."""
    a, b = ids[target], ids[target + 2]
    _, _, topic_a, state_a = db.event(a)
    _, _, topic_b, state_b = db.event(b)
    db.run("UPDATE {events} SET state = ?, topic = ? WHERE {nid} = ?", state_b, topic_b, a)
    db.run("UPDATE {events} SET state = ?, topic = ? WHERE {nid} = ?", state_a, topic_a, b)
    return target


def _append_forged(db: Db, ids: list[int], target: int) -> int:
    """A copy of a real event under a new originator, appended at the end of the log."""
    _, version, topic, state = db.event(ids[target])
    db.run(
        "INSERT INTO {events} (originator_id, originator_version, topic, state) VALUES (?, ?, ?, ?)",
        db.oid(uuid4()),
        version,
        topic,
        state,
    )
    assert db.ids()[-1] > ids[-1]
    return len(ids)


def _append_forged_with_copied_leaf(db: Db, ids: list[int], target: int) -> int:
    """The forger also copies an existing leaf row for the new notification id: its MAC fails."""
    _append_forged(db, ids, target)
    new = db.ids()[-1]
    db.run(
        "INSERT INTO ledger_leaves (notification_id, leaf_hash, mac) "
        "SELECT ?, leaf_hash, mac FROM ledger_leaves WHERE notification_id = ?",
        new,
        ids[-1],
    )
    return len(ids)


TAMPERS = {
    "edit-state": _edit_state,
    "edit-state-and-leaf": _edit_state_and_leaf,
    "edit-topic": _edit_topic,
    "delete-row": _delete_row,
    "delete-first-row": _delete_first_row,
    "delete-last-row": _delete_last_row,
    "swap-notification-ids": _swap_ids,
    "swap-contents": _swap_contents,
    "append-forged-row": _append_forged,
    "append-forged-row-and-leaf": _append_forged_with_copied_leaf,
}


@pytest.mark.parametrize("kind", list(TAMPERS))
def test_tampered_event_is_located(ledger: MuseumLedger, backend: Settings, kind: str) -> None:
    seeded = seed(ledger)
    db = Db(ledger, backend)
    ids = db.ids()
    assert len(ids) == seeded["head"].tree_size
    # the first donation's DonationMade event: a sealed, sizeable record in the middle of the log
    target = position_of(ids, db, seeded["donations"][0])
    assert 0 < target < len(ids) - 3

    expected = TAMPERS[kind](db, ids, target)

    with pytest.raises(IntegrityViolation) as caught:
        ledger.integrity.verify()
    assert caught.value.position == expected, str(caught.value)


def test_tampering_without_a_head_is_still_located(ledger: MuseumLedger, backend: Settings) -> None:
    """Leaves alone (no signed head yet) already pin every record."""
    first = ledger.register_artist(artist())
    ledger.donate(donation(first))
    ledger.integrity.verify()
    db = Db(ledger, backend)
    ids = db.ids()
    _edit_state(db, ids, 2)
    with pytest.raises(IntegrityViolation) as caught:
        ledger.integrity.verify()
    assert caught.value.position == 2


def test_removing_event_and_leaf_breaks_the_signed_head(
    ledger: MuseumLedger, backend: Settings
) -> None:
    """A careful intruder deletes an event and its leaf; only the signed head can tell."""
    seeded = seed(ledger)
    db = Db(ledger, backend)
    ids = db.ids()
    target = position_of(ids, db, seeded["donations"][1])
    db.run("DELETE FROM {events} WHERE {nid} = ?", ids[target])
    db.run("DELETE FROM ledger_leaves WHERE notification_id = ?", ids[target])
    with pytest.raises(IntegrityViolation) as caught:
        ledger.integrity.verify()
    position = caught.value.position
    assert position is not None
    assert target <= position < seeded["head"].tree_size


# --- tampering with leaves and heads -------------------------------------------------------------


@pytest.mark.parametrize("kind", ["delete", "edit-hash", "edit-mac"])
def test_tampered_leaf_is_located(ledger: MuseumLedger, backend: Settings, kind: str) -> None:
    seeded = seed(ledger)
    db = Db(ledger, backend)
    ids = db.ids()
    target = position_of(ids, db, seeded["artists"][1])
    nid = ids[target]
    if kind == "delete":
        db.run("DELETE FROM ledger_leaves WHERE notification_id = ?", nid)
    else:
        column = "leaf_hash" if kind == "edit-hash" else "mac"
        ((value,),) = db.run(f"SELECT {column} FROM ledger_leaves WHERE notification_id = ?", nid)
        db.run(
            f"UPDATE ledger_leaves SET {column} = ? WHERE notification_id = ?",
            flip(bytes(value), 5),
            nid,
        )
    with pytest.raises(IntegrityViolation) as caught:
        ledger.integrity.verify()
    assert caught.value.position == target, str(caught.value)


@pytest.mark.parametrize(
    ("which", "column"),
    [
        ("first", "root_hash"),
        ("first", "signature"),
        ("latest", "root_hash"),
        ("latest", "signature"),
        ("latest", "tree_size"),
        ("latest", "key_id"),
    ],
)
def test_tampered_head_is_refused(
    ledger: MuseumLedger, backend: Settings, which: str, column: str
) -> None:
    seeded = seed(ledger)
    ledger.give_feedback(
        "donation", seeded["donations"][1], None, "", "more light", "Curator Okonkwo"
    )
    latest = ledger.integrity.sign_head()
    ledger.integrity.verify()
    head_ids = [int(row["head_id"]) for row in ledger.integrity.heads.all()]
    assert head_ids[-1] == latest.head_id
    head_id = head_ids[0] if which == "first" else head_ids[-1]
    db = Db(ledger, backend)
    ((value,),) = db.run(f"SELECT {column} FROM tree_heads WHERE head_id = ?", head_id)
    if isinstance(value, bytes | memoryview):
        changed: Any = flip(bytes(value), 7)
    elif isinstance(value, int):
        changed = value - 1
    else:
        changed = "0" * len(value)
    db.run(f"UPDATE tree_heads SET {column} = ? WHERE head_id = ?", changed, head_id)
    with pytest.raises(IntegrityViolation):
        ledger.integrity.verify()


def test_head_over_a_wrong_root_is_refused(ledger: MuseumLedger, backend: Settings) -> None:
    """A head validly signed (with the ledger's own key) over a root that is not the log's."""
    seed(ledger)
    size = ledger.integrity.size()
    master = ledger.master
    bogus_root = bytes(32)
    signature = master.signing_key.sign(head_message(size, 1, bogus_root))
    ledger.integrity.heads.add(size, bogus_root, 1, master.key_id, signature)
    with pytest.raises(IntegrityViolation) as caught:
        ledger.integrity.verify()
    assert caught.value.position == size - 1


def test_deleting_a_signed_tail_is_detected(ledger: MuseumLedger, backend: Settings) -> None:
    """Remove the newest events and their leaves: the signed head still counts them."""
    seeded = seed(ledger)
    db = Db(ledger, backend)
    ids = db.ids()
    for nid in ids[-2:]:
        db.run("DELETE FROM {events} WHERE {nid} = ?", nid)
        db.run("DELETE FROM ledger_leaves WHERE notification_id = ?", nid)
    with pytest.raises(IntegrityViolation) as caught:
        ledger.integrity.verify()
    assert caught.value.position == seeded["head"].tree_size - 2


# --- proofs over a growing log -------------------------------------------------------------------


def test_consistency_between_old_and_new_heads(ledger: MuseumLedger) -> None:
    seed(ledger)
    old = ledger.integrity.sign_head()
    assert ledger.integrity.sign_head() == old  # nothing appended: the head is reused
    later = ledger.register_artist(artist("Paper Lantern"))
    ledger.donate(donation(later, stages=stages(shade=31)))
    new = ledger.integrity.sign_head()
    assert new.tree_size > old.tree_size
    new.verify(ledger.master.public_key)
    old.verify(ledger.master.public_key)

    proof = ledger.integrity.consistency(old.tree_size, new.tree_size)
    assert proof.old_root == old.root_hash.hex()
    assert proof.new_root == new.root_hash.hex()
    path = [bytes.fromhex(node) for node in proof.path]
    verify_consistency(old.tree_size, new.tree_size, old.root_hash, new.root_hash, path)
    with pytest.raises(ProofError):
        verify_consistency(old.tree_size, new.tree_size, flip(old.root_hash), new.root_hash, path)
    with pytest.raises(ProofError):
        verify_consistency(old.tree_size, new.tree_size, old.root_hash, flip(new.root_hash), path)

    # every intermediate size is consistent with the newest head too
    for size in range(1, new.tree_size + 1):
        step = ledger.integrity.consistency(size, new.tree_size)
        verify_consistency(
            size,
            new.tree_size,
            bytes.fromhex(step.old_root),
            new.root_hash,
            [bytes.fromhex(node) for node in step.path],
        )
    report = ledger.integrity.verify()
    assert report.events == new.tree_size
    assert report.latest_head == new


def test_old_receipts_still_verify_as_the_log_grows(ledger: MuseumLedger) -> None:
    first = ledger.register_artist(artist())
    result = ledger.donate(donation(first))
    old_receipt = result.receipt
    key = ledger.integrity.public_key_hex
    verify_receipt(old_receipt, key)
    old_size = old_receipt.head.tree_size

    for n in range(5):
        other = ledger.register_artist(artist(f"Grower {n}"))
        ledger.donate(donation(other, stages=stages(shade=50 + n)))
    ledger.revoke_consent(result.donation_id, "train")
    head = ledger.integrity.sign_head()
    assert head.tree_size > old_size

    verify_receipt(old_receipt, key)  # self-contained: still proves inclusion under the old head
    nid = old_receipt.event.notification_id
    fresh = ledger.integrity.receipt(nid)
    verify_receipt(fresh, key)
    assert fresh.head.tree_size == head.tree_size
    assert fresh.head.root_hash == head.root_hash.hex()
    assert fresh.event == old_receipt.event
    assert fresh.inclusion.leaf_index == old_receipt.inclusion.leaf_index

    by_version = ledger.integrity.receipt_for(result.donation_id, 2)  # the consent revocation
    verify_receipt(by_version, key)
    assert by_version.event.topic.endswith("ConsentRevoked")

    # a receipt moved onto another event's leaf index does not verify
    plain = fresh.as_builtins()
    moved = {
        **plain,
        "inclusion": {**plain["inclusion"], "leaf_index": plain["inclusion"]["leaf_index"] + 1},
    }
    with pytest.raises(ProofError):
        verify_receipt(moved, key)
