"""The postings read model on eventsourcing's projection pieces: tracking, upgrade, races.

Real SQLite files and a real PostgreSQL server; the race runs two real processes.
"""

from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
import sys
import time
from pathlib import Path
from uuid import UUID, uuid4

import pytest
import sqlalchemy as sa
from alembic import command
from eventsourcing.application import Application
from eventsourcing.persistence import IntegrityError, Tracking
from eventsourcing.projection import Projection, ProjectionRunner

from ledger.application import MuseumLedger
from ledger.runtime import database_parts, open_ledger
from ledger.settings import Settings
from ledger.store import alembic_config, migrate
from royalties.audit import compare
from royalties.domain import RevenueReport
from royalties.postings_view import (
    PostgresPostingsView,
    Raced,
    SQLitePostingsView,
    postings_table,
)
from royalties.projection import TRACKING_TABLE, PostingsProjection, RoyaltyPostings
from royalties.settings import RoyaltySettings
from royalties.split import Contributor

FIXTURE = Path(__file__).parent / "fixtures" / "ledger-v1"
TERMS = RoyaltySettings().terms()


def _reports(ledger: MuseumLedger, count: int, refunds: int = 0) -> list[RevenueReport]:
    """Royalty events saved straight to the ledger, as a process that died before projecting."""
    artist = str(uuid4())
    reports = [
        RevenueReport.book(
            idempotency_key=f"k-{uuid4().hex}",
            body_sha256="0" * 64,
            generation_id=uuid4(),
            attribution_id=None,
            currency="EUR",
            amount_minor=1000 + n,
            reference="r",
            terms=TERMS,
            contributors=[Contributor(artist, 1_000_000)],
        )
        for n in range(count)
    ]
    for report in reports[:refunds]:
        report.reverse(f"refund-{report.id.hex}", 100, "refund", "test", "1" * 64)
    ledger.save(*reports)
    return reports


def _row_count(ledger: MuseumLedger) -> int:
    with ledger.engine.connect() as c:
        return int(c.execute(sa.select(sa.func.count()).select_from(postings_table)).scalar_one())


def test_an_old_store_keeps_its_rows_and_position_on_upgrade(tmp_path: Path) -> None:
    home = tmp_path / "var"
    shutil.copytree(FIXTURE, home)
    with sqlite3.connect(home / "ledger.sqlite3") as old:
        (old_position,) = old.execute("SELECT position FROM royalty_projection").fetchone()
        old_rows = old.execute("SELECT * FROM royalty_postings ORDER BY 1, 2").fetchall()
    assert old_position > 0
    assert old_rows
    ledger = open_ledger(Settings(home=home, master_key_file=home / "master.key"))
    try:
        projection = PostingsProjection(ledger)
        assert projection.position() == old_position
        assert projection.catch_up() == 0  # nothing is projected twice
        figures = compare(projection)
        assert figures["rows"] == len(old_rows)
        assert figures["events_not_projected"] == 0
        with ledger.engine.connect() as c:
            tables = set(sa.inspect(c).get_table_names())
            tracked = dict(c.execute(sa.text(f"SELECT * FROM {TRACKING_TABLE}")).all())
            rows = c.execute(sa.text("SELECT * FROM royalty_postings ORDER BY 1, 2")).all()
        assert "royalty_projection" not in tables
        assert tracked == {"__migration__": 1, "museum": old_position}
        assert [tuple(r) for r in rows] == old_rows
        # The library's own table set-up finds its marker and leaves the table as it is.
        projection.view.create_table()
        assert projection.position() == old_position
        # New events are projected after the old position, and only they.
        (report,) = _reports(ledger, 1)
        assert projection.catch_up() == len(report.postings)
        assert compare(projection)["rows"] == len(old_rows) + len(report.postings)
    finally:
        ledger.close()
        ledger.engine.dispose()


def test_the_position_survives_migration_0004_both_ways(ledger: MuseumLedger) -> None:
    """On each backend: down to 0003 puts the position back in `royalty_projection`, up again
    moves it into the tracking table; the rows stay as they were."""
    projection = PostingsProjection(ledger)
    _reports(ledger, 3, refunds=1)
    rows = projection.catch_up()
    position = projection.position()
    before = projection.rows_for(
        r.originator_id for r in ledger.recorder.select_notifications(0, 99)
    )
    config = alembic_config()
    with ledger.engine.begin() as connection:
        config.attributes["connection"] = connection
        command.downgrade(config, "0003")
    with ledger.engine.connect() as c:
        old = c.execute(sa.text("SELECT name, position FROM royalty_projection")).all()
        assert TRACKING_TABLE not in sa.inspect(c).get_table_names()
    assert [tuple(r) for r in old] == [("royalty_postings", position)]
    migrate(ledger.engine)
    assert projection.position() == position
    assert projection.catch_up() == 0
    assert compare(projection)["rows"] == rows
    assert projection.rows_for(r["source_id"] for r in before) == before


def test_rows_and_tracking_are_written_together(ledger: MuseumLedger) -> None:
    projection = PostingsProjection(ledger)
    assert isinstance(projection.postings, Projection)
    reports = _reports(ledger, 3, refunds=1)
    written = projection.catch_up()
    assert written == _row_count(ledger) > 0
    last = ledger.recorder.max_notification_id()
    assert projection.position() == last
    # A tracking record that does not move forward is refused, and the rows with it.
    stale = Tracking(ledger.name, last or 0)
    with pytest.raises(IntegrityError):
        projection.view.record([{**projection.rows_for([reports[0].id])[0], "line": 99}], stale)
    assert _row_count(ledger) == written
    # An event of no royalty class moves the position only.
    projection.postings.process_event(object(), Tracking(ledger.name, (last or 0) + 5))
    assert projection.position() == (last or 0) + 5
    assert _row_count(ledger) == written


def test_a_page_begun_before_a_rebuild_is_refused(ledger: MuseumLedger) -> None:
    projection = PostingsProjection(ledger)
    _reports(ledger, 2)
    rows = projection.catch_up()
    position = projection.position()
    projection.view.clear(ledger.name)
    assert projection.position() == 0
    assert _row_count(ledger) == 0
    with pytest.raises(Raced), projection.view.page(ledger.name, position):
        pass
    assert projection.catch_up() == rows
    assert projection.rebuild() == rows
    assert compare(projection)["rows"] == rows


def test_a_page_writes_its_events_together_and_in_order(ledger: MuseumLedger) -> None:
    projection = PostingsProjection(ledger)
    reports = _reports(ledger, 4, refunds=2)
    # The view's own source look-up (what the library's runner uses) sees rows recorded
    # earlier in the same page: a refund follows its report within one page here.
    projection.postings = RoyaltyPostings(projection.view)
    rows = projection.catch_up()
    assert compare(projection)["rows"] == rows
    last = projection.position()
    # Inside a page a tracking record that does not move forward is refused, and the page
    # with it: nothing it recorded is written.
    row = {**projection.rows_for([reports[0].id])[0], "line": 99}

    def backwards_page() -> None:
        with projection.view.page(ledger.name, last):
            projection.view.record([row], Tracking(ledger.name, last + 2))
            projection.view.record([], Tracking(ledger.name, last + 1))

    with pytest.raises(IntegrityError):
        backwards_page()
    assert projection.position() == last
    assert _row_count(ledger) == rows


RACER = """
import sys, time
from pathlib import Path
import royalties.projection as projection
from ledger.runtime import database_parts, open_ledger
from ledger.settings import Settings
from ledger.store import alembic_config, migrate

projection.PAGE = 3  # many small pages, so the two processes interleave
ledger = open_ledger(Settings())
postings = projection.PostingsProjection(ledger)
go = Path(sys.argv[1])
(go.parent / sys.argv[2]).touch()
while not go.exists():
    time.sleep(0.005)
print(postings.catch_up())
ledger.close()
"""


def _racer_env(backend: Settings) -> dict[str, str]:
    env = dict(os.environ, MUSEUM_HOME=str(backend.home))
    assert backend.master_key is not None
    env["MUSEUM_MASTER_KEY"] = backend.master_key.get_secret_value()
    if backend.database_url:
        env["MUSEUM_DATABASE_URL"] = str(backend.database_url)
    return env


def test_two_processes_catching_up_at_once_write_each_row_once(
    backend: Settings, tmp_path: Path
) -> None:
    ledger = open_ledger(backend)
    try:
        reports = _reports(ledger, 30, refunds=6)
        expected = sum(len(r.postings) for r in reports) + sum(
            len(reversal["postings"]) for r in reports for reversal in r.reversals.values()
        )
        go = tmp_path / "go"
        racers = [
            subprocess.Popen(
                [sys.executable, "-c", RACER, str(go), f"ready-{n}"],
                env=_racer_env(backend),
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
            )
            for n in range(2)
        ]
        deadline = time.monotonic() + 60
        while not all((tmp_path / f"ready-{n}").exists() for n in range(2)):
            assert time.monotonic() < deadline, "the racers did not start"
            assert all(r.poll() is None for r in racers), [r.communicate() for r in racers]
            time.sleep(0.01)
        go.touch()
        outputs = [r.communicate(timeout=60) for r in racers]
        assert [r.returncode for r in racers] == [0, 0], outputs
        written = [int(out.strip().splitlines()[-1]) for out, _ in outputs]
        projection = PostingsProjection(ledger)
        assert sum(written) == expected == _row_count(ledger)
        assert projection.position() == ledger.recorder.max_notification_id()
        assert compare(projection) == {
            "rows": expected,
            "position": projection.position(),
            "events_not_projected": 0,
        }
        assert projection.catch_up() == 0
    finally:
        ledger.close()
        ledger.engine.dispose()


def test_the_projection_follows_only_the_royalty_topics() -> None:
    topics = set(RoyaltyPostings.topics)
    assert "royalties.domain:RevenueReport.RevenueReported" in topics
    assert "ledger.domain.royalty:RevenueReport.RevenueReported" in topics  # before the move
    assert RoyaltyPostings.name == "royalty_postings"
    assert f"{RoyaltyPostings.name}_tracking" == TRACKING_TABLE  # the library's naming


class _Reader(Application[UUID]):
    """The ledger's events read without its keys: all a subscription needs."""

    name = "museum"


def test_the_library_runner_runs_the_projection_where_a_subscription_exists(
    backend: Settings,
) -> None:
    ledger = open_ledger(backend)
    try:
        reports = _reports(ledger, 3, refunds=1)
        _, env = database_parts(backend)
        env = {k: v for k, v in env.items() if k != "APPLICATION_RECORDER_TOPIC"}
        env["CREATE_TABLE"] = "no"
        projection = PostingsProjection(ledger)
        if backend.embedded:
            # eventsourcing's SQLite recorder has no subscribe(): commands pull instead.
            with pytest.raises(NotImplementedError, match="does not support subscriptions"):
                ProjectionRunner(
                    application_class=_Reader,
                    projection_class=RoyaltyPostings,
                    view_class=SQLitePostingsView,
                    env=env,
                )
            assert projection.catch_up() > 0
            return
        with ProjectionRunner(
            application_class=_Reader,
            projection_class=RoyaltyPostings,
            view_class=PostgresPostingsView,
            env=env,
        ) as runner:
            runner.wait(ledger.recorder.max_notification_id(), timeout=20)
            first = compare(projection)
            (late,) = _reports(ledger, 1)  # recorded while the runner listens
            runner.wait(ledger.recorder.max_notification_id(), timeout=20)
        assert first["events_not_projected"] == 0
        assert first["rows"] > sum(len(r.postings) for r in reports)  # the refund's rows too
        assert compare(projection)["rows"] == first["rows"] + len(late.postings)
        assert projection.catch_up() == 0  # the feed and the commands share one position
    finally:
        ledger.close()
        ledger.engine.dispose()
