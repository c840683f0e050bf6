"""`museum backup` and `museum restore` on real files and the real PostgreSQL server: a backup
taken while a writer runs restores to a ledger that verifies, holds the same events and
blobs, refuses a backup that does not match its manifest, says when it lost the newest events,
and never brings back a key that was shredded after the backup was taken."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from pathlib import Path
from uuid import UUID

import psycopg
import pytest
from conftest import _postgres_database
from factories import donation, seed_collection, stages
from pydantic import SecretStr

from ledger.audit import stored_leaves
from ledger.backup import back_up
from ledger.backup_manifest import MANIFEST
from ledger.crypto import MasterKey
from ledger.erasures import Erasures
from ledger.errors import (
    ConfigurationError,
    Conflict,
    FileProblem,
    IntegrityViolation,
    KeyShredded,
    ProofError,
)
from ledger.restore import restore
from ledger.runtime import opened_ledger
from ledger.settings import Settings
from ledger.shred_list import read_shred_lists


@pytest.fixture
def live(backend: Settings) -> tuple[Settings, list[UUID]]:
    """A small museum (two donors, their donations) on each backend."""
    with opened_ledger(backend) as ledger:
        artists = seed_collection(ledger, 2)
    return backend, artists


@pytest.fixture
def target(live: tuple[Settings, list[UUID]], tmp_path: Path) -> Iterator[Settings]:
    """An empty data directory (and, for PostgreSQL, an empty database) with the same key."""
    update = {"home": tmp_path / "restored", "shred_list": None}
    if live[0].embedded:
        yield live[0].model_copy(update=update)
        return
    for url in _postgres_database():
        yield live[0].model_copy(update=update | {"database_url": url})


@pytest.fixture
def embedded(tmp_path: Path) -> tuple[Settings, list[UUID]]:
    """The same small museum, embedded only: for what the backend does not change."""
    settings = Settings(home=tmp_path / "var", master_key=MasterKey.generate_text())
    with opened_ledger(settings) as ledger:
        artists = seed_collection(ledger, 2)
    return settings, artists


@pytest.fixture
def fresh(embedded: tuple[Settings, list[UUID]], tmp_path: Path) -> Settings:
    """An empty embedded data directory with the same key."""
    return embedded[0].model_copy(update={"home": tmp_path / "restored", "shred_list": None})


def head_file(settings: Settings, path: Path) -> Path:
    """What an operator keeps: `museum ledger head --json`."""
    with opened_ledger(settings) as ledger:
        path.write_text(json.dumps(ledger.integrity.sign_head().as_dict()))
    return path


def leaves(settings: Settings) -> list[bytes]:
    with opened_ledger(settings) as ledger:
        return stored_leaves(ledger)


def blob_bytes(home: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in (home / "blobs").glob("??/*")}


class Writer(threading.Thread):
    """Donations (new blobs) and consent changes from a ledger of its own, until stopped."""

    def __init__(self, settings: Settings, artist_id: UUID) -> None:
        super().__init__(daemon=True)
        self.settings, self.artist_id = settings, artist_id
        self.stop = threading.Event()
        self.written = threading.Semaphore(0)
        self.failure: BaseException | None = None

    def run(self) -> None:
        try:
            with opened_ledger(self.settings) as ledger:
                for n in range(10_000):
                    if self.stop.is_set():
                        return
                    made = ledger.donate(donation(self.artist_id, stages=stages(shade=50 + n)))
                    ledger.revoke_consent(made.donation_id, "train")
                    self.written.release()
        except BaseException as exc:
            self.failure = exc


def test_a_backup_taken_while_a_writer_runs_restores_whole(
    live: tuple[Settings, list[UUID]], target: Settings, tmp_path: Path
) -> None:
    settings, artists = live
    before = len(leaves(settings))
    writer = Writer(settings, artists[0])
    writer.start()
    for _ in range(3):  # the writer is under way before the backup starts
        assert writer.written.acquire(timeout=60)
    try:
        done = back_up(settings, tmp_path / "backup")
        for _ in range(2):  # and goes on after it
            assert writer.written.acquire(timeout=60)
    finally:
        writer.stop.set()
        writer.join(60)
    assert writer.failure is None
    live_leaves = leaves(settings)
    assert before + 3 * 3 <= done.events < len(live_leaves)
    assert done.keys == 2

    # The head the operator holds now proves the events written after the snapshot.
    newest = head_file(settings, tmp_path / "head.json")
    lost = len(live_leaves) - done.events
    with pytest.raises(IntegrityViolation, match=f"lacks the newest {lost} events"):
        restore(target, tmp_path / "backup", head=newest)
    nothing_restored(target)  # on PostgreSQL: what pg_restore wrote is taken out again

    restored = restore(target, tmp_path / "backup", head=newest, accept_loss=True)
    assert restored.lost_events == lost
    assert restored.events_restored == done.events == restored.verify.events
    assert restored.verify.keys_present == 2
    # The restored log is the live log as it was at the snapshot: the same events, in order.
    assert leaves(target) == live_leaves[: done.events]
    # Every blob came back byte for byte; every one an event names is there (verify).
    assert restored.verify.blobs_referenced <= restored.blobs_restored
    back, kept = blob_bytes(target.home), blob_bytes(settings.home)
    assert back
    assert set(back) <= set(kept)
    assert all(kept[name] == data for name, data in back.items())
    assert not list(target.home.glob(".restoring-*"))
    with opened_ledger(target) as ledger:
        assert len(ledger.artist_ids()) == 2
        assert ledger.identity(artists[1]).contact  # keys unwrap under the same master key


def test_a_backup_that_does_not_match_its_manifest_is_refused(
    embedded: tuple[Settings, list[UUID]], fresh: Settings, tmp_path: Path
) -> None:
    settings, _ = embedded
    source = tmp_path / "backup"
    back_up(settings, source)
    blob = next((source / "blobs").glob("??/*"))
    original = blob.read_bytes()
    blob.write_bytes(original[:-1] + bytes([original[-1] ^ 1]))
    with pytest.raises(IntegrityViolation, match="does not match its manifest"):
        restore(fresh, source)
    nothing_restored(fresh)
    blob.write_bytes(original)

    extra = source / "blobs" / "stray.bin"
    extra.write_bytes(b"x")
    with pytest.raises(IntegrityViolation, match="does not list"):
        restore(fresh, source)
    extra.unlink()

    manifest = json.loads((source / MANIFEST).read_text())
    (source / MANIFEST).write_text(json.dumps(manifest | {"events": manifest["events"] - 1}))
    with pytest.raises(IntegrityViolation, match="does not match its signature"):
        restore(fresh, source)
    nothing_restored(fresh)

    other = fresh.model_copy(update={"master_key": SecretStr(MasterKey.generate_text())})
    with pytest.raises(ConfigurationError, match="not the one this backup was made with"):
        restore(other, source)


def nothing_restored(target: Settings) -> None:
    assert not (target.home / "ledger.sqlite3").exists()
    assert not list((target.home / "blobs").glob("??/*"))
    assert not list(target.home.glob(".restoring-*"))
    if not target.embedded:
        with psycopg.connect(str(target.database_url)) as conn:
            row = conn.execute(
                "SELECT count(*) FROM information_schema.tables WHERE table_schema = 'public'"
            ).fetchone()
        assert row == (0,)


def test_a_restore_writes_only_into_an_empty_data_directory(
    embedded: tuple[Settings, list[UUID]], tmp_path: Path
) -> None:
    settings, _ = embedded
    back_up(settings, tmp_path / "backup")
    with pytest.raises(Conflict, match="not empty"):
        restore(settings, tmp_path / "backup")  # the live museum itself
    with pytest.raises(FileProblem, match="not an empty folder"):
        back_up(settings, tmp_path / "backup")  # nor is a backup written over another


def test_a_restore_that_lost_the_newest_events_says_so(
    embedded: tuple[Settings, list[UUID]], fresh: Settings, tmp_path: Path
) -> None:
    settings, artists = embedded
    back_up(settings, tmp_path / "backup")
    with opened_ledger(settings) as ledger:
        ledger.donate(donation(artists[1], stages=stages(shade=99)))
    newest = head_file(settings, tmp_path / "head.json")
    size = json.loads(newest.read_text())["tree_size"]
    with pytest.raises(IntegrityViolation, match=r"lacks the newest 2 events"):
        restore(fresh, tmp_path / "backup", head=newest)
    nothing_restored(fresh)

    restored = restore(fresh, tmp_path / "backup", head=newest, accept_loss=True)
    assert restored.lost_events == 2
    assert restored.events_restored == size - 2
    assert any("lacks the newest 2 events" in w for w in restored.warnings)


def test_a_restore_extends_the_head_it_is_given_or_is_refused(
    embedded: tuple[Settings, list[UUID]], fresh: Settings, tmp_path: Path
) -> None:
    settings, _ = embedded
    held = head_file(settings, tmp_path / "head.json")
    back_up(settings, tmp_path / "backup")
    stranger = Settings(home=tmp_path / "stranger", master_key=MasterKey.generate_text())
    foreign = head_file(stranger, tmp_path / "foreign.json")
    with pytest.raises(ProofError, match="bad signature"):
        restore(fresh, tmp_path / "backup", head=foreign)
    nothing_restored(fresh)

    restored = restore(fresh, tmp_path / "backup", head=held)
    assert restored.lost_events == 0
    assert restored.head_checked is not None
    assert restored.head_checked["kind"] == "head"
    assert not any("head" in w for w in restored.warnings)


def test_an_erasure_after_the_backup_is_made_again_on_restore(
    embedded: tuple[Settings, list[UUID]], fresh: Settings, tmp_path: Path
) -> None:
    settings, artists = embedded
    back_up(settings, tmp_path / "backup")
    erased = artists[-1]
    with opened_ledger(settings) as ledger:
        Erasures(ledger).request(erased, "please forget me")
    shred_list = settings.shred_list_path
    assert [s.artist_id for s in read_shred_lists([shred_list])] == [erased]

    restored = restore(fresh, tmp_path / "backup", shred_lists=[shred_list])
    assert restored.erased_again == [str(erased)]
    assert restored.verify.keys_shredded == 1
    assert restored.verify.keys_present == 1
    assert not any("shred list" in w for w in restored.warnings)
    with opened_ledger(fresh) as ledger:
        with pytest.raises(KeyShredded):
            ledger.data_key(erased)
        assert ledger.get_artist(erased).erasure_certificate is not None  # no model held them
        ledger.data_key(artists[0])  # the others are untouched


def test_without_a_shred_list_the_restore_says_what_it_cannot_know(
    embedded: tuple[Settings, list[UUID]], fresh: Settings, tmp_path: Path
) -> None:
    settings, artists = embedded
    back_up(settings, tmp_path / "backup")
    with opened_ledger(settings) as ledger:
        Erasures(ledger).request(artists[-1], "")
    restored = restore(fresh, tmp_path / "backup")  # the live list is not the target's
    assert restored.erased_again == []
    assert any("no shred list was read" in w for w in restored.warnings)


def test_an_erasure_cut_short_in_the_backup_is_finished(
    embedded: tuple[Settings, list[UUID]], fresh: Settings, tmp_path: Path
) -> None:
    settings, artists = embedded
    with opened_ledger(settings) as ledger:  # erase_artist's first save, without its second
        artist = ledger.get_artist(artists[0])
        artist.request_erasure(reason="")
        donations = [ledger.get_donation(d) for d in artist.donation_ids]
        for withdrawn in donations:
            withdrawn.withdraw_for_erasure()
        ledger.save(artist, *donations)
    back_up(settings, tmp_path / "backup")
    restored = restore(fresh, tmp_path / "backup")
    assert restored.erasures_resumed == [str(artists[0])]
    with opened_ledger(fresh) as ledger:
        assert ledger.get_artist(artists[0]).key_shredded
        assert ledger.vault.get(artists[0]) is None
    assert [s.artist_id for s in read_shred_lists([fresh.shred_list_path])] == [artists[0]]


def test_the_master_key_travels_only_when_asked(tmp_path: Path) -> None:
    home = tmp_path / "var"
    settings = Settings(home=home)  # the embedded mode's development key, in MUSEUM_HOME
    with opened_ledger(settings) as ledger:
        seed_collection(ledger, 1)
    plain = back_up(settings, tmp_path / "plain")
    assert (tmp_path / "plain").stat().st_mode & 0o077 == 0  # private to its owner
    assert not plain.master_key_included
    assert not (tmp_path / "plain" / "master.key").exists()
    elsewhere = Settings(home=tmp_path / "new")
    with pytest.raises(ConfigurationError, match="holds no master key"):
        restore(elsewhere, tmp_path / "plain")
    carried = back_up(settings, tmp_path / "carried", include_master_key=True)
    assert carried.master_key_included
    restored = restore(elsewhere, tmp_path / "carried")
    assert restored.events_restored == carried.events
    assert (tmp_path / "new" / "master.key").read_text() == (home / "master.key").read_text()


def test_a_torn_last_line_of_the_shred_list_is_skipped(tmp_path: Path) -> None:
    path = tmp_path / "shred-list.jsonl"
    first = UUID(int=1)
    path.write_text(json.dumps({"artist_id": str(first), "at": "t"}) + '\n{"artist_id": "0')
    assert [s.artist_id for s in read_shred_lists([path])] == [first]
    path.write_text(f'nonsense\n{{"artist_id": "{first}"}}\n')
    with pytest.raises(FileProblem, match="line 1"):
        read_shred_lists([path])


def test_shreddings_are_noted_before_the_key_goes(
    embedded: tuple[Settings, list[UUID]],
) -> None:
    settings, artists = embedded
    with opened_ledger(settings) as ledger:
        ledger.erase_artist(artists[0], "")
        assert ledger.get_artist(artists[0]).key_shredded
        assert ledger.shred_list is not None
        assert [s.artist_id for s in ledger.shred_list.read()] == [artists[0]]


def test_heads_signed_by_two_processes_at_once_never_shrink(
    embedded: tuple[Settings, list[UUID]],
) -> None:
    """A backup signs a head while the museum's writers sign theirs: the sequence must hold."""
    settings, _ = embedded
    stop = threading.Event()

    def sign() -> None:
        with opened_ledger(settings) as other:
            while not stop.is_set():
                other.integrity.sign_head()

    signer = threading.Thread(target=sign, daemon=True)
    signer.start()
    try:
        with opened_ledger(settings) as ledger:
            ids = [d for a in ledger.artist_ids() for d in ledger.get_artist(a).donation_ids]
            for n in range(20):
                ledger.set_consent(ids[n % len(ids)], "research", n % 4 < 2)
                ledger.integrity.sign_head()
    finally:
        stop.set()
        signer.join(30)
    with opened_ledger(settings) as ledger:
        assert ledger.integrity.verify().heads > 5


def test_a_backup_can_be_one_archive_file(
    embedded: tuple[Settings, list[UUID]], fresh: Settings, tmp_path: Path
) -> None:
    settings, _ = embedded
    archive = tmp_path / "museum-backup.tar"
    done = back_up(settings, archive)
    assert archive.is_file()
    assert archive.stat().st_mode & 0o077 == 0  # private to its owner
    assert done.dest == str(archive)
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]  # nothing left over
    damaged = tmp_path / "damaged.tar"
    damaged.write_bytes(archive.read_bytes()[: archive.stat().st_size // 2])
    with pytest.raises((IntegrityViolation, FileProblem)):
        restore(fresh, damaged)
    nothing_restored(fresh)
    restored = restore(fresh, archive)
    assert restored.source == str(archive)
    assert restored.events_restored == done.events
    assert not list(fresh.home.parent.glob(".museum-unpacked-*"))


def test_a_shredding_that_cannot_be_noted_keeps_the_key_until_it_can(
    embedded: tuple[Settings, list[UUID]], tmp_path: Path
) -> None:
    settings, artists = embedded
    blocked = settings.model_copy(update={"shred_list": tmp_path})  # a folder, not a file
    with opened_ledger(blocked) as ledger:
        with pytest.raises(FileProblem, match="the key was kept"):
            ledger.erase_artist(artists[0], "")
        assert ledger.vault.get(artists[0]) is not None
        assert ledger.get_artist(artists[0]).erased  # asked for: it resumes
    with opened_ledger(settings) as ledger:
        ledger.erase_artist(artists[0], "")
        assert ledger.vault.get(artists[0]) is None
