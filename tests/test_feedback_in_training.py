"""Feedback reaches training, recorded: each run's snapshot says which feedback events moved
which donation's weight, and that donation's share of its shard's draws against the unweighted
baseline; a run without feedback records none; runs recorded before still load. No training
here: the record is made when a run starts (the weights it trains with are the items')."""

from __future__ import annotations

import dataclasses
import json
from fractions import Fraction
from pathlib import Path
from uuid import UUID

import factories
import pytest

from ledger.application import MuseumLedger
from ledger.atelier import Atelier
from ledger.compliance import ComplianceReports
from ledger.crypto import MasterKey
from ledger.domain.model import TrainingRun
from ledger.feedback_effects import feedback_effects
from ledger.model_reads import ModelReads
from ledger.model_records import ModelRecords
from ledger.runtime import opened_ledger
from ledger.settings import Settings

sqlite_only = pytest.mark.parametrize("backend", ["sqlite"], indirect=True)


def _start(ledger: MuseumLedger, job: str, shards: int = 1) -> TrainingRun:
    return ModelRecords(ledger).start_run(job_id=job, config={}, seed=0, shards=shards)


def _stages(ledger: MuseumLedger, donation_id: UUID) -> int:
    return len(ledger.get_donation(donation_id).stages)


def test_a_run_after_feedback_records_which_feedback_changed_what(ledger: MuseumLedger) -> None:
    artists = factories.seed_collection(ledger, artists=3)
    noted, other, _ = (ledger.get_artist(a).donation_ids[0] for a in artists)
    given = [
        ledger.give_feedback("donation", noted, 1, "tried a darker wash", "", "Visitor A"),
        ledger.give_feedback("donation", noted, 0, "", "crop the pier", "Visitor B"),
        ledger.give_feedback("donation", other, None, "a bolder line", "", "Visitor C"),
    ]
    ledger.revoke_consent(other, "train")  # its feedback cannot change a run it is not in

    run = _start(ledger, "fed")

    (effect,) = run.feedback_effects
    assert effect["donation_id"] == str(noted)
    assert [f["feedback_id"] for f in effect["feedback"]] == [str(g) for g in given[:2]]
    assert [f["stage_index"] for f in effect["feedback"]] == [1, 0]
    assert effect["weight"] == 2.0  # 1 + ½ per note
    assert effect["baseline_weight"] == 1.0
    stages = _stages(ledger, noted)
    total = len(run.items)
    share = Fraction(2 * stages, total + stages)  # its stages count twice among all the run's
    assert effect["share"] == f"{share.numerator}/{share.denominator}"
    baseline = Fraction(stages, total)
    assert effect["baseline_share"] == f"{baseline.numerator}/{baseline.denominator}"
    assert effect["share_ppm"] == round(share * 1_000_000)
    assert effect["share_ppm"] > effect["baseline_share_ppm"]
    weights = {i["donation_id"]: i["weight"] for i in run.items}
    assert weights[str(noted)] == effect["weight"]  # what the run trains with

    # The compliance report and the Atelier show the same record.
    report = ComplianceReports(ledger).training_run(run.id)
    assert [e.as_builtins() for e in report.feedback_effects] == run.feedback_effects
    shown = Atelier(ledger, ModelReads(ledger)).run(run.id).feedback
    assert [(f.notes, f.weight, f.share_ppm) for f in shown] == [(2, 2.0, effect["share_ppm"])]
    assert "donation_id" not in shown[0].as_builtins()  # ids are compliance's, not the Atelier's


@sqlite_only
def test_a_run_without_feedback_records_none(ledger: MuseumLedger) -> None:
    factories.seed_collection(ledger, artists=2)
    run = _start(ledger, "plain")
    assert run.feedback_effects == []
    assert ComplianceReports(ledger).training_run(run.id).feedback_effects == []
    assert Atelier(ledger, ModelReads(ledger)).run(run.id).feedback == []


@sqlite_only
def test_shares_are_of_the_donations_own_shard(ledger: MuseumLedger) -> None:
    by_shard = factories.collection_by_shard(ledger, [1, 2])
    alone = ledger.get_artist(by_shard[0][0]).donation_ids[0]
    crowded = ledger.get_artist(by_shard[1][0]).donation_ids[0]
    for donation_id in (alone, crowded):
        ledger.give_feedback("donation", donation_id, 0, "tried again", "", "Visitor")
    run = _start(ledger, "sharded", shards=2)
    effects = {UUID(e["donation_id"]): e for e in run.feedback_effects}
    # Alone in its shard: weighting it moves nothing; it is still every draw of shard 0.
    assert (effects[alone]["share"], effects[alone]["baseline_share"]) == ("1/1", "1/1")
    neighbour = ledger.get_artist(by_shard[1][1]).donation_ids[0]
    mine, theirs = _stages(ledger, crowded), _stages(ledger, neighbour)
    share = Fraction(3 * mine, 3 * mine + 2 * theirs)  # weight 1.5 against 1, in halves
    assert effects[crowded]["shard"] == 1
    assert effects[crowded]["share"] == f"{share.numerator}/{share.denominator}"


def test_the_record_is_pure_and_skips_what_did_not_move() -> None:
    items = [
        {"donation_id": "a", "shard": 0, "weight": 1.5},
        {"donation_id": "a", "shard": 0, "weight": 1.5},
        {"donation_id": "b", "shard": 0, "weight": 1.0},
        {"donation_id": "c", "shard": 1, "weight": 2.0},
    ]
    note = {"feedback_id": "f", "stage_index": 0, "at": "2026-12-01T00:00:00+00:00"}
    given = {"a": [note], "c": [note, note]}
    effects = feedback_effects(items, given)
    assert [(e["donation_id"], e["share"], e["baseline_share"]) for e in effects] == [
        ("a", "3/4", "2/3"),
        ("c", "1/1", "1/1"),
    ]
    assert [e["donation_id"] for e in feedback_effects(items, given, trained_shards=[1])] == ["c"]
    assert feedback_effects(items, {}) == []


@sqlite_only
def test_a_run_recorded_before_the_record_still_loads(ledger: MuseumLedger) -> None:
    factories.seed_collection(ledger, artists=2)
    donation_id = ModelRecords(ledger).donation_ids()[0]
    ledger.give_feedback("donation", donation_id, 0, "tried", "", "Visitor")
    run = _start(ledger, "then")
    mapper = ledger.mapper
    started = next(iter(ledger.events.get(run.id)))
    stored = mapper.to_stored_event(started)
    state = mapper.transcoder.decode(stored.state)
    assert state["class_version"] == 2
    # As the event was stored before version 2: no record, no class version.
    del state["feedback_effects"], state["class_version"]
    old = dataclasses.replace(stored, state=mapper.transcoder.encode(state))
    loaded = mapper.to_domain_event(old)
    assert loaded.feedback_effects == []  # type: ignore[attr-defined]
    rebuilt = loaded.mutate(None)
    assert isinstance(rebuilt, TrainingRun)
    assert rebuilt.feedback_effects == []
    assert rebuilt.feedback_used == run.feedback_used
    assert rebuilt.items == run.items


def test_museum_train_says_what_feedback_changed(tmp_path: Path) -> None:
    key = MasterKey.generate_text()
    home = tmp_path / "var"
    factories.seed_home(home, key, artists=2)
    with opened_ledger(Settings(home=home, master_key=key)) as ledger:
        donation_id = ModelRecords(ledger).donation_ids()[0]
        ledger.give_feedback("donation", donation_id, 0, "tried a wash", "", "Visitor")
    env = {"MUSEUM_MASTER_KEY": key, "OMP_NUM_THREADS": "1"}
    args = ("train", "--preset", "tiny", "--steps", "2")
    done = factories.museum_in_process(home, *args, "--job-id", "fed", "--json", env=env)
    assert done.returncode == 0, done.stderr
    trained = json.loads(done.stdout.splitlines()[-1])
    assert (trained["feedback_notes"], trained["feedback_donations"]) == (1, 1)
    again = factories.museum_in_process(home, *args, "--job-id", "fed", env=env)
    assert "feedback: 1 note(s) drew the stages of 1 donation(s) more often" in again.stdout
