"""Runs, model versions and generations read as views, page by page, on both backends."""

from __future__ import annotations

from uuid import UUID, uuid4

import factories
import pytest

from ledger.application import MuseumLedger
from ledger.errors import InvalidInput, NotFound
from ledger.model_reads import ModelReads
from ledger.model_records import ModelRecords

CONFIG = {"preset": "tiny", "train": {"steps": 40}}


def _run(records: ModelRecords, job_id: str, *, complete: bool) -> str:
    run = records.start_run(job_id=job_id, config=CONFIG, seed=0, shards=1)
    records.record_progress(run.id, 0, 20, 0.5)
    if complete:
        records.record_checkpoint(run.id, 0, 40, "c" * 64, job_id.encode())
        records.complete_run(run.id, 0.25)
    return str(run.id)


def test_runs_versions_and_generations_page_by_cursor(ledger: MuseumLedger) -> None:
    factories.seed_collection(ledger, artists=2)
    records = ModelRecords(ledger)
    reads = ModelReads(ledger)
    with pytest.raises(NotFound):
        reads.deployed()

    first = _run(records, "first", complete=True)
    running = _run(records, "second", complete=False)
    in_flight = reads.run(UUID(running))
    assert (in_flight.run_id, in_flight.state) == (running, "running")
    assert (in_flight.progress.step, in_flight.progress.total) == (20, 40)
    assert in_flight.loss == 0.5
    assert not in_flight.deployed
    assert reads.progress_of_job("second") == in_flight.progress
    assert reads.progress_of_job("never") is None
    records.fail_run(UUID(running), "stopped")
    third = _run(records, "third", complete=True)

    page, cursor = reads.runs(None, 2)
    assert [r.run_id for r in page] == [first, running]
    assert cursor is not None
    rest, end = reads.runs(cursor, 2)
    assert [(r.run_id, r.state) for r in rest] == [(third, "completed")]
    assert end is None
    assert rest[0].progress.step == rest[0].progress.total == 40
    assert rest[0].checkpoints[0].sha256 == "c" * 64
    assert reads.run(UUID(third)).deployed
    assert reads.run(UUID(running)).failure == "stopped"

    versions, after = reads.versions(None, 1)
    assert [v.version for v in versions] == [first]
    assert not versions[0].deployed
    assert after is not None
    last, none = reads.versions(after, 1)
    assert ([v.version for v in last], none) == ([third], None)
    assert reads.deployed().version == third

    run = records.get_run(UUID(third))
    made = [
        records.record_generation(
            job_id=f"gen-{n}",
            run=run,
            seed=n,
            steps=8,
            role="final",
            emotion="joy",
            png=factories.png(n),
        )
        for n in range(3)
    ]
    seen: list[str] = []
    cursor = None
    while True:
        views, cursor = reads.generations(cursor, 2)
        seen += [view.generation_id for view in views]
        if cursor is None:
            break
    assert seen == [str(g.id) for g in made]
    assert reads.generation(made[1].id).seed == 1
    assert reads.generation_png(made[2].id) == factories.png(2)
    with pytest.raises(NotFound):
        reads.generation(uuid4())

    for bad in ("x", "-1", "1" * 40, "١"):
        with pytest.raises(InvalidInput):
            reads.generations(bad, 2)
    with pytest.raises(InvalidInput):
        reads.versions("9", 2)
