"""The process continuation model: pairs of consented stages in, proposals with parents out."""

from __future__ import annotations

import hashlib
from pathlib import Path
from uuid import UUID, uuid4

import factories
import pytest

from api.attribute import AttributeRequest, attribute
from generation.process.model import next_role
from generation.process.proposals import ContinueRequest, propose
from generation.process.service import train_continuation_run
from generation.retraining import retrain
from generation.service import train_run
from ledger.application import MuseumLedger
from ledger.certificate_check import verify_certificate
from ledger.domain.attribution import PPM
from ledger.domain.model import CONTINUATION, STAGE, Generation, TrainingRun
from ledger.errors import Conflict, InvalidImage, InvalidInput, NotFound, ProofError
from ledger.model_records import ModelRecords
from ledger.process_records import ProcessRecords, StagePair, stage_parent

STEPS = 40
SMALL = {"timesteps": 2, "dim": 64}
sqlite_only = pytest.mark.parametrize("backend", ["sqlite"], indirect=True)


def _generations(ledger: MuseumLedger) -> int:
    return len(ModelRecords(ledger).generations())


@sqlite_only
def test_trains_on_consented_pairs_and_deploys_beside_the_stage_model(ledger: MuseumLedger) -> None:
    factories.seed_collection(ledger, artists=2)
    artist = ledger.register_artist(factories.artist("No Train"))
    untrained = ledger.donate(factories.donation(artist, consents=("exhibit",))).donation_id
    stage = train_run(ledger, job_id="stage-run", steps=5)
    run = train_continuation_run(ledger, job_id="cont-run", seed=3, steps=STEPS)
    assert (run.state, run.variant, stage.variant) == ("completed", CONTINUATION, STAGE)
    pairs = ProcessRecords(ledger).consent_pairs().items
    assert {p.item_id for p in pairs} == set(run.item_ids())
    # A pair is its next stage, shown the stage before it, of a donation with train consent.
    for item in run.items:
        donation = ledger.get_donation(UUID(item["donation_id"]))
        assert item["previous_stage_index"] == item["stage_index"] - 1
        assert item["failure_type"] == donation.failure_type
        assert donation.consent_holds("train")
    assert str(untrained) not in {item["donation_id"] for item in run.items}
    registry = ModelRecords(ledger).registry()
    assert registry.deployed == stage.id  # the stage model still generates
    assert registry.deployed_variants == {CONTINUATION: run.id}
    assert len(run.final_checkpoints()) == 1
    assert len(run.final_checkpoints()[0]["hash"]) == 64
    assert len(run.losses) == 2
    assert run.losses[-1]["loss"] < run.losses[0]["loss"]
    again = train_continuation_run(ledger, job_id="cont-run-2", seed=3, steps=STEPS)
    assert again.final_checkpoints()[0]["hash"] == run.final_checkpoints()[0]["hash"]
    ledger.integrity.verify()


@pytest.fixture
def trained(ledger: MuseumLedger) -> MuseumLedger:
    factories.seed_collection(ledger, artists=2)
    train_continuation_run(ledger, job_id="cont", seed=1, steps=8)
    return ledger


@sqlite_only
def test_proposals_of_a_donated_stage_are_generations_with_their_parent(
    trained: MuseumLedger,
) -> None:
    ledger = trained
    donation_id = ModelRecords(ledger).donation_ids()[0]
    donation = ledger.get_donation(donation_id)
    read = propose(
        ledger,
        job_id="p1",
        request=ContinueRequest(donation_id=donation_id, stage_index=0, count=3, steps=4),
    )
    assert [len(s) for s in read.series] == [1, 1, 1]
    proposals = [s[0] for s in read.series]
    assert len({p.output_sha256 for p in proposals}) == 3  # three seeds, three ways on
    assert len({p.seed for p in proposals}) == 3
    for proposal in proposals:
        assert proposal.parent is not None
        assert proposal.parent.kind == "stage"
        assert proposal.parent.donation_id == str(donation_id)
        assert proposal.parent.stage_index == 0
        assert proposal.parent.fingerprint == donation.stages[0].fingerprint
        assert proposal.role == next_role(donation.stages[0].role)
        assert proposal.failure_type == donation.failure_type
        generation = ModelRecords(ledger).get_generation(UUID(proposal.generation_id))
        png = ledger.blobs.get(generation.blob_id)
        assert hashlib.sha256(png).hexdigest() == proposal.output_sha256
    # The same job again is the same proposals, recorded once.
    before = _generations(ledger)
    same = propose(
        ledger,
        job_id="p1",
        request=ContinueRequest(donation_id=donation_id, stage_index=0, count=3, steps=4),
    )
    assert [s[0].generation_id for s in same.series] == [p.generation_id for p in proposals]
    assert _generations(ledger) == before


@sqlite_only
def test_a_roll_out_reaches_a_final_each_stage_the_parent_of_the_next(
    trained: MuseumLedger,
) -> None:
    ledger = trained
    upload = factories.png(90)
    read = propose(
        ledger,
        job_id="roll",
        request=ContinueRequest(
            image=upload,
            role="failure",
            failure_type="colour",
            emotion="grief",
            count=2,
            to_final=True,
            steps=3,
        ),
    )
    assert read.parent.kind == "upload"
    assert read.parent.sha256 == hashlib.sha256(upload).hexdigest()
    for series in read.series:
        assert [g.role for g in series] == ["revision", "final"]
        assert series[1].parent is not None
        assert series[0].parent is not None
        assert series[1].parent.kind == "generation"
        assert series[1].parent.generation_id == series[0].generation_id
        assert series[1].parent.output_sha256 == series[0].output_sha256
        assert {g.failure_type for g in series} == {"colour"}


@sqlite_only
def test_bad_requests_are_refused_and_record_nothing(trained: MuseumLedger) -> None:
    ledger = trained
    records = ModelRecords(ledger)
    donation_id = records.donation_ids()[0]
    last = len(ledger.get_donation(donation_id).stages) - 1
    artist = ledger.register_artist(factories.artist("Private Hand"))
    hidden = ledger.donate(factories.donation(artist, consents=("train",))).donation_id
    before = _generations(ledger)
    blobs = sorted(p.name for p in (ledger.settings.home).rglob("*") if p.is_file())
    cases = [
        (NotFound, ContinueRequest(donation_id=uuid4(), stage_index=0)),
        (NotFound, ContinueRequest(donation_id=donation_id, stage_index=99)),
        (Conflict, ContinueRequest(donation_id=hidden, stage_index=0)),
        (InvalidInput, ContinueRequest(donation_id=donation_id, stage_index=0, count=0)),
        (InvalidInput, ContinueRequest(donation_id=donation_id, stage_index=0, count=17)),
        (InvalidInput, ContinueRequest(donation_id=donation_id, stage_index=last, to_final=True)),
        (
            InvalidImage,
            ContinueRequest(
                image=b"not an image", role="failure", failure_type="colour", emotion="joy"
            ),
        ),
        (
            InvalidImage,
            ContinueRequest(
                image=b"\x89PNG" + b"0" * (10 * 1024 * 1024),
                role="failure",
                failure_type="colour",
                emotion="joy",
            ),
        ),
        (
            InvalidInput,
            ContinueRequest(
                image=factories.png(6), role="final", failure_type="colour", emotion="joy"
            ),
        ),
        (
            InvalidInput,
            ContinueRequest(
                image=factories.png(5), role="failure", failure_type="no-such", emotion="joy"
            ),
        ),
    ]
    for error, request in cases:
        with pytest.raises(error):
            propose(ledger, job_id="bad", request=request)
    assert _generations(ledger) == before
    assert sorted(p.name for p in ledger.settings.home.rglob("*") if p.is_file()) == blobs


@sqlite_only
def test_no_pairs_no_run(ledger: MuseumLedger) -> None:
    artist = ledger.register_artist(factories.artist())
    ledger.donate(factories.donation(artist, stages=factories.stages("final")))
    with pytest.raises(InvalidInput, match="no step from one stage to the next"):
        train_continuation_run(ledger, job_id="none", steps=2)
    with pytest.raises(NotFound, match="no continuation model version"):
        propose(
            ledger,
            job_id="x",
            request=ContinueRequest(
                image=factories.png(3), role="sketch", failure_type="colour", emotion="joy"
            ),
        )


@sqlite_only
def test_a_proposal_is_credited_to_the_pairs_its_run_learned_from(
    ledger: MuseumLedger, tmp_path: Path
) -> None:
    factories.seed_collection(ledger, artists=3)
    run = train_continuation_run(ledger, job_id="cont", seed=1, steps=STEPS)
    records = ModelRecords(ledger)
    # A "proposal" that is exactly one training pair's next stage, shown its previous stage:
    # its own pair must lead the credit (the index sees the previous image and the labels).
    pair = StagePair.from_dict(run.items[1])
    donation = ledger.get_donation(pair.donation_id)
    own = records.record_generation(
        job_id="own",
        run=run,
        seed=0,
        steps=1,
        role=pair.role,
        emotion=pair.emotion,
        failure_type=pair.failure_type,
        png=ledger.stage_image(pair.donation_id, pair.stage_index),
        parent=stage_parent(donation, pair.previous_stage_index),
    )
    result = attribute(ledger, tmp_path, AttributeRequest(own.id, method="d-trak", top=3, **SMALL))
    assert result.top_k[0].item_id == pair.item_id
    assert sum(line.ppm for line in result.shares_ppm) == PPM
    assert {i.item_id for i in result.top_k} <= set(run.item_ids())
    # A real proposal is attributed the same way, to next stages of the run's pairs.
    read = propose(
        ledger,
        job_id="p",
        request=ContinueRequest(donation_id=donation.id, stage_index=0, count=1, steps=3),
    )
    proposal = UUID(read.series[0][0].generation_id)
    credited = attribute(ledger, tmp_path, AttributeRequest(proposal, method="d-trak", **SMALL))
    assert {i.item_id for i in credited.top_k} <= set(run.item_ids())
    assert sum(line.ppm for line in credited.credits) == PPM


@sqlite_only
def test_an_erasure_withdraws_the_continuation_model_and_retraining_reaches_it(
    ledger: MuseumLedger,
) -> None:
    artists = factories.seed_collection(ledger, artists=2)
    train_run(ledger, job_id="stage", steps=4)
    first = train_continuation_run(ledger, job_id="cont", seed=2, steps=4)
    records = ModelRecords(ledger)
    erased = artists[0]
    theirs = {str(d) for d in ledger.get_artist(erased).donation_ids}
    assert theirs & {item["donation_id"] for item in first.items}
    # 1. The erasure reaches the continuation model at once: it is withdrawn, not deployed.
    status = records.erase_artist(erased, "withdrawn by the donor")
    registry = records.registry()
    assert CONTINUATION not in registry.deployed_variants
    assert registry.withdrawn_variants == {CONTINUATION: first.id}
    assert not status.completed  # the stage model still holds the stages
    with pytest.raises(NotFound, match="no continuation model version"):
        propose(ledger, job_id="late", request=ContinueRequest(
            image=factories.png(3), role="sketch", failure_type="colour", emotion="joy"))  # fmt: skip
    # 2. Retraining serves the stage model's batch and trains the continuation model again,
    # with the withdrawn version's budget and seed, on the pairs consent still allows.
    outcome = retrain(ledger, job_id="retrain-1", now=True)
    assert outcome.run is not None
    assert outcome.run.state == "completed"
    successor = outcome.continuation
    assert successor is not None
    assert (successor.state, successor.variant, successor.seed) == ("completed", CONTINUATION, 2)
    assert not theirs & {item["donation_id"] for item in successor.items}
    assert successor.items
    assert records.registry().deployed_variants == {CONTINUATION: successor.id}
    assert records.registry().withdrawn_variants == {}
    assert records.erasure_status(erased).completed
    # The certificate proves the withdrawal (no continuation model held the stages when it was
    # issued: the successor trains after the stage model settles the erasure) ...
    certificate = records.erasure_status(erased).certificate
    assert certificate is not None
    assert certificate["continuation_model"] == {
        "withdrawn": [str(first.id)],
        "version": None,
        "training_items": None,
        "holds_erased_fingerprints": False,
    }
    key = ledger.integrity.public_key_hex
    assert verify_certificate(certificate, key).artist_id == str(erased)
    # ... and the offline checker refuses a withdrawal the log does not hold.
    forged = certificate | {"continuation_model": certificate["continuation_model"] | {
        "withdrawn": [str(uuid4())]}}  # fmt: skip
    with pytest.raises(ProofError, match="no ModelVariantWithdrawn event"):
        verify_certificate(forged, key)
    # 3. Nothing withdrawn any more: a second retraining leaves the continuation model alone.
    assert retrain(ledger, job_id="retrain-2", now=True).continuation is None


def test_events_recorded_before_variants_and_parents_still_load() -> None:
    """A run started, or a generation made, before the fields existed replays with defaults."""
    run = TrainingRun.start(
        job_id="old",
        config={},
        seed=0,
        shards=1,
        items=[{"item_id": "a:0", "fingerprint": "f"}],
        consents_relied_on=[],
        feedback_used=[],
    )
    made = Generation(
        model_version=uuid4(),
        checkpoint_hashes=[],
        seed=0,
        steps=1,
        conditioning={"role": "final", "emotion": "joy"},
        blob_id="b",
        output_sha256="0" * 64,
        job_id="j",
    )
    for aggregate, field in ((run, "variant"), (made, "parent")):
        (created,) = aggregate.collect_events()
        stored = object.__new__(type(created))  # as eventsourcing rebuilds a stored event
        stored.__dict__.update({k: v for k, v in created.__dict__.items() if k != field})
        assert field not in stored.__dict__
        replayed = stored.mutate(None)
        assert getattr(replayed, field) == {"variant": STAGE, "parent": None}[field]
