"""Retraining for erasure (issue 17), verified by construction with the tiny model.

Every run here trains for real (tiny preset, 20 steps a shard, SQLite); the artists are
registered until each shard holds the donors a test needs, so "this erasure changes shard 0
only" is true by construction, whatever ids the run draws. The schedule's own rules, which need
no model, run on both backends at the end.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from uuid import UUID

import factories
import pytest

from api.attribute import AttributeRequest, attribute, index_root
from attribution.methods import get_method
from attribution.runs import RunAttribution
from generation.retraining import retrain
from generation.service import RunProgress, generate, load_version, train_run
from ledger.application import ERASED_DONOR, MuseumLedger
from ledger.attribution_records import AttributionRecords
from ledger.audit import check_against
from ledger.domain.model import TrainingRun
from ledger.erasures import Erasures
from ledger.errors import Conflict, InvalidInput, KeyShredded
from ledger.model_records import ModelRecords
from ledger.retraining_records import RetrainingRecords

STEPS = 20  # the tiny preset reports progress every 20 steps: one report per shard
QUICK = 10  # for runs that need no progress report: a checkpoint at the end, nothing else
SMALL = {"timesteps": 2, "dim": 64}
TRAINED = ("exhibit", "train", "commercial")
sqlite_only = pytest.mark.parametrize("backend", ["sqlite"], indirect=True)


class Killed(BaseException):
    """What a worker dying mid-run looks like to the run: it stops, and records nothing."""


def collection(ledger: MuseumLedger, per_shard: list[int]) -> list[list[UUID]]:
    """Donors by shard, each with one trained donation."""
    return factories.collection_by_shard(ledger, per_shard, TRAINED)


def donation_of(ledger: MuseumLedger, artist_id: UUID) -> UUID:
    (donation_id,) = ledger.get_artist(artist_id).donation_ids
    return donation_id


def items_of(run: TrainingRun, artists: list[UUID]) -> set[str]:
    names = {str(a) for a in artists}
    return {item["item_id"] for item in run.items if item["artist_id"] in names}


def final_hash(run: TrainingRun, shard: int) -> str:
    (checkpoint,) = [c for c in run.final_checkpoints() if c["shard"] == shard]
    return str(checkpoint["hash"])


def run_events(ledger: MuseumLedger, run: TrainingRun, name: str) -> list[Any]:
    return [e for e in ledger.events.get(run.id) if type(e).__name__ == name]


def events(ledger: MuseumLedger) -> int:
    return ledger.recorder.max_notification_id() or 0


def at_progress(shard: int, act: Callable[[], None]) -> Callable[[RunProgress], None]:
    """An on_progress hook that acts once, when `shard` reports."""
    done: list[bool] = []

    def hook(progress: RunProgress) -> None:
        if progress.shard == shard and not done:
            done.append(True)
            act()

    return hook


@sqlite_only
def test_one_window_one_run_one_retrain_per_affected_shard(ledger: MuseumLedger) -> None:
    (a0, b0, c0), (a1, _), (a2, _) = collection(ledger, [3, 2, 2])
    records = ModelRecords(ledger)
    base = train_run(ledger, job_id="v1", seed=3, shards=3, steps=QUICK)
    erasures = Erasures(ledger)
    # Two erasures and a revocation inside one window (the default: 24 hours).
    erasures.request(a0, "leaving")
    erasures.request(a1, "leaving too")
    ledger.revoke_consent(donation_of(ledger, b0), "train")
    schedule = ledger.retraining_schedule()
    numbers = schedule.numbers(schedule.pending)
    assert [r["cause"] for r in schedule.pending] == ["erasure", "erasure", "train-revoked"]
    first = schedule.pending[0]
    due = schedule.due_at()
    assert due == datetime.fromisoformat(first["requested_at"]) + timedelta(hours=24)
    # The withdrawn and revoked items left the training pool at once.
    assert not items_of(base, [a0, a1, b0]) & {i.item_id for i in records.consent_snapshot().items}

    # Before the window closes nothing runs, and it says when the batch is due.
    before = events(ledger)
    early = retrain(ledger, job_id="rt-early")
    assert (early.run, early.requests) == (None, [])
    assert due is not None
    assert due.isoformat() in early.reason
    assert events(ledger) == before
    assert ledger.find(TrainingRun.create_id("rt-early"), TrainingRun) is None

    outcome = retrain(ledger, job_id="rt-1", now=True)
    run = outcome.run
    assert run is not None
    assert run.state == "completed"
    assert sorted(outcome.requests) == numbers
    schedule = ledger.retraining_schedule()
    assert schedule.pending == []
    assert [schedule.served[n] for n in numbers] == [str(run.id)] * 3
    # One retrain per affected shard; the third shard's checkpoints are reused by hash.
    assert run.retraining is not None
    assert (run.retraining["retrained"], run.retraining["reused"]) == ([0, 1], [2])
    assert [e.shard for e in run_events(ledger, run, "CheckpointSaved")] == [0, 1]
    assert final_hash(run, 2) == final_hash(base, 2)
    (reused,) = [c for c in run.final_checkpoints() if c["shard"] == 2]
    assert reused["reused_from"] == str(base.id)
    assert all(final_hash(run, s) != final_hash(base, s) for s in (0, 1))
    assert records.model_version().id == run.id
    assert not items_of(run, [a0, a1, b0])
    assert items_of(run, [c0, a2]) == items_of(base, [c0, a2])
    assert all(f.train_consent_at_start for f in records.audit_run(run.id))
    for artist_id in (a0, a1):
        status = erasures.status(artist_id)
        assert status.completed is True
        assert status.certificate is not None
        assert status.certificate["retraining_runs"] == [str(run.id)]
    assert len(ledger.ids_with_topic(TrainingRun.TrainingRunStarted)) == 2

    # A request after that batch opens a new one; with a window of 0 it is due at once.
    ledger.retrain_window = timedelta(0)
    ledger.revoke_consent(donation_of(ledger, a2), "train")
    later = retrain(ledger, job_id="rt-2")
    assert later.run is not None
    assert later.run.id != run.id
    assert len(later.requests) == 1
    assert later.requests[0] not in numbers
    assert later.run.retraining is not None
    assert (later.run.retraining["retrained"], later.run.retraining["reused"]) == ([2], [0, 1])
    assert [final_hash(later.run, s) for s in (0, 1)] == [final_hash(run, s) for s in (0, 1)]
    assert {c["reused_from"] for c in later.run.final_checkpoints() if c["shard"] < 2} == {
        str(run.id)
    }
    assert retrain(ledger, job_id="rt-3", now=True).reason == "no retraining is scheduled"
    ledger.integrity.verify()


@sqlite_only
def test_a_failed_or_killed_retrain_deploys_nothing_and_is_served_later(
    ledger: MuseumLedger,
) -> None:
    (a0, _), (a1, _) = collection(ledger, [2, 2])
    records = ModelRecords(ledger)
    base = train_run(ledger, job_id="v1", shards=2, steps=STEPS)
    erasures = Erasures(ledger)
    erasures.request(a0, "leaving")
    erasures.request(a1, "leaving")
    numbers = ledger.retraining_schedule().numbers(ledger.retraining_schedule().pending)

    # 1. A retrain whose worker fails mid-run is recorded failed; its requests are pending again.
    def lose_the_worker(_: RunProgress) -> None:
        raise RuntimeError("the worker lost its device")

    with pytest.raises(RuntimeError, match="lost its device"):
        retrain(ledger, job_id="rt-1", now=True, on_progress=lose_the_worker)
    failed = records.get_run(TrainingRun.create_id("rt-1"))
    assert failed.state == "failed"
    assert "lost its device" in (failed.failure or "")
    assert records.model_version().id == base.id  # the old version stays deployed
    assert failed.id not in records.registry().versions
    with pytest.raises(InvalidInput, match="failed"):
        records.model_version(failed.id)
    schedule = ledger.retraining_schedule()
    assert schedule.numbers(schedule.pending) == numbers
    assert schedule.is_due(datetime.now(UTC))  # they waited already: due at once
    status = erasures.status(a0)
    assert status.completed is False
    assert status.awaiting_retraining_of == [str(base.id)]

    # 2. A retrain killed mid-run (no failure recorded) holds the slot and its batch ...
    with pytest.raises(Killed):
        retrain(ledger, job_id="rt-2", on_progress=at_progress(1, lambda: _raise(Killed())))
    killed = records.get_run(TrainingRun.create_id("rt-2"))
    assert killed.state == "running"
    assert [c["shard"] for c in killed.checkpoints] == [0]
    assert erasures.status(a0).retraining_run == str(killed.id)
    before = events(ledger)
    with pytest.raises(Conflict, match="already running"):
        train_run(ledger, job_id="v2", shards=2, steps=STEPS)
    assert events(ledger) == before
    # ... until its job is retried: the same run resumes and records each checkpoint once.
    outcome = retrain(ledger, job_id="rt-2")
    assert outcome.run is not None
    assert outcome.run.id == killed.id
    assert outcome.run.state == "completed"
    saved = [(e.shard, e.step) for e in run_events(ledger, outcome.run, "CheckpointSaved")]
    assert saved == [(0, STEPS), (1, STEPS)]
    progress = [
        (e.shard, e.step) for e in run_events(ledger, outcome.run, "TrainingProgressRecorded")
    ]
    assert progress == [(0, STEPS), (1, STEPS)]
    assert records.model_version().id == killed.id
    schedule = ledger.retraining_schedule()
    assert [schedule.served[n] for n in numbers] == [str(killed.id)] * 2
    for artist_id in (a0, a1):
        certificate = erasures.status(artist_id).certificate
        assert certificate is not None
        assert certificate["retraining_runs"] == [str(killed.id)]  # not the failed run
    # A retried job that completed already only settles, and records nothing.
    before = events(ledger)
    assert retrain(ledger, job_id="rt-2").run == outcome.run
    assert events(ledger) == before


def _raise(exc: BaseException) -> None:
    raise exc


def erase(erasures: Erasures, artist_id: UUID) -> None:
    erasures.request(artist_id, "leaving while the model retrains")


@sqlite_only
def test_an_erasure_arriving_mid_retrain_fails_it_and_nothing_half_done_is_deployed(
    ledger: MuseumLedger,
) -> None:
    (a0, b0, c0), (a1, b1, _) = collection(ledger, [3, 3])
    records = ModelRecords(ledger)
    base = train_run(ledger, job_id="v1", shards=2, steps=STEPS)
    ledger.revoke_consent(donation_of(ledger, a0), "train")
    ledger.revoke_consent(donation_of(ledger, a1), "train")
    erasures = Erasures(ledger)

    # The key of an item of shard 1 is shredded while shard 0 trains: shard 1 cannot be read.
    with pytest.raises(KeyShredded):
        retrain(
            ledger,
            job_id="rt-1",
            now=True,
            on_progress=at_progress(0, lambda: erase(erasures, b1)),
        )
    first = records.get_run(TrainingRun.create_id("rt-1"))
    assert first.state == "failed"
    assert "erased while the run retrained" in (first.failure or "")

    # A donor of shard 0 leaves after shard 0 trained: the run fails when it would complete.
    with pytest.raises(Conflict, match="withdrawn"):
        retrain(ledger, job_id="rt-2", on_progress=at_progress(1, lambda: erase(erasures, b0)))
    second = records.get_run(TrainingRun.create_id("rt-2"))
    assert second.state == "failed"
    assert "withdrawn during training" in (second.failure or "")
    assert records.model_version().id == base.id
    assert records.registry().versions == [base.id]
    assert {c["shard"] for c in second.checkpoints} == {0, 1}  # trained, and never a model

    # The next retrain serves all four requests: the two revocations and the two erasures.
    outcome = retrain(ledger, job_id="rt-3")
    assert outcome.run is not None
    assert len(outcome.requests) == 4
    assert records.model_version().id == outcome.run.id
    assert not items_of(outcome.run, [a0, a1, b0, b1])
    assert items_of(outcome.run, [c0]) == items_of(base, [c0])
    assert erasures.open_ids() == []
    assert erasures.status(b0).certificate["retraining_runs"] == [str(outcome.run.id)]


@sqlite_only
def test_a_shard_left_with_no_items_is_dropped_not_a_crash(
    ledger: MuseumLedger, tmp_path: Path
) -> None:
    (a0,), (a1, b1) = collection(ledger, [1, 2])
    records = ModelRecords(ledger)
    base = train_run(ledger, job_id="v1", shards=2, steps=QUICK)
    old = generate(ledger, job_id="g-old", role="final", emotion="joy", seed=1, steps=4)
    Erasures(ledger).request(a0, "leaving")
    outcome = retrain(ledger, job_id="rt-1", now=True)
    run = outcome.run
    assert run is not None
    assert run.state == "completed"
    assert list(run.dropped_shards) == [0]
    (dropped,) = run_events(ledger, run, "ShardDropped")
    assert dropped.shard == 0
    assert "no item" in dropped.reason
    assert run.retraining is not None
    assert run.retraining["reused"] == [1]
    assert [c["shard"] for c in run.final_checkpoints()] == [1]
    assert records.model_version().id == run.id
    assert Erasures(ledger).status(a0).completed is True

    # The ensemble loads and generates with the remaining shard.
    _, unets = load_version(ledger, run)
    assert len(unets) == 1
    new = generate(ledger, job_id="g-new", role="final", emotion="joy", seed=1, steps=4)
    assert new.model_version == run.id
    assert new.checkpoint_hashes == [final_hash(base, 1)]
    # Attribution works on the remaining shard, for the new version and for the old one
    # (whose erased shard can no longer be read: its items are left out, and said to be).
    method = get_method("d-trak").with_settings(**SMALL)
    scored = RunAttribution(ledger, run, method, tmp_path).score(new)
    assert set(scored.scores) == items_of(run, [a1, b1]) == set(run.item_ids())
    assert scored.parameters["shards"] == 1
    late = RunAttribution(ledger, base, method, tmp_path).score(old)
    assert set(late.scores) == items_of(base, [a1, b1])
    assert late.excluded == sorted(items_of(base, [a0]))

    # Shard 0 stays dropped in the next retrain, which changes shard 1 only.
    ledger.revoke_consent(donation_of(ledger, b1), "train")
    again = retrain(ledger, job_id="rt-2", now=True).run
    assert again is not None
    assert list(again.dropped_shards) == [0]
    assert again.retraining is not None
    assert again.retraining["retrained"] == [0, 1]
    assert [c["shard"] for c in again.final_checkpoints()] == [1]
    # A shard empty before and after asks for no run of its own.
    ledger.grant_consent(donation_of(ledger, b1), "train")
    ledger.revoke_consent(donation_of(ledger, b1), "train")
    idle = retrain(ledger, job_id="rt-3", now=True)
    assert idle.run is None
    assert "already matches" in idle.reason
    assert ledger.find(TrainingRun.create_id("rt-3"), TrainingRun) is None
    schedule = ledger.retraining_schedule()
    assert len(idle.requests) == 1  # the grant (the revocation touched no deployed item)
    assert [schedule.served[n] for n in idle.requests] == [None]
    assert schedule.pending == []


@sqlite_only
def test_revoked_training_leaves_at_the_next_retrain_and_a_regrant_brings_it_back(
    ledger: MuseumLedger,
) -> None:
    (a0, b0), (a1, _) = collection(ledger, [2, 2])
    records = ModelRecords(ledger)
    base = train_run(ledger, job_id="v1", shards=2, steps=QUICK)
    donation = donation_of(ledger, a0)
    revoked_items = items_of(base, [a0])

    assert ledger.revoke_consent(donation, "train")
    without = retrain(ledger, job_id="rt-1", now=True)
    assert without.run is not None
    assert not set(without.run.item_ids()) & revoked_items
    assert without.run.retraining is not None
    assert without.run.retraining["retrained"] == [0]

    assert ledger.grant_consent(donation, "train")
    back = retrain(ledger, job_id="rt-2", now=True)
    assert back.run is not None
    assert set(back.run.item_ids()) == set(base.item_ids())
    assert back.run.retraining is not None
    assert (back.run.retraining["retrained"], back.run.retraining["reused"]) == ([0], [1])
    # The same items, the same seed: shard 0 is the base's again, bit for bit.
    assert final_hash(back.run, 0) == final_hash(base, 0)
    assert final_hash(back.run, 1) == final_hash(base, 1)
    relied = {c["donation_id"]: c["event"] for c in back.run.consents_relied_on}
    assert relied[str(donation)] == "ConsentGranted"
    assert all(f.train_consent_at_start for f in records.audit_run(back.run.id))
    # Each change is a request, served by the run that followed it.
    schedule = ledger.retraining_schedule()
    served = {
        schedule.requests[n]["cause"]: schedule.served[n]
        for n in (*without.requests, *back.requests)
    }
    assert served == {"train-revoked": str(without.run.id), "train-granted": str(back.run.id)}
    assert all(schedule.requests[n]["subject"] == str(donation) for n in without.requests)
    assert records.model_version().id == back.run.id
    assert a1 in {UUID(i["artist_id"]) for i in back.run.items}
    # A version serves while every item it learned from has training consent ...
    assert records.model_version(without.run.id).id == without.run.id
    assert records.model_version(base.id).id == base.id  # the consent it relied on is back
    # ... and is retired once one has not.
    ledger.revoke_consent(donation_of(ledger, b0), "train")
    for retired in (base, without.run):
        with pytest.raises(Conflict, match="retired"):
            records.model_version(retired.id)


@sqlite_only
def test_after_a_retrain_old_credit_stays_new_images_are_new_and_one_shard_is_indexed(
    ledger: MuseumLedger, tmp_path: Path
) -> None:
    collection(ledger, [2, 2])
    records = ModelRecords(ledger)
    base = train_run(ledger, job_id="v1", seed=2, shards=2, steps=QUICK)
    old = generate(ledger, job_id="g-old", role="final", emotion="joy", seed=1, steps=4)
    method = get_method("d-trak").with_settings(**SMALL)
    root = index_root(tmp_path)
    built: list[int] = []

    def attributor(run: TrainingRun) -> RunAttribution:
        return RunAttribution(ledger, run, method, root, on_build=lambda s, _: built.append(s))

    first = attributor(base).score(old)
    assert sorted(built) == [0, 1]
    # Erase the artist of the best-scored item, so that their credit is certain to be recorded.
    best = max(first.scores, key=lambda item_id: first.scores[item_id])
    (erased,) = {UUID(i["artist_id"]) for i in base.items if i["item_id"] == best}
    (changed,) = {i["shard"] for i in base.items if i["artist_id"] == str(erased)}
    request = AttributeRequest(old.id, method="d-trak", top=len(base.items), **SMALL)
    credited = attribute(ledger, tmp_path, request)
    assert erased in {UUID(line["key"]) for line in _recorded(ledger, old.id).per_artist}

    Erasures(ledger).request(erased, "leaving")
    run = retrain(ledger, job_id="rt-1", now=True).run
    assert run is not None
    assert run.retraining is not None
    assert run.retraining["retrained"] == [changed]

    # The old generation keeps its record and its credit lines; the erased donor is pseudonymous.
    assert records.get_generation(old.id).model_version == base.id
    recorded = _recorded(ledger, old.id)
    lines = AttributionRecords(ledger).credit_lines(recorded)
    assert [line.ppm for line in lines] == [line.ppm for line in credited.credits]
    for line, was, keyed in zip(lines, credited.credits, recorded.per_artist, strict=True):
        assert line.pseudonym == (ERASED_DONOR if UUID(keyed["key"]) == erased else was.pseudonym)
    assert str(erased) not in str([line.as_builtins() for line in lines])
    # Every generation after the retrain comes from the new version; the old one is retired.
    new = generate(ledger, job_id="g-new", role="final", emotion="joy", seed=1, steps=4)
    assert new.model_version == run.id
    assert new.checkpoint_hashes == [c["hash"] for c in run.final_checkpoints()]
    before = events(ledger)
    with pytest.raises(Conflict, match="retired") as refused:
        generate(
            ledger,
            job_id="g-retired",
            role="final",
            emotion="joy",
            seed=1,
            steps=4,
            version=base.id,
        )
    assert refused.value.http_status == 409
    assert events(ledger) == before

    # Attribution rebuilds the index of the retrained shard only; the other is found by key.
    built.clear()
    scored = attributor(run).score(new)
    assert built == [changed]
    assert set(scored.scores) == set(run.item_ids())
    assert scored.excluded == []
    # The index built before the erasure still holds the erased items, credit and all.
    again = attributor(base).score(old)
    assert built == [changed]
    assert again.scores == first.scores
    assert again.excluded == []

    # The certificate names the run and a version whose items hold none of the fingerprints.
    certificate = Erasures(ledger).status(erased).certificate
    assert certificate is not None
    assert certificate["retraining_runs"] == [str(run.id)]
    assert certificate["model_version"]["version"] == str(run.id)
    fingerprints = {item["fingerprint"] for item in certificate["items"]}
    assert fingerprints
    assert not fingerprints & run.fingerprints()
    assert fingerprints <= base.fingerprints()
    (summary,) = certificate["retraining"]
    assert summary["shards_retrained"] == [changed]
    assert summary["shards_reused"] == [
        {
            "shard": 1 - changed,
            "checkpoint_hash": final_hash(base, 1 - changed),
            "trained_by": str(base.id),
        }
    ]
    assert check_against(ledger, certificate)["kind"] == "certificate"


def _recorded(ledger: MuseumLedger, generation_id: UUID) -> Any:
    (recorded,) = AttributionRecords(ledger).for_generation(generation_id)
    return recorded


# --- the schedule's rules, on both backends (stand-in checkpoints, no torch work) -------------


def test_a_second_erasure_of_an_erased_donor_is_refused_while_it_waits(
    ledger: MuseumLedger,
) -> None:
    artists = factories.seed_collection(ledger, artists=2)
    trained = factories.recorded_version(ledger, "a")
    status = Erasures(ledger).request(artists[0], "leaving")
    assert status.completed is False
    assert status.awaiting_retraining_of == [str(trained)]
    before = events(ledger)
    for again in (Erasures(ledger).request, ledger.erase_artist):
        with pytest.raises(Conflict, match="already erased") as refused:
            again(artists[0], "again")
        assert type(refused.value) is Conflict
        assert refused.value.http_status == 409
    assert events(ledger) == before
    assert len(ledger.retraining_schedule().pending) == 1


def test_requests_batch_in_one_window_and_a_failed_run_returns_them_due_at_once(
    ledger: MuseumLedger,
) -> None:
    artists = factories.seed_collection(ledger, artists=3)
    stays = ledger.register_artist(factories.artist("Staying Moth"))
    ledger.donate(factories.donation(stays))
    records = ModelRecords(ledger)
    factories.recorded_version(ledger, "a")
    ledger.retrain_window = timedelta(hours=2)
    Erasures(ledger).request(artists[0], "leaving")
    ledger.revoke_consent(ledger.get_artist(artists[1]).donation_ids[0], "train")
    schedule = ledger.retraining_schedule()
    first, second = schedule.pending
    assert datetime.fromisoformat(first["due_at"]) - datetime.fromisoformat(
        first["requested_at"]
    ) == timedelta(hours=2)
    assert schedule.due_at() == datetime.fromisoformat(first["due_at"])  # the batch's: the first
    assert not schedule.is_due(datetime.now(UTC))
    assert schedule.is_due(datetime.now(UTC) + timedelta(hours=2))

    # A window longer than half the erasure deadline is refused, and the change with it.
    ledger.retrain_window = timedelta(days=16)
    before = events(ledger)
    with pytest.raises(InvalidInput, match="batching window"):
        ledger.revoke_consent(ledger.get_artist(artists[2]).donation_ids[0], "train")
    assert events(ledger) == before
    assert ledger.consent_at(ledger.get_artist(artists[2]).donation_ids[0], "train")

    # A run takes the whole batch; failing, it hands it back due at once.
    ledger.retrain_window = timedelta(hours=2)
    snapshot = records.consent_snapshot()
    run = RetrainingRecords(records.ledger).start_retraining(
        job_id="rt",
        base=records.model_version(),
        items=[replace(item, shard=0) for item in snapshot.items],
        consents_relied_on=snapshot.consents_relied_on,
        feedback_used=[],
        requests=[first["number"], second["number"]],
        retrained=[0],
        reused=[],
        emptied=[],
    )
    schedule = ledger.retraining_schedule()
    assert (schedule.pending, list(schedule.in_flight)) == ([], [str(run.id)])
    assert Erasures(ledger).status(artists[0]).retraining_run == str(run.id)
    records.fail_run(run.id, "the worker ran out of memory")
    schedule = ledger.retraining_schedule()
    assert schedule.numbers(schedule.pending) == [first["number"], second["number"]]
    assert schedule.is_due(datetime.now(UTC))
    assert schedule.in_flight == {}
    # A later request joins them and is served with them.
    ledger.revoke_consent(ledger.get_artist(artists[2]).donation_ids[0], "train")
    retrained = factories.recorded_version(ledger, "b", retraining=True)
    schedule = ledger.retraining_schedule()
    assert schedule.pending == []
    assert sorted(schedule.served.values()) == [str(retrained)] * 3
    assert Erasures(ledger).settle() == [artists[0]]
    assert {UUID(i["artist_id"]) for i in records.get_run(retrained).items} == {stays}


def test_only_changes_a_deployed_version_learned_from_ask_for_retraining(
    ledger: MuseumLedger,
) -> None:
    artists = factories.seed_collection(ledger, artists=3)
    records = ModelRecords(ledger)
    donations = [ledger.get_artist(a).donation_ids[0] for a in artists]
    # No model yet: a revocation asks for nothing, the first training takes its own snapshot.
    ledger.revoke_consent(donations[0], "train")
    assert ledger.retraining_schedule().pending == []
    # A revocation while a run trains is owed when that run is deployed.
    run = records.start_run(job_id="v1", config={}, seed=0, shards=1)
    ledger.revoke_consent(donations[1], "train")
    assert ledger.retraining_schedule().pending == []
    records.record_checkpoint(run.id, 0, 5, "a" * 64, b"a")
    records.complete_run(run.id, 0.2)
    (owed,) = ledger.retraining_schedule().pending
    assert (owed["cause"], owed["subject"]) == ("train-revoked", str(donations[1]))
    # Stages the deployed version never learned from ask for nothing when they leave ...
    assert Erasures(ledger).request(artists[0], "leaving").completed is True
    assert len(ledger.retraining_schedule().pending) == 1
    # ... and a grant is a request (its stages come in at the next retrain).
    ledger.grant_consent(donations[1], "train")
    assert [r["cause"] for r in ledger.retraining_schedule().pending] == [
        "train-revoked",
        "train-granted",
    ]


def test_a_retired_version_is_refused_for_generation_and_deployment(ledger: MuseumLedger) -> None:
    artists = factories.seed_collection(ledger, artists=2)
    records = ModelRecords(ledger)
    old = factories.recorded_version(ledger, "a")
    Erasures(ledger).request(artists[0], "leaving")
    assert records.model_version().id == old  # deployed until a complete new one exists
    new = factories.recorded_version(ledger, "b", retraining=True)
    assert records.model_version().id == new
    before = events(ledger)
    for refused in (lambda: records.model_version(old), lambda: records.deploy(old)):
        with pytest.raises(Conflict, match="retired"):
            refused()
    assert events(ledger) == before
    assert records.model_version(new).id == new


@sqlite_only
def test_when_the_last_donor_leaves_the_model_is_withdrawn_and_the_erasure_completes(
    ledger: MuseumLedger,
) -> None:
    from ledger.certificate_check import verify_certificate
    from ledger.errors import NotFound

    (only,) = factories.seed_collection(ledger, artists=1)
    version = factories.recorded_version(ledger, "a")
    erasures = Erasures(ledger)
    assert not erasures.request(only, "leaving").completed
    outcome = retrain(ledger, job_id="empties-it", now=True)
    assert outcome.run is None
    assert "withdrawn" in outcome.reason
    records = ModelRecords(ledger)
    assert records.registry().deployed is None
    assert [type(e).__name__ for e in ledger.events.get(records.registry().id)][-1] == (
        "ModelWithdrawn"
    )
    with pytest.raises(NotFound, match="no model version is deployed"):
        records.model_version()
    with pytest.raises(Conflict, match="retired"):
        records.model_version(version)
    status = erasures.status(only)
    assert status.completed
    assert status.certificate is not None
    checked = verify_certificate(status.certificate, ledger.integrity.public_key_hex)
    assert checked.model_version is None
    assert not ledger.retraining_schedule().pending
