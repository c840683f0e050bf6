"""Runs, deployment and generations as ledger facts: consent-gated, idempotent by job id."""

from __future__ import annotations

from uuid import uuid4

import factories
import pytest

from ledger.application import MuseumLedger
from ledger.domain.model import TrainingRun
from ledger.erasures import Erasures
from ledger.errors import Conflict, InvalidInput, NotFound
from ledger.model_records import ModelRecords
from ledger.training_snapshot import feedback_weight

CONFIG = {"preset": "tiny"}


def _collection(ledger: MuseumLedger) -> tuple[list, list]:
    artist = ledger.register_artist(factories.artist())
    trained = ledger.donate(factories.donation(artist, consents=("exhibit", "train"))).donation_id
    shown = ledger.donate(
        factories.donation(artist, consents=("exhibit",), stages=factories.stages(shade=90))
    ).donation_id
    return [trained], [shown]


def test_snapshot_takes_only_items_with_train_consent(ledger: MuseumLedger) -> None:
    (trained,), (shown,) = _collection(ledger)
    records = ModelRecords(ledger)
    snapshot = records.consent_snapshot()
    assert {item.donation_id for item in snapshot.items} == {trained}
    assert [item.stage_index for item in snapshot.items] == [0, 1, 2]
    assert snapshot.consents_relied_on == [
        {
            "donation_id": str(trained),
            "event": "DonationMade",
            "version": 1,
            "at": snapshot.consents_relied_on[0]["at"],
        }
    ]
    ledger.grant_consent(shown, "train")
    ledger.revoke_consent(trained, "train")
    snapshot = records.consent_snapshot()
    assert {item.donation_id for item in snapshot.items} == {shown}
    assert snapshot.consents_relied_on[0]["event"] == "ConsentGranted"


def test_feedback_weights_items_and_is_recorded_as_used(ledger: MuseumLedger) -> None:
    (trained,), _ = _collection(ledger)
    note = ledger.give_feedback(
        "donation", trained, 1, "tried a lower horizon", "try dusk light", "curator"
    )
    snapshot = ModelRecords(ledger).consent_snapshot()
    assert {item.weight for item in snapshot.items} == {feedback_weight(1)} == {1.5}
    assert snapshot.feedback_used == [str(note)]
    assert feedback_weight(10) == 3.0


def test_run_lifecycle_is_idempotent_by_job_id(ledger: MuseumLedger) -> None:
    _collection(ledger)
    records = ModelRecords(ledger)
    run = records.start_run(job_id="job-1", config=CONFIG, seed=7, shards=1)
    assert records.start_run(job_id="job-1", config=CONFIG, seed=7, shards=1).id == run.id
    with pytest.raises(Conflict, match="already running"):
        records.start_run(job_id="job-2", config=CONFIG, seed=7, shards=1)

    before = ledger.recorder.max_notification_id()
    records.record_progress(run.id, 0, 10, 0.9)
    records.record_progress(run.id, 0, 10, 0.9)  # a retried job replays step 10: recorded once
    records.record_checkpoint(run.id, 0, 20, "a" * 64, b"weights")
    records.record_checkpoint(run.id, 0, 20, "a" * 64, b"weights")
    assert ledger.recorder.max_notification_id() == before + 2
    with pytest.raises(Conflict, match="not reproducing"):
        records.record_checkpoint(run.id, 0, 20, "b" * 64, b"other weights")

    records.complete_run(run.id, final_loss=0.5)
    assert records.model_version().id == run.id
    assert records.model_version(run.id).final_checkpoints()[0]["hash"] == "a" * 64
    assert all(f.train_consent_at_start for f in records.audit_run(run.id))
    # The slot is free again.
    records.start_run(job_id="job-2", config=CONFIG, seed=7, shards=1)


def test_a_run_needs_items_and_checkpoints(ledger: MuseumLedger) -> None:
    records = ModelRecords(ledger)
    with pytest.raises(InvalidInput, match="nothing to train on"):
        records.start_run(job_id="empty", config=CONFIG, seed=0, shards=1)
    assert ledger.recorder.max_notification_id() in (None, 0)
    _collection(ledger)
    with pytest.raises(InvalidInput, match="shards"):
        records.start_run(job_id="x", config=CONFIG, seed=0, shards=99)
    run = records.start_run(job_id="x", config=CONFIG, seed=0, shards=2)
    records.record_checkpoint(run.id, 0, 5, "c" * 64, b"w0")
    with pytest.raises(Conflict, match="every shard"):
        records.complete_run(run.id, 0.1)
    records.fail_run(run.id, "worker ran out of memory")
    assert records.get_run(run.id).state == "failed"
    with pytest.raises(NotFound, match="no model version is deployed"):
        records.model_version()
    with pytest.raises(InvalidInput, match="failed"):
        records.model_version(run.id)
    with pytest.raises(InvalidInput, match="only completed runs"):
        records.deploy(run.id)


def test_generation_is_recorded_once_and_accepts_feedback(ledger: MuseumLedger) -> None:
    _collection(ledger)
    records = ModelRecords(ledger)
    run = records.start_run(job_id="r", config=CONFIG, seed=0, shards=1)
    records.record_checkpoint(run.id, 0, 5, "d" * 64, b"w")
    run = records.complete_run(run.id, 0.2)
    kwargs = {
        "job_id": "g1",
        "run": run,
        "seed": 3,
        "steps": 10,
        "role": "final",
        "emotion": "joy",
        "png": factories.png(5),
    }
    generation = records.record_generation(**kwargs)
    assert records.record_generation(**kwargs).id == generation.id
    assert records.generations() == [generation.id]
    assert generation.checkpoint_hashes == ["d" * 64]
    assert ledger.blobs.get(generation.blob_id) == factories.png(5)
    ledger.give_feedback(
        "generation", generation.id, None, "", "more failure, less polish", "visitor"
    )
    with pytest.raises(NotFound):
        ledger.give_feedback("generation", uuid4(), None, "", "x", "visitor")
    with pytest.raises(InvalidInput):
        records.record_generation(**(kwargs | {"job_id": "g2", "emotion": "ennui"}))


def test_run_ids_follow_job_ids() -> None:
    assert TrainingRun.create_id("a") == TrainingRun.create_id("a") != TrainingRun.create_id("b")


def test_erasure_status_names_the_versions_it_waits_for(ledger: MuseumLedger) -> None:
    _collection(ledger)
    artist_id = ledger.artist_ids()[0]
    other = ledger.register_artist(factories.artist("Other Moth"))
    ledger.donate(factories.donation(other, stages=factories.stages(shade=40)))
    records = ModelRecords(ledger)
    assert records.erasure_status(artist_id).awaiting_retraining_of is None  # not requested
    run = records.start_run(job_id="r", config=CONFIG, seed=0, shards=1)
    records.record_checkpoint(run.id, 0, 5, "d" * 64, b"w")
    records.complete_run(run.id, 0.2)
    asked = records.erase_artist(artist_id, "test")
    assert not asked.completed
    status = records.erasure_status(artist_id)
    assert status.awaiting_retraining_of == [str(run.id)] == asked.awaiting_retraining_of
    # A retraining run on the other artist's stages replaces the version: the erasure is done.
    retrained = factories.recorded_version(ledger, "e", retraining=True)
    assert Erasures(ledger).settle() == [artist_id]
    done = records.erasure_status(artist_id)
    assert done.awaiting_retraining_of is None
    assert done.completed is True
    assert done.certificate["retraining_runs"] == [str(retrained)]
    # The old version keeps its record of what it learned from.
    assert str(artist_id) in {item["artist_id"] for item in records.get_run(run.id).items}
