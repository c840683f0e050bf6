"""The Atelier's reads on both backends: which runs changed after a position of the notification
log (what every server process polls), and a run's view as recorded."""

from __future__ import annotations

import factories

from ledger.application import MuseumLedger
from ledger.atelier import Atelier
from ledger.model_reads import ModelReads
from ledger.model_records import ModelRecords


def test_runs_changed_after_a_position(ledger: MuseumLedger) -> None:
    factories.seed_collection(ledger, artists=2)
    atelier = Atelier(ledger, ModelReads(ledger))
    records = ModelRecords(ledger)
    start = atelier.position()
    config = {"preset": "tiny", "train": {"steps": 20}}
    run = records.start_run(job_id="watched", config=config, seed=0, shards=1)
    started = atelier.changed_after(start)
    assert started.runs == [str(run.id)]
    assert started.position > start
    records.record_progress(run.id, 0, 10, 0.5)
    records.record_progress(run.id, 0, 20, 0.25)
    ledger.give_feedback(
        "donation",
        ledger.get_artist(ledger.artist_ids()[0]).donation_ids[0],
        0,
        "tried",
        "next",
        "curator",
    )  # an event of another kind
    moved = atelier.changed_after(started.position)
    assert moved.runs == [str(run.id)]
    assert atelier.changed_after(moved.position).runs == []
    view = atelier.run(run.id)
    assert [(p.step, p.loss) for p in view.curves[0].points] == [(10, 0.5), (20, 0.25)]
    assert (view.step, view.total, view.frames) == (20, 20, 2)
