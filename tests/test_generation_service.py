"""Training runs and generations through the ledger, on both backends, with the tiny model."""

from __future__ import annotations

from uuid import uuid4

import factories
import pytest

from generation.presets import run_config
from generation.service import RunProgress, generate, load_version, train_run
from ledger.application import MuseumLedger
from ledger.domain.model import TrainingRun
from ledger.errors import Conflict, InvalidInput, KeyShredded, NotFound, UnknownVocabulary
from ledger.model_records import ModelRecords

STEPS = 40
# The ledger runs on both backends everywhere else; torch-heavy tests need only one.
sqlite_only = pytest.mark.parametrize("backend", ["sqlite"], indirect=True)


def test_training_uses_only_consented_items_and_becomes_the_deployed_version(
    ledger: MuseumLedger,
) -> None:
    factories.seed_collection(ledger)
    records = ModelRecords(ledger)
    consented = {i.item_id for i in records.consent_snapshot().items}
    run = train_run(ledger, job_id="run-a", seed=4, shards=2, steps=STEPS)
    assert run.state == "completed"
    assert set(run.item_ids()) == consented
    assert records.model_version().id == run.id
    assert all(f.train_consent_at_start for f in records.audit_run(run.id))
    # Shards are by artist: each shard that holds items has a model, the others are dropped.
    held = {item["shard"] for item in run.items}
    assert {c["shard"] for c in run.final_checkpoints()} == held
    assert held | set(run.dropped_shards) == {0, 1}
    assert not held & set(run.dropped_shards)
    for shard in held:
        losses = [entry["loss"] for entry in run.losses if entry["shard"] == shard]
        assert len(losses) >= 2
        assert losses[-1] < losses[0]
    config, unets = load_version(ledger, run)
    assert len(unets) == len(held)
    assert config.resolution == 16
    ledger.integrity.verify()


@sqlite_only
def test_same_seed_same_version_same_image(ledger: MuseumLedger) -> None:
    factories.seed_collection(ledger, artists=2)
    train_run(ledger, job_id="run-b", seed=1, steps=STEPS)
    first = generate(ledger, job_id="g1", role="failure", emotion="doubt", seed=11, steps=8)
    again = generate(ledger, job_id="g2", role="failure", emotion="doubt", seed=11, steps=8)
    other = generate(ledger, job_id="g3", role="failure", emotion="doubt", seed=12, steps=8)
    assert first.output_sha256 == again.output_sha256
    assert first.output_sha256 != other.output_sha256
    assert ledger.blobs.get(first.blob_id)[:8] == b"\x89PNG\r\n\x1a\n"
    # The same job id is one generation, however often it is submitted.
    assert (
        generate(ledger, job_id="g1", role="failure", emotion="doubt", seed=11, steps=8).id
        == first.id
    )


@sqlite_only
def test_retrained_run_reproduces_checkpoints(ledger: MuseumLedger) -> None:
    factories.seed_collection(ledger, artists=2)
    few = 8  # bit-identical weights need no learning, only the same steps
    a = train_run(ledger, job_id="run-c", seed=9, steps=few)
    b = train_run(ledger, job_id="run-d", seed=9, steps=few)
    assert [c["hash"] for c in a.final_checkpoints()] == [c["hash"] for c in b.final_checkpoints()]
    c = train_run(ledger, job_id="run-e", seed=10, steps=few)
    assert [x["hash"] for x in a.final_checkpoints()] != [x["hash"] for x in c.final_checkpoints()]


@sqlite_only
def test_bad_requests_record_nothing(ledger: MuseumLedger) -> None:
    with pytest.raises(InvalidInput, match="nothing to train on"):
        train_run(ledger, job_id="empty", steps=STEPS)
    artist = ledger.register_artist(factories.artist())
    ledger.donate(factories.donation(artist, consents=("exhibit",)))
    before = ledger.recorder.max_notification_id()
    with pytest.raises(InvalidInput, match="nothing to train on"):
        train_run(ledger, job_id="still-empty", steps=STEPS)
    with pytest.raises(InvalidInput, match="unknown preset"):
        train_run(ledger, job_id="bad-preset", preset_name="enormous")
    with pytest.raises(InvalidInput, match="steps"):
        train_run(ledger, job_id="bad-steps", steps=0)
    with pytest.raises(NotFound, match="no model version is deployed"):
        generate(ledger, job_id="g", role="final", emotion="joy", seed=1)
    assert ledger.recorder.max_notification_id() == before
    ledger.donate(factories.donation(artist, stages=factories.stages(shade=70)))
    run = train_run(ledger, job_id="ok", steps=STEPS)
    for kwargs, error in (
        ({"role": "masterpiece", "emotion": "joy", "seed": 1}, UnknownVocabulary),
        ({"role": "final", "emotion": "ennui", "seed": 1}, UnknownVocabulary),
        ({"role": "final", "emotion": "joy", "seed": -1}, InvalidInput),
        ({"role": "final", "emotion": "joy", "seed": 1, "steps": 0}, InvalidInput),
        ({"role": "final", "emotion": "joy", "seed": 1, "version": uuid4()}, NotFound),
    ):
        before = ledger.recorder.max_notification_id()
        with pytest.raises(error):
            generate(ledger, job_id=f"bad-{uuid4().hex}", **kwargs)
        assert ledger.recorder.max_notification_id() == before
    assert (
        generate(
            ledger, job_id="fine", role="final", emotion="joy", seed=1, steps=4, version=run.id
        ).model_version
        == run.id
    )


@sqlite_only
def test_a_second_run_while_one_runs_is_refused(ledger: MuseumLedger) -> None:
    factories.seed_collection(ledger, artists=1)
    records = ModelRecords(ledger)
    records.start_run(job_id="holder", config={}, seed=0, shards=1)
    with pytest.raises(Conflict, match="already running"):
        train_run(ledger, job_id="second", steps=STEPS)


@sqlite_only
def test_erasure_during_a_run_fails_it_and_erasure_waits_for_dependent_versions(
    ledger: MuseumLedger,
) -> None:
    artists = factories.seed_collection(ledger, artists=2)
    records = ModelRecords(ledger)
    run = train_run(ledger, job_id="v1", steps=STEPS)
    status = records.erase_artist(artists[0], "withdrawn")
    assert status.completed is False
    assert status.awaiting_retraining_of == [str(run.id)]
    assert str(artists[1]) in {item["artist_id"] for item in records.model_version().items}
    # A run that snapshotted before the key was shredded fails when it meets the erased item.
    model_config, train_config = run_config("tiny", steps=STEPS)
    config = {"preset": "tiny", "model": model_config.to_dict(), "train": train_config.to_dict()}
    pending = records.start_run(job_id="v2", config=config, seed=0, shards=1)
    records.erase_artist(artists[1], "withdrawn too")
    with pytest.raises(KeyShredded):
        train_run(ledger, job_id="v2")
    assert records.get_run(pending.id).state == "failed"


@sqlite_only
def test_a_run_whose_items_are_withdrawn_mid_training_never_becomes_a_model(
    ledger: MuseumLedger,
) -> None:
    artists = factories.seed_collection(ledger, artists=2)
    records = ModelRecords(ledger)

    def erase_midway(progress: RunProgress) -> None:
        if progress.step == 20 and not ledger.get_artist(artists[0]).erased:
            records.erase_artist(artists[0], "changed my mind")

    with pytest.raises(Conflict, match="withdrawn"):
        train_run(ledger, job_id="midway", steps=STEPS, on_progress=erase_midway)
    run = records.get_run(TrainingRun.create_id("midway"))
    assert run.state == "failed"
    assert "withdrawn during training" in (run.failure or "")
    with pytest.raises(NotFound):
        records.model_version()
