"""Concurrency with real processes: commands that lose a race are retried inside the service,
and many processes may open (and set up) one fresh ledger at the same moment."""

from __future__ import annotations

import json
import math
import multiprocessing
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from uuid import UUID

import psycopg
import pytest
from conftest import _postgres_database
from factories import artist, donation, run_museum
from filelock import FileLock
from process_workers import opener, toggler

from ledger import bootstrap
from ledger.application import MuseumLedger
from ledger.bootstrap import SCHEMA_LOCK_KEY, head_revision
from ledger.crypto import MasterKey
from ledger.domain import Donation
from ledger.errors import ConfigurationError, Conflict
from ledger.runtime import migrate_ledger, open_ledger, opened_ledger
from ledger.settings import Settings
from ledger.vocabulary import Purpose

# Fresh processes, as workers and servers are: forked from a clean server process that imported
# the ledger once (no threads, no connections), so sixteen of them start in a second, not in 25
# (each importing the ledger itself). The server's path lacks tests/: it preloads the ledger.
PROCESSES = multiprocessing.get_context("forkserver")
PROCESSES.set_forkserver_preload(["ledger.runtime"])
PURPOSES = [str(p) for p in Purpose]
TOGGLES = [9, 10, 11, 12]  # per writer: odd counts end with the consent held
OPENERS = 16


@pytest.fixture
def postgres(tmp_path: Path) -> Iterator[Settings]:
    for url in _postgres_database():
        yield Settings(
            home=tmp_path / "var", database_url=url, master_key=MasterKey.generate_text()
        )


def _run_together(target: Any, argsets: list[tuple[Any, ...]], timeout: float = 90) -> list[Any]:
    """Start one process per argument set, release them at once, return what each reported."""
    ready, out, go = PROCESSES.Queue(), PROCESSES.Queue(), PROCESSES.Event()
    processes = [PROCESSES.Process(target=target, args=(*a, ready, go, out)) for a in argsets]
    for process in processes:
        process.start()
    try:
        for _ in processes:
            ready.get(timeout=timeout)
        go.set()
        return [out.get(timeout=timeout) for _ in processes]
    finally:
        for process in processes:
            process.join(timeout=30)
            if process.is_alive():
                process.kill()


# --- (a) concurrent commands on one aggregate ----------------------------------------------------


@pytest.mark.postgres
def test_four_writers_on_one_donation_lose_no_update(postgres: Settings) -> None:
    with opened_ledger(postgres) as ledger:
        artist_id = ledger.register_artist(artist())
        donation_id = ledger.donate(donation(artist_id, consents=())).donation_id

    reports = _run_together(
        toggler,
        [(postgres, str(donation_id), p, n) for p, n in zip(PURPOSES, TOGGLES, strict=True)],
    )

    assert [r[3] for r in reports] == [None] * len(PURPOSES)  # no IntegrityError, no Conflict
    for purpose, answers, _, _ in reports:
        # Only this writer touches its purpose, so every command changed something: a lost
        # update or a retry that ran a command twice would answer False somewhere.
        assert answers == [True] * TOGGLES[PURPOSES.index(purpose)]
    assert sum(r[2] for r in reports) > 0  # the writers did collide: the retry was exercised

    with opened_ledger(postgres) as ledger:
        held = {p for p, n in zip(PURPOSES, TOGGLES, strict=True) if n % 2}
        current = ledger.get_donation(donation_id)
        assert set(current.consents) == held
        events = list(ledger.events.get(donation_id))
        assert current.version == len(events) == 1 + sum(TOGGLES)
        replayed: set[str] = set()
        for domain_event in events:
            if isinstance(domain_event, Donation.ConsentGranted):
                replayed.add(domain_event.purpose)
            elif isinstance(domain_event, Donation.ConsentRevoked):
                replayed.discard(domain_event.purpose)
        assert replayed == held
        granted = Counter(e.purpose for e in events if isinstance(e, Donation.ConsentGranted))
        revoked = Counter(e.purpose for e in events if isinstance(e, Donation.ConsentRevoked))
        for purpose, n in zip(PURPOSES, TOGGLES, strict=True):
            assert (granted[purpose], revoked[purpose]) == (math.ceil(n / 2), n // 2)
        ledger.integrity.verify()  # every concurrently written event has its sealed leaf


# --- (b) many processes opening one fresh ledger -------------------------------------------------


@pytest.mark.postgres
def test_many_processes_open_a_fresh_postgres_ledger_at_once(postgres: Settings) -> None:
    reports = _run_together(opener, [(postgres,)] * OPENERS)
    assert reports == ["ok"] * OPENERS
    state, applied = migrate_ledger(postgres)
    assert state.ready
    assert not applied
    with psycopg.connect(str(postgres.database_url)) as db:
        assert db.execute("SELECT version_num FROM alembic_version").fetchall() == [
            (head_revision(),)
        ]


# --- (c) the retry gives up after its bound ------------------------------------------------------


def _collider(ledger: MuseumLedger, donation_id: UUID, tries: list[int], collide: int) -> Any:
    """A closure whose save loses to a copy loaded at the same time, on its first `collide` tries."""

    def command() -> bool:
        mine = ledger.get_donation(donation_id)
        tries.append(1)
        if len(tries) <= collide:
            theirs = ledger.get_donation(donation_id)  # a concurrent writer's copy, saved first
            if not theirs.grant(Purpose.RESEARCH):
                theirs.revoke(Purpose.RESEARCH)
            ledger.save(theirs)
        changed = mine.grant(Purpose.COMMERCIAL)
        ledger.save(mine)
        return changed

    return command


def test_retry_gives_up_with_conflict_after_its_bound(ledger: MuseumLedger) -> None:
    donation_id = ledger.donate(donation(ledger.register_artist(artist()))).donation_id
    before = ledger.get_donation(donation_id).version
    ledger.command_attempts = 3
    tries: list[int] = []
    with pytest.raises(Conflict, match=f"donation {donation_id} changed concurrently 3 times"):
        ledger.retry(_collider(ledger, donation_id, tries, collide=99), f"donation {donation_id}")
    assert len(tries) == 3
    assert ledger.lost_races == 3
    after = ledger.get_donation(donation_id)
    assert after.version == before + 3  # the three winning writes, none of the losing ones
    assert Purpose.COMMERCIAL not in after.consents
    assert Purpose.RESEARCH in after.consents
    assert (Conflict.exit_code, Conflict.http_status) == (4, 409)


def test_retry_after_a_lost_race_answers_from_a_fresh_get(ledger: MuseumLedger) -> None:
    donation_id = ledger.donate(donation(ledger.register_artist(artist()))).donation_id
    tries: list[int] = []
    changed = ledger.retry(_collider(ledger, donation_id, tries, collide=1), "the donation")
    assert changed is True
    assert (len(tries), ledger.lost_races) == (2, 1)
    consents = ledger.get_donation(donation_id).consents
    assert {Purpose.COMMERCIAL, Purpose.RESEARCH} <= set(consents)
    assert ledger.grant_consent(donation_id, "commercial") is False  # idempotent, no new event


# --- schema set-up: once, under a lock, and no lock when ready ----------------------------------


def _hold_schema_lock(settings: Settings) -> Any:
    """The schema lock as another process would hold it."""
    if settings.embedded:
        return FileLock(f"{settings.sqlite_path.resolve()}.schema-lock")
    db = psycopg.connect(str(settings.database_url), autocommit=True)
    db.execute("SELECT pg_advisory_lock(%s)", (SCHEMA_LOCK_KEY,))
    return db


def test_schema_is_set_up_once_and_then_opened_without_the_lock(
    backend: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(bootstrap, "LOCK_WAIT_SECONDS", 1)
    holder = _hold_schema_lock(backend)
    try:
        if isinstance(holder, FileLock):
            holder.acquire()
        started = time.monotonic()
        with pytest.raises(ConfigurationError, match="schema lock"):
            open_ledger(backend)  # a fresh ledger needs set-up, and waits for the lock
        assert time.monotonic() - started >= 0.9
    finally:
        holder.release() if isinstance(holder, FileLock) else holder.close()

    state, applied = migrate_ledger(backend)
    assert applied
    assert state.ready
    assert state.revision == head_revision()
    env = {} if backend.embedded else {"MUSEUM_DATABASE_URL": str(backend.database_url)}
    again = run_museum(backend.home, "migrate", "--json", env=env)
    assert again.returncode == 0, again.stderr
    assert json.loads(again.stdout) | {"events_table": None} == {
        "revision": head_revision(),
        "head": head_revision(),
        "events_table": None,
        "applied": False,
        "backend": "sqlite" if backend.embedded else "postgresql",
    }

    holder = _hold_schema_lock(backend)
    try:
        if isinstance(holder, FileLock):
            holder.acquire()
        with opened_ledger(
            backend
        ) as ledger:  # ready: the cheap look finds it so, no lock is taken
            ledger.register_artist(artist())
    finally:
        holder.release() if isinstance(holder, FileLock) else holder.close()
