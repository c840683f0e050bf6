"""The listed read models (consent status, credits per artist, the artist directory): SQL
projections of the events on both backends, rebuilt, checked, paged and raced.

Real SQLite files and a real PostgreSQL server; the race runs two ledgers on one database in
two threads.
"""

from __future__ import annotations

import json
import sqlite3
import threading
from pathlib import Path
from typing import Any
from uuid import UUID

import factories
import pytest
import sqlalchemy as sa
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from eventsourcing.application import Application
from eventsourcing.projection import ProjectionRunner

from ledger.application import MuseumLedger
from ledger.attribution_records import AttributionRecords
from ledger.audit import full_audit
from ledger.crypto import MasterKey
from ledger.domain.attribution import PPM
from ledger.errors import IntegrityViolation, InvalidInput
from ledger.model_records import ModelRecords
from ledger.read_models import ArtistCredits, ArtistDirectory, ConsentStatus, read_models
from ledger.read_models.base import ReadModel
from ledger.read_models.consent import ConsentProjection
from ledger.read_models.paging import MAX_LIMIT, encode_cursor
from ledger.runtime import database_parts, open_ledger, opened_ledger
from ledger.settings import Settings
from ledger.store import alembic_config, migrate
from ledger.tables import artist_directory, consent_status, metadata
from ledger.tracked_view import PostgresTrackedView

INDEX = "ab" * 32
PURPOSES = ["commercial", "exhibit", "research", "train"]


def _donate(ledger: MuseumLedger, artist_id: UUID, shade: int, **changes: Any) -> UUID:
    request = factories.donation(artist_id, stages=factories.stages(shade=shade), **changes)
    return ledger.donate(request).donation_id


def _museum(ledger: MuseumLedger, artists: int = 3, donations: int = 2) -> list[UUID]:
    """Artists with a few donations each, and some consent changes."""
    ids = [ledger.register_artist(factories.artist(f"Artist {n}")) for n in range(artists)]
    for n, artist_id in enumerate(ids):
        for d in range(donations):
            donation_id = _donate(ledger, artist_id, 10 + 90 * n + 30 * d)
            if d % 2:
                ledger.grant_consent(donation_id, "research")
    return ids


def _attribute(ledger: MuseumLedger, method: str = "trak") -> Any:
    """A training run, a generation and an attribution recorded directly (no torch)."""
    records = ModelRecords(ledger)
    run = records.start_run(job_id=f"run-{method}", config={"preset": "tiny"}, seed=0, shards=1)
    records.record_checkpoint(run.id, 0, 5, "e" * 64, b"w")
    run = records.complete_run(run.id, 0.2)
    generation = records.record_generation(
        job_id=f"gen-{method}", run=run, seed=1, steps=10, role="final", emotion="joy",
        png=factories.png(7),
    )  # fmt: skip
    ids = run.item_ids()
    scores = {item_id: float(len(ids) - i) for i, item_id in enumerate(ids)}
    return AttributionRecords(ledger).record(generation.id, method, {}, INDEX, scores, k=5)


def _walk(list_page: Any, limit: int) -> list[Any]:
    """Every item of a listing, page by page; each page is at most `limit` long."""
    items: list[Any] = []
    after = None
    while True:
        page = list_page(after=after, limit=limit)
        assert len(page.items) <= limit
        items += page.items
        if page.next is None:
            return items
        assert page.items, "a page with a next cursor holds rows"
        after = page.next


def _stored(ledger: MuseumLedger, model: ReadModel) -> dict[str, list[dict[str, Any]]]:
    with ledger.engine.connect() as c:
        return {
            table.name: [
                dict(row)
                for row in c.execute(
                    sa.select(table).order_by(*table.primary_key.columns)
                ).mappings()
            ]
            for table in model.tables
        }


def test_consent_rows_follow_grants_revokes_and_erasure(ledger: MuseumLedger) -> None:
    model = ConsentStatus(ledger)
    ana, bea = (ledger.register_artist(factories.artist(name)) for name in ("Ana", "Bea"))
    first = _donate(ledger, ana, 10)
    other = _donate(ledger, bea, 120)

    def rows(donation_id: UUID) -> dict[str, Any]:
        page = model.consents(donation_id=donation_id, limit=10)
        return {item.purpose: item for item in page.items}

    made = rows(first)
    assert sorted(made) == PURPOSES
    assert {p for p, row in made.items() if row.granted} == {"exhibit", "train"}
    assert all(row.artist_id == str(ana) and not row.withdrawn for row in made.values())
    ledger.grant_consent(first, "commercial")
    ledger.revoke_consent(first, "train")
    changed = rows(first)  # read-your-writes: the listing caught up first
    assert {p for p, row in changed.items() if row.granted} == {"commercial", "exhibit"}
    trail = {(c.purpose, c.change): c.at for c in ledger.consent_trail(first)}
    assert changed["commercial"].since == trail[("commercial", "granted")]
    assert changed["train"].since == trail[("train", "revoked")]
    assert changed["exhibit"].since == made["exhibit"].since  # unchanged since the donation
    assert changed["train"].notification_id > changed["commercial"].notification_id
    for purpose, row in changed.items():
        assert row.granted == ledger.consent_at(first, purpose)

    ledger.erase_artist(ana, "leaving")
    erased = rows(first)
    assert all(not row.granted and row.withdrawn for row in erased.values())
    assert erased["exhibit"].since > changed["exhibit"].since  # revoked by the erasure
    assert erased["research"].since == made["research"].since  # never granted: no change
    assert {p for p, row in rows(other).items() if row.granted} == {"exhibit", "train"}
    assert [i.donation_id for i in model.consents(artist_id=bea, limit=10).items] == [
        str(other)
    ] * 4

    before = _stored(ledger, model)
    assert model.rebuild() > 0
    assert _stored(ledger, model) == before
    assert model.compare() == {
        "rows": 8,
        "position": model.position(),
        "events_not_projected": 0,
    }


def test_credits_follow_attributions_and_rebuild_the_same(ledger: MuseumLedger) -> None:
    artists = _museum(ledger, artists=2, donations=1)
    model = ArtistCredits(ledger)
    assert model.credits_of(limit=10).items == []
    trak = _attribute(ledger, "trak")
    items = model.credits_of(limit=10).items
    assert {(i.artist_id, i.share_ppm) for i in items} == {
        (line["key"], line["ppm"]) for line in trak.per_artist
    }
    assert sum(i.share_ppm for i in items) == PPM
    assert all(
        (i.attribution_id, i.generation_id, i.model_version, i.method)
        == (str(trak.id), str(trak.generation_id), str(trak.model_version), "trak")
        for i in items
    )
    ledger.erase_artist(artists[0], "leaving")  # credits name ids, and stay
    other = _attribute(ledger, "tracin")
    mine = model.credits_of(artists[1], limit=10).items
    assert [i.method for i in mine] == ["trak", "tracin"]
    assert mine[0].notification_id < mine[1].notification_id
    assert mine[1].attribution_id == str(other.id)
    assert mine[0].recorded_at < mine[1].recorded_at

    before = _stored(ledger, model)
    model.rebuild()
    assert _stored(ledger, model) == before
    assert model.compare()["rows"] == len(trak.per_artist) + len(other.per_artist)


def test_the_directory_follows_registration_founding_donations_and_erasure(
    ledger: MuseumLedger, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("ledger.application.FOUNDING_SEATS", 1)  # the second artist is late
    seated, late = (ledger.register_artist(factories.artist(name)) for name in ("Ana", "Bea"))
    model = ArtistDirectory(ledger)
    first, second = model.artists(limit=10).items
    assert (first.artist_id, first.founding, first.founding_number) == (str(seated), True, 1)
    assert (second.artist_id, second.founding, second.founding_number) == (str(late), False, None)
    assert first.registered_at < second.registered_at
    assert (first.anonymous, first.donations, first.erased) == (False, 0, False)
    ledger.grant_founding(late, curator="Curator Ines")
    _donate(ledger, late, 10)
    _donate(ledger, late, 60)
    artist = ledger.get_artist(late)
    artist.set_anonymous(True)
    ledger.save(artist)
    ledger.erase_artist(seated, "leaving")
    first, second = model.artists(limit=10).items
    assert (first.erased, first.donations) == (True, 0)
    assert (second.founding, second.founding_number, second.anonymous, second.donations) == (
        True,
        None,
        True,
        2,
    )
    assert not second.erased
    assert [a.artist_id for a in model.artists(limit=10, founding=True).items] == [
        str(seated),
        str(late),
    ]
    assert model.artists(limit=10, founding=False).items == []

    before = _stored(ledger, model)
    model.rebuild()
    assert _stored(ledger, model) == before
    # The table holds no sealed text: nothing but ids, flags, counts and times.
    assert set(artist_directory.columns.keys()) == {
        "artist_id", "seq", "founding", "founding_number", "anonymous", "donations", "erased",
        "registered_us",
    }  # fmt: skip


def test_a_rare_projection_moves_past_a_busy_stretch_of_other_events(
    ledger: MuseumLedger,
) -> None:
    """Credits behind many consent changes: the position moves up to the log's head, so later
    reads do not scan the others again, and nothing of its own is passed over."""
    (artist, *_) = _museum(ledger, artists=2, donations=1)
    model = ArtistCredits(ledger)
    model.page_size = 2
    _attribute(ledger, "trak")
    model.catch_up()
    donation_id = ledger.get_artist(artist).donation_ids[0]
    for _ in range(3):
        ledger.grant_consent(donation_id, "research")
        ledger.revoke_consent(donation_id, "research")
    head = ledger.recorder.max_notification_id()
    assert model.catch_up() == 0
    assert model.position() == head
    other = _attribute(ledger, "tracin")
    assert model.catch_up() == len(other.per_artist)
    assert model.compare()["rows"] == 2 * len(other.per_artist)
    # One foreign event is not worth a write: the position stays at the credit's event.
    position = model.position()
    ledger.grant_consent(donation_id, "research")
    assert model.catch_up() == 0
    assert model.position() == position


def test_paging_walks_every_row_once_in_order(ledger: MuseumLedger) -> None:
    artists = _museum(ledger, artists=3, donations=2)
    _attribute(ledger)
    consents, credits, directory = (
        ConsentStatus(ledger),
        ArtistCredits(ledger),
        ArtistDirectory(ledger),
    )
    by_consent = lambda i: (i.donation_id, i.purpose)  # noqa: E731
    by_credit = lambda i: (i.attribution_id, i.artist_id)  # noqa: E731
    listings = {
        "consents": (consents.consents, by_consent),
        "one artist's consents": (lambda **kw: consents.consents(artists[1], **kw), by_consent),
        "credits": (credits.credits_of, by_credit),
        "one artist's credits": (lambda **kw: credits.credits_of(artists[0], **kw), by_credit),
        "artists": (directory.artists, lambda i: i.artist_id),
    }
    for name, (listing, key) in listings.items():
        everything = listing(limit=MAX_LIMIT)
        assert everything.next is None
        assert everything.items, name
        assert len({key(i) for i in everything.items}) == len(everything.items)  # once each
        for limit in (1, 4):
            assert _walk(listing, limit) == everything.items, (name, limit)
    walked = consents.consents(limit=MAX_LIMIT).items
    assert len(walked) == 4 * 6
    by_donation = [(r.donation_id, r.purpose) for r in walked]
    donated = [str(d) for a in artists for d in ledger.get_artist(a).donation_ids]
    assert by_donation == [(d, p) for d in donated for p in PURPOSES]  # donation order
    assert [i.artist_id for i in directory.artists(limit=MAX_LIMIT).items] == [
        str(a) for a in artists
    ]
    assert {i.artist_id for i in consents.consents(artists[1], limit=MAX_LIMIT).items} == {
        str(artists[1])
    }
    recorded = credits.credits_of(limit=MAX_LIMIT).items
    assert [i.notification_id for i in recorded] == sorted(i.notification_id for i in recorded)


def test_bad_cursors_and_limits_are_invalid_input(ledger: MuseumLedger) -> None:
    _museum(ledger, artists=2, donations=1)
    consents, directory = ConsentStatus(ledger), ArtistDirectory(ledger)
    cursor = consents.consents(limit=1).next
    assert cursor is not None
    for bad in (
        "not base64!",
        cursor[:-3],
        cursor + "x",
        encode_cursor("artists", 1),  # another listing's
        encode_cursor("consents", -1, "train"),
        encode_cursor("consents", 2**63, "train"),
        encode_cursor("consents", "1", "train"),
        encode_cursor("consents", 1, ""),
        "A" * 300,
        "",
    ):
        with pytest.raises(InvalidInput, match="invalid cursor"):
            consents.consents(after=bad, limit=1)
    artist_cursor = directory.artists(limit=1).next
    assert artist_cursor is not None
    with pytest.raises(InvalidInput, match="invalid cursor"):
        consents.consents(after=artist_cursor)
    for limit in (0, -1, MAX_LIMIT + 1, True):
        with pytest.raises(InvalidInput, match="limit"):
            directory.artists(limit=limit)


def test_verify_compares_the_read_models_and_names_a_changed_row(ledger: MuseumLedger) -> None:
    artists = _museum(ledger, artists=2, donations=1)
    _attribute(ledger)
    checks = read_models(ledger)
    assert set(checks) == {"consent_status", "artist_credits", "artist_directory"}
    for model in checks.values():
        model.catch_up()
        assert model.compare()["events_not_projected"] == 0
    ledger.grant_consent(ledger.get_artist(artists[0]).donation_ids[0], "research")
    assert checks["consent_status"].compare()["events_not_projected"] == 1  # not yet read
    checks["consent_status"].catch_up()
    with ledger.engine.begin() as c:
        c.execute(
            sa.update(consent_status)
            .where(consent_status.c.purpose == "train")
            .values(granted=False)
        )
    with pytest.raises(IntegrityViolation, match=r"consent_status row .*granted is False"):
        checks["consent_status"].compare()
    with ledger.engine.begin() as c:
        c.execute(
            sa.delete(artist_directory).where(artist_directory.c.artist_id == str(artists[1]))
        )
    with pytest.raises(IntegrityViolation, match="missing from the read model"):
        checks["artist_directory"].compare()
    checks["artist_directory"].rebuild()
    assert checks["artist_directory"].compare()["rows"] == 2


def test_the_read_models_survive_migration_0005_both_ways(ledger: MuseumLedger) -> None:
    """Down to 0004 drops the tables; up again makes them empty, and the first read fills
    them from the events already in the log."""
    artists = _museum(ledger, artists=2, donations=1)
    model = ConsentStatus(ledger)
    expected = model.consents(limit=MAX_LIMIT)
    config = alembic_config()
    with ledger.engine.begin() as connection:
        config.attributes["connection"] = connection
        command.downgrade(config, "0004")
    with ledger.engine.connect() as c:
        assert "consent_status" not in sa.inspect(c).get_table_names()
    migrate(ledger.engine)
    with ledger.engine.connect() as c:  # the migration makes the tables the code queries
        drift = compare_metadata(MigrationContext.configure(c), metadata)
    ours = ("consent_status", "artist_credits", "artist_directory")
    assert [d for d in drift if any(f"'{name}'" in repr(d) for name in ours)] == []
    assert model.position() == 0
    assert model.consents(limit=MAX_LIMIT) == expected
    assert ArtistDirectory(ledger).artists(limit=MAX_LIMIT).items[1].artist_id == str(artists[1])


def test_two_ledgers_catching_up_at_once_write_each_event_once(backend: Settings) -> None:
    writer = open_ledger(backend)
    others = [open_ledger(backend) for _ in range(2)]
    try:
        _museum(writer, artists=3, donations=2)
        _attribute(writer, "trak")
        _attribute(writer, "tracin")
        racers = [list(read_models(ledger).values()) for ledger in others]
        for model in (m for models in racers for m in models):
            model.page_size = 2  # many small pages, so the two interleave
        start = threading.Barrier(len(racers))
        written: dict[str, list[int]] = {name: [] for name in read_models(writer)}
        failures: list[BaseException] = []

        def race(models: list[ReadModel]) -> None:
            try:
                start.wait(timeout=30)
                for model in models:
                    written[model.name].append(model.catch_up())
            except BaseException as exc:  # handed to the test thread
                failures.append(exc)

        threads = [threading.Thread(target=race, args=(models,)) for models in racers]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=120)
        assert not failures, failures
        for name, check in read_models(writer).items():
            figures = check.compare()
            assert figures["events_not_projected"] == 0
            assert figures["rows"] > 0
            # Each change was written by one of the two, once: together they wrote what a
            # rebuild from nothing writes.
            assert sum(written[name]) == check.rebuild(), name
            assert check.compare()["rows"] == figures["rows"]
    finally:
        for ledger in [writer, *others]:
            ledger.close()
            ledger.engine.dispose()


def test_the_command_line_verifies_and_rebuilds_the_read_models(tmp_path: Path) -> None:
    home = tmp_path / "var"
    key = MasterKey.generate_text()
    factories.seed_home(home, key, artists=2)

    def museum(*args: str) -> Any:  # in-process: the same entry point, no interpreter start-up
        return factories.museum_in_process(home, *args, env={"MUSEUM_MASTER_KEY": key})

    with opened_ledger(Settings(home=home, master_key=key)) as ledger:
        for model in read_models(ledger).values():
            model.catch_up()
    with sqlite3.connect(home / "ledger.sqlite3") as db:
        db.execute("UPDATE consent_status SET granted = 1 - granted WHERE purpose = 'research'")
    refused = museum("ledger", "verify", "--projections")
    assert refused.returncode == 1
    assert "consent_status row" in refused.stderr
    assert "museum ledger rebuild" in refused.stderr
    rebuilt = museum("ledger", "rebuild", "--json")
    assert rebuilt.returncode == 0, rebuilt.stderr
    assert json.loads(rebuilt.stdout) == {
        "consent_status": 2 * 4,
        "artist_credits": 0,
        "artist_directory": 2 + 2,  # registered, then a donation each
    }
    with opened_ledger(Settings(home=home, master_key=key)) as ledger:
        figures = full_audit(ledger, read_models={}).projections
    assert figures is not None
    assert list(figures) == ["consent_status", "artist_credits", "artist_directory"]
    assert figures["consent_status"]["rows"] == 8


class _Reader(Application[UUID]):
    """The ledger's events read without its keys: all a subscription needs."""

    name = "museum"


@pytest.mark.postgres
@pytest.mark.parametrize("backend", ["postgres"], indirect=True)
def test_the_library_runner_runs_a_read_model_live_on_postgres(backend: Settings) -> None:
    ledger = open_ledger(backend)
    try:
        artists = _museum(ledger, artists=2, donations=1)
        _, env = database_parts(backend)
        env = {k: v for k, v in env.items() if k != "APPLICATION_RECORDER_TOPIC"}

        def last_consent_event() -> int:
            topics = ConsentProjection.topics
            return ledger.recorder.select_notifications(0, 1000, topics=topics)[-1].id

        with ProjectionRunner(
            application_class=_Reader,
            projection_class=ConsentProjection,
            view_class=PostgresTrackedView,
            env=env | {"CREATE_TABLE": "no"},
        ) as runner:
            runner.wait(last_consent_event(), timeout=20)
            donation_id = ledger.get_artist(artists[0]).donation_ids[0]
            ledger.grant_consent(donation_id, "commercial")  # recorded while it listens
            runner.wait(last_consent_event(), timeout=20)
        model = ConsentStatus(ledger)
        assert model.compare()["events_not_projected"] == 0
        assert model.catch_up() == 0  # the feed and the listings share one position
        (row,) = model.consents(donation_id=donation_id, limit=4).items[:1]
        assert (row.purpose, row.granted) == ("commercial", True)
    finally:
        ledger.close()
        ledger.engine.dispose()
