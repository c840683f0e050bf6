"""What `museum ledger verify` sees beyond events and leaves (issue 14, "Hardening").

Each attack is done for real behind the ledger's back: SQL on the heads, key-vault and postings
tables, a flipped bit in a blob file, the newest events deleted with their leaves and heads. The
check must name what was changed; an untouched ledger must still pass.
"""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path
from typing import Any

import pytest
from factories import artist, museum_in_process, run_museum, seed_home
from test_ledger_tamper import Db, flip, seed
from test_royalties_ledger import FAR_FUTURE, FAR_PAST, book, make_world

from ledger.application import MuseumLedger
from ledger.audit import audit_blobs, audit_keys, check_against, full_audit
from ledger.crypto import MasterKey
from ledger.erasures import Erasures
from ledger.errors import IntegrityViolation, ProofError
from ledger.runtime import close_ledger, open_ledger
from ledger.settings import Settings
from royalties.audit import compare
from royalties.projection import PostingsProjection
from royalties.split import artist_account


def reopened(settings: Settings, **changes: Any) -> MuseumLedger:
    """A fresh process's view: no cached leaves."""
    return open_ledger(settings.model_copy(update=changes))


def test_clean_ledger_passes_every_check(ledger: MuseumLedger) -> None:
    seeded = seed(ledger)
    status = Erasures(ledger).request(seeded["artists"][1], "leaving")
    assert check_against(ledger, status.as_builtins())["kind"] == "certificate"
    forged = status.certificate["tree_head"] | {"timestamp_ms": 1}
    with pytest.raises(ProofError, match="bad signature"):
        check_against(ledger, forged)
    figures = full_audit(
        ledger, read_models={"royalty_postings": lambda m: compare(PostingsProjection(m))}
    )
    assert figures.events == ledger.integrity.size()
    assert figures.blobs_checked == figures.blobs_referenced == 5  # 3 + 2 stages
    assert (figures.artists, figures.keys_present, figures.keys_shredded) == (2, 1, 1)
    assert figures.quoted_heads_checked == 1  # the erasure certificate's head
    assert figures.leaves_attesting_a_head >= 1
    assert figures.projections is not None
    assert figures.projections["royalty_postings"]["rows"] == 0


# --- signed heads ----------------------------------------------------------------------------


def test_deleting_the_latest_head_is_caught_by_the_next_leaf(
    ledger: MuseumLedger, backend: Settings
) -> None:
    seeded = seed(ledger)
    ledger.give_feedback("donation", seeded["donations"][0], 0, "tried", "next", "Curator")
    Db(ledger, backend).run("DELETE FROM tree_heads WHERE head_id = ?", seeded["head"].head_id)
    with pytest.raises(IntegrityViolation, match="which is missing: heads were deleted"):
        reopened(backend).integrity.verify()


def test_deleting_every_head_is_caught(ledger: MuseumLedger, backend: Settings) -> None:
    seeded = seed(ledger)
    ledger.give_feedback("donation", seeded["donations"][0], 0, "tried", "next", "Curator")
    Db(ledger, backend).run("DELETE FROM tree_heads")
    with pytest.raises(IntegrityViolation, match="heads were deleted"):
        reopened(backend).integrity.verify()


def test_a_gap_in_the_head_sequence_is_caught(ledger: MuseumLedger, backend: Settings) -> None:
    seed(ledger)
    Db(ledger, backend).run("DELETE FROM tree_heads WHERE head_id = 1")
    with pytest.raises(IntegrityViolation, match="signed tree head 1 is missing"):
        reopened(backend).integrity.verify()


def test_a_nulled_attestation_fails_the_leaf_mac(ledger: MuseumLedger, backend: Settings) -> None:
    seed(ledger)
    db = Db(ledger, backend)
    last = db.ids()[-1]
    db.run("UPDATE ledger_leaves SET head_id = NULL WHERE notification_id = ?", last)
    with pytest.raises(IntegrityViolation, match="bad MAC"):
        reopened(backend).integrity.verify()


def test_unattested_newest_heads_fall_to_the_periodic_rule(backend: Settings) -> None:
    """Heads are signed at notification ids 4, 8, …; drop those no leaf attests yet."""
    ledger = reopened(backend, head_every_events=4)
    try:
        for n in range(12):
            before = int(ledger.recorder.max_notification_id() or 0)
            ledger.register_artist(artist(f"Moth {n}"))
            after = int(ledger.recorder.max_notification_id() or 0)
            if any(nid % 4 == 0 for nid in range(before + 1, after + 1)) and n:
                break
        assert ledger.integrity.verify().head_every_events == 4
        db = Db(ledger, backend)
        ((attested,),) = db.run("SELECT MAX(head_id) FROM ledger_leaves")
        db.run("DELETE FROM tree_heads WHERE head_id > ?", attested)
    finally:
        close_ledger(ledger)
    with pytest.raises(IntegrityViolation, match="a multiple of 4"):
        reopened(backend, head_every_events=4).integrity.verify()


def test_a_certificate_head_must_be_the_stored_one(ledger: MuseumLedger, backend: Settings) -> None:
    seeded = seed(ledger)
    status = Erasures(ledger).request(seeded["artists"][0], "leaving")
    quoted = status.certificate["tree_head"]["head_id"]
    Db(ledger, backend).run("DELETE FROM tree_heads WHERE head_id = ?", quoted)
    with pytest.raises(IntegrityViolation, match=f"head {quoted}"):
        reopened(backend).integrity.verify()


# --- truncation against a proof handed out -----------------------------------------------------


def test_a_receipt_proves_a_truncated_tail(ledger: MuseumLedger, backend: Settings) -> None:
    seed(ledger)
    db = Db(ledger, backend)
    ids = db.ids()
    receipt = ledger.integrity.receipt(ids[-1])
    size = len(ids)
    assert check_against(ledger, receipt)["tree_size"] == size
    # The intruder removes the two newest events, their leaves and every head that counts them.
    for nid in ids[-2:]:
        db.run("DELETE FROM {events} WHERE {nid} = ?", nid)
        db.run("DELETE FROM ledger_leaves WHERE notification_id = ?", nid)
    db.run("DELETE FROM tree_heads WHERE tree_size > ?", size - 2)
    fresh = reopened(backend)
    try:
        assert fresh.integrity.verify().events == size - 2  # the log alone cannot tell
        message = f"the log has {size - 2} events but the receipt proves {size}"
        with pytest.raises(IntegrityViolation, match=message):
            check_against(fresh, receipt)
    finally:
        close_ledger(fresh)


# --- blobs and keys ----------------------------------------------------------------------------


def test_a_flipped_bit_in_a_blob_is_caught(ledger: MuseumLedger) -> None:
    seed(ledger)
    refs = ledger.integrity.verify().blob_refs
    path = sorted(ledger.blobs.paths())[0]
    path.write_bytes(flip(path.read_bytes(), 20))
    with pytest.raises(IntegrityViolation, match=f"blob {path.name} does not match"):
        audit_blobs(ledger, refs)
    path.unlink()
    with pytest.raises(IntegrityViolation, match=f"blob {path.name} is named by an event"):
        audit_blobs(ledger, refs)


def test_a_key_removed_without_erasure_is_caught(ledger: MuseumLedger, backend: Settings) -> None:
    first, second = seed(ledger)["artists"]
    assert audit_keys(ledger).keys == 2
    db = Db(ledger, backend)
    ((wrapped,),) = db.run("SELECT wrapped_key FROM artist_keys WHERE artist_id = ?", first.hex)
    db.run("DELETE FROM artist_keys WHERE artist_id = ?", first.hex)
    with pytest.raises(IntegrityViolation, match=f"artist {first} has no data key"):
        audit_keys(ledger)
    # A key put back after its recorded shredding is refused too.
    db.run(
        "INSERT INTO artist_keys (artist_id, wrapped_key, created_at_ms) VALUES (?, ?, 0)",
        first.hex,
        bytes(wrapped),
    )
    ledger.erase_artist(second, "leaving")
    audit_keys(ledger)
    db.run(
        "INSERT INTO artist_keys (artist_id, wrapped_key, created_at_ms) VALUES (?, ?, 0)",
        second.hex,
        bytes(wrapped),
    )
    with pytest.raises(IntegrityViolation, match=f"artist {second} has a data key .* came back"):
        audit_keys(ledger)


# --- read models -------------------------------------------------------------------------------


def test_an_inflated_posting_stops_payouts_and_statements(
    ledger: MuseumLedger, backend: Settings
) -> None:
    world = make_world(ledger)
    book(world, "sale", amount=10_000)
    first = world.artists[0]
    account = artist_account(first)
    (honest,) = [r for r in world.royalties.projection.balances([account])]
    db = Db(ledger, backend)
    db.run(
        "UPDATE royalty_postings SET amount = amount + 100000 WHERE account = ? AND line = "
        "(SELECT MIN(line) FROM royalty_postings WHERE account = ?)",
        account,
        account,
    )
    before = ledger.recorder.max_notification_id()
    inflated = honest["balance"] + 100_000
    message = f"account {account} \\(EUR\\).*holds {inflated} but the ledger's events give {honest['balance']}"
    with pytest.raises(IntegrityViolation, match=message):
        world.royalties.run_payouts("2025-01")
    assert ledger.recorder.max_notification_id() == before  # nothing recorded
    with pytest.raises(
        IntegrityViolation, match=f"account {account}: the read model's 2 statement lines differ"
    ):
        world.royalties.statement(first, FAR_PAST, FAR_FUTURE)
    with pytest.raises(IntegrityViolation, match=r"amount is .* in the table"):
        compare(world.royalties.projection)
    world.royalties.projection.rebuild()
    run = world.royalties.run_payouts("2025-01")
    paid = {p.artist_id: p.amount for p in run.payouts}
    assert paid[str(first)] == honest["balance"]


# --- the command line --------------------------------------------------------------------------


def test_cli_reports_and_refuses(tmp_path: Path) -> None:
    home = tmp_path / "var"
    key = MasterKey.generate_text()
    seed_home(home, key, artists=2)

    def museum(*args: str) -> Any:  # in-process: the console script's own is checked first
        return museum_in_process(home, *args, env={"MUSEUM_MASTER_KEY": key})

    clean = run_museum(home, "ledger", "verify", "--projections", env={"MUSEUM_MASTER_KEY": key})
    assert clean.returncode == 0, clean.stderr
    assert "blobs re-hashed" in clean.stdout
    assert "artist keys present" in clean.stdout
    assert "read model agrees with a rebuild" in clean.stdout

    proof = museum("ledger", "proof", "1")
    assert proof.returncode == 0, proof.stderr
    receipt = tmp_path / "receipt.json"
    receipt.write_text(proof.stdout)
    head = tmp_path / "head.json"
    head.write_text(museum("ledger", "head", "--json").stdout)
    held = museum("ledger", "verify", "--json", "--against", str(receipt), "--against", str(head))
    assert held.returncode == 0, held.stderr
    figures = json.loads(held.stdout)
    assert [p["kind"] for p in figures["against"]] == ["receipt", "head"]
    assert figures["blobs_checked"] > 0
    assert figures["keys_present"] == 2

    size = figures["events"]
    with sqlite3.connect(home / "ledger.sqlite3") as db:  # the newest two events, leaves, heads
        db.execute("DELETE FROM stored_events WHERE rowid > ?", (size - 2,))
        db.execute("DELETE FROM ledger_leaves WHERE notification_id > ?", (size - 2,))
        db.execute("DELETE FROM tree_heads WHERE tree_size > ?", (size - 2,))
    db.close()
    assert museum("ledger", "verify").returncode == 0  # the log alone cannot tell
    cut = museum("ledger", "verify", "--against", str(receipt))
    assert cut.returncode == 1
    assert f"the log has {size - 2} events but the receipt proves {size}" in cut.stderr

    blob = sorted((home / "blobs").glob("??/*"))[0]
    blob.write_bytes(flip(blob.read_bytes(), 30))
    broken = museum("ledger", "verify")
    assert broken.returncode == 1
    assert f"blob {blob.name} does not match its content address" in broken.stderr
    assert broken.stderr.count("\n") == 1
