"""The four compliance reports, on both backends, against runs recorded without torch (the
erasure report's retraining drops a shard and reuses the other: nothing is trained)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from fractions import Fraction
from uuid import UUID, uuid4

import factories
import msgspec
import pytest
from retraining_world import deploy_recorded_version, donor_in_shard

from ledger import concentration
from ledger.application import MuseumLedger
from ledger.attribution_records import AttributionRecords
from ledger.compliance import (
    DONATED_AFTER_START,
    ERASED_ARTIST,
    GRANTED_DURING_SNAPSHOT,
    NEVER_GRANTED,
    REVOKED_BEFORE_START,
    ComplianceReports,
    _exclusion,
)
from ledger.compliance_views import CountRead
from ledger.domain.model import TrainingRun
from ledger.errors import InvalidInput, NotFound, ProofError
from ledger.model_records import ModelRecords
from ledger.receipt import verify_receipt
from ledger.schemas import DonationTags
from ledger.views import ERASED_DONOR

LEGAL_NAME = "Ana Lucía Ruiz"  # what factories.artist() registers
CONTACT = "ana.ruiz@example.org"


def _train(ledger: MuseumLedger, job_id: str = "run-1") -> TrainingRun:
    """A run recorded as the trainer records one, with a fake checkpoint: no torch here."""
    records = ModelRecords(ledger)
    run = records.start_run(job_id=job_id, config={"preset": "tiny"}, seed=0, shards=1)
    records.record_checkpoint(run.id, 0, 5, "a" * 64, b"weights of " + job_id.encode())
    return records.complete_run(run.id, final_loss=0.1)


@dataclass(frozen=True)
class Museum:
    run: TrainingRun
    by_made: UUID  # train consent given with the donation
    by_grant: UUID  # train consent granted afterwards
    never: UUID
    revoked: UUID
    erased: UUID
    late: UUID


def _museum(ledger: MuseumLedger) -> Museum:
    """Two donations in a run (consent by donation, by a later grant) and one left out for each
    reason a donation can be left out."""
    artist = ledger.register_artist(factories.artist())
    other = ledger.register_artist(factories.artist("Salt Heron"))

    def give(artist_id: UUID, shade: int, consents: tuple[str, ...]) -> UUID:
        request = factories.donation(
            artist_id, consents=consents, stages=factories.stages(shade=shade)
        )
        return ledger.donate(request).donation_id

    by_made = give(artist, 10, ("exhibit", "train"))
    by_grant = give(artist, 20, ("exhibit",))
    ledger.grant_consent(by_grant, "train")
    never = give(artist, 30, ("exhibit",))
    revoked = give(artist, 40, ("train",))
    ledger.revoke_consent(revoked, "train")
    erased = give(other, 50, ("train",))
    ModelRecords(ledger).erase_artist(other, "leaving")
    run = _train(ledger)
    late = give(artist, 60, ("train",))
    return Museum(run, by_made, by_grant, never, revoked, erased, late)


def test_a_run_report_proves_the_consent_each_item_relied_on(ledger: MuseumLedger) -> None:
    museum = _museum(ledger)
    reports = ComplianceReports(ledger)
    report = reports.training_run(museum.run.id)
    assert report.run_id == str(museum.run.id)
    assert report.state == "completed"
    assert report.ended_at is not None
    assert report.ended_at >= report.started_at
    assert (report.items_total, report.donations_total, report.next) == (6, 2, None)
    assert [item.item_id for item in report.items] == museum.run.item_ids()
    assert {item.donation_id for item in report.items} == {
        str(museum.by_made),
        str(museum.by_grant),
    }
    audit = {
        f.item_id: f.train_consent_at_start for f in ModelRecords(ledger).audit_run(museum.run.id)
    }
    assert all(audit[item.item_id] for item in report.items)
    assert all(item.train_consent_at_start for item in report.items)

    relied = {e.donation_id: e for e in report.consent_events}
    assert (relied[str(museum.by_made)].event, relied[str(museum.by_made)].version) == (
        "DonationMade",
        1,
    )
    assert (relied[str(museum.by_grant)].event, relied[str(museum.by_grant)].version) == (
        "ConsentGranted",
        2,
    )
    public_key = ledger.integrity.public_key_hex
    heads = set()
    for evidence in report.consent_events:
        assert evidence.grants_train
        assert evidence.train_consent_at_start
        receipt = evidence.receipt
        assert receipt is not None
        verify_receipt(receipt, public_key)  # the offline verifier, nothing of the ledger
        assert UUID(receipt.event.originator_id) == UUID(evidence.donation_id)
        assert receipt.event.originator_version == evidence.version
        assert receipt.event.notification_id == evidence.notification_id
        heads.add(receipt.head)
    assert len(heads) == 1, "every proof of a page is under one signed head"
    latest = ledger.integrity.latest_head()
    assert latest is not None
    assert heads.pop().as_builtins() == latest.as_dict()
    for item in report.items:
        assert item.consent_notification_id == relied[item.donation_id].notification_id

    # The proof is of these bytes: another state, or another key, does not verify.
    evidence = report.consent_events[0]
    assert evidence.receipt is not None
    forged = msgspec.structs.replace(
        evidence.receipt,
        event=msgspec.structs.replace(evidence.receipt.event, state="e30="),
    )
    with pytest.raises(ProofError):
        verify_receipt(forged, public_key)
    with pytest.raises(ProofError):
        verify_receipt(evidence.receipt, "11" * 32)


def test_a_run_report_pages_its_items_by_cursor(ledger: MuseumLedger) -> None:
    museum = _museum(ledger)
    reports = ComplianceReports(ledger)
    first = reports.training_run(museum.run.id, limit=4)
    assert len(first.items) == 4
    assert first.next == first.items[-1].item_id
    second = reports.training_run(museum.run.id, after=first.next, limit=4)
    assert second.next is None
    assert [i.item_id for i in first.items + second.items] == museum.run.item_ids()
    # A page proves only the consent of its own donations.
    assert (
        {e.donation_id for e in second.consent_events}
        == {i.donation_id for i in second.items}
        == {str(museum.by_grant)}
    )
    for evidence in second.consent_events:
        assert evidence.receipt is not None
        verify_receipt(evidence.receipt, ledger.integrity.public_key_hex)
    exact = reports.training_run(museum.run.id, limit=6)
    assert (len(exact.items), exact.next) == (6, None)

    with pytest.raises(InvalidInput, match="cursor"):
        reports.training_run(museum.run.id, after="not-an-item")
    for limit in (0, 501, True):
        with pytest.raises(InvalidInput, match="limit"):
            reports.training_run(museum.run.id, limit=limit)
    with pytest.raises(NotFound):
        reports.training_run(uuid4())


def test_a_run_report_names_every_donation_left_out_and_why(ledger: MuseumLedger) -> None:
    museum = _museum(ledger)
    reports = ComplianceReports(ledger)
    report = reports.run_exclusions(museum.run.id)
    reasons = {line.donation_id: line.reason for line in report.excluded}
    assert reasons == {
        str(museum.never): NEVER_GRANTED,
        str(museum.revoked): REVOKED_BEFORE_START,
        str(museum.erased): ERASED_ARTIST,
        str(museum.late): DONATED_AFTER_START,
    }
    assert report.excluded_total == 4
    assert report.next is None
    assert sorted((c.key, c.count) for c in report.counts) == sorted(
        (reason, 1) for reason in reasons.values()
    )
    never = next(line for line in report.excluded if line.donation_id == str(museum.never))
    assert never.item_ids == [f"{museum.never}:{index}" for index in range(3)]
    revoked = [c for c in ledger.consent_trail(museum.revoked) if c.change == "revoked"]
    lines = {line.donation_id: line for line in report.excluded}
    assert lines[str(museum.revoked)].at == revoked[-1].at
    assert lines[str(museum.late)].at > report.started_at >= lines[str(museum.never)].at

    first = reports.run_exclusions(museum.run.id, limit=3)
    rest = reports.run_exclusions(museum.run.id, after=first.next, limit=3)
    assert first.next == first.excluded[-1].donation_id
    assert rest.next is None
    assert [line.donation_id for line in first.excluded + rest.excluded] == list(lines)
    assert first.counts == report.counts  # counts cover every page
    with pytest.raises(InvalidInput, match="cursor"):
        reports.run_exclusions(museum.run.id, after=str(museum.by_made))

    # Consent granted between the snapshot and the run's start event: held, yet not taken.
    ledger.grant_consent(museum.never, "train")
    history = reports._history(museum.never)
    assert _exclusion(history, datetime.now(UTC))[0] == GRANTED_DURING_SNAPSHOT


def test_the_erasures_report_follows_each_erasure_to_its_deadline(ledger: MuseumLedger) -> None:
    from generation.retraining import retrain  # torch loads, but nothing is trained below

    leaving = ledger.register_artist(factories.artist())
    ledger.donate(factories.donation(leaving, stages=factories.stages(shade=10)))
    records = ModelRecords(ledger)
    records.erase_artist(leaving, "leaving")  # no model used them yet: complete at once
    # Two shards: the one of `trained` holds no one else, so its retraining drops it.
    trained = donor_in_shard(ledger, 0, 2, shade=20)
    donor_in_shard(ledger, 1, 2, shade=30)
    run = deploy_recorded_version(ledger, shards=2)
    records.erase_artist(trained, "leaving too")  # open until the version is retrained
    reports = ComplianceReports(ledger)

    status = ledger.erasure_status(trained)
    assert status.deadline is not None
    deadline = datetime.fromisoformat(status.deadline)
    soon = reports.erasures(now=deadline - timedelta(days=29))
    assert (soon.total, soon.open, soon.completed, soon.overdue) == (2, 1, 1, 0)
    done, waiting = soon.erasures
    assert done.artist_id == str(leaving)
    assert waiting.artist_id == str(trained)
    assert done.artist == waiting.artist == ERASED_DONOR
    assert done.completed_at is not None
    assert done.completed_at >= done.requested_at
    assert done.retraining_runs == []
    assert done.awaiting_retraining_of == []
    assert (done.state, done.time_left_seconds, done.retraining_due_at) == ("complete", None, None)
    assert waiting.completed_at is None
    assert waiting.awaiting_retraining_of == [str(run.id)]
    assert waiting.deadline == status.deadline
    assert waiting.requested_at == status.requested_at
    assert (waiting.state, waiting.time_left_seconds) == ("waiting", 29 * 86400)
    schedule = ledger.retraining_schedule()
    assert waiting.retraining_due_at == schedule.pending[0]["due_at"]
    assert waiting.retraining_run is None
    assert not done.overdue
    assert not waiting.overdue

    past = reports.erasures(now=deadline + timedelta(seconds=1))
    assert past.overdue == 1
    assert past.erasures[1].overdue
    assert past.erasures[1].time_left_seconds == -1
    assert not past.erasures[0].overdue
    assert not reports.erasures(now=deadline).erasures[1].overdue  # due at, not before

    # The retraining drops the emptied shard, reuses the other, and completes the erasure.
    outcome = retrain(ledger, job_id="retrain-1", now=True)
    assert outcome.run is not None
    assert outcome.run.dropped_shards.keys() == {0}
    after = reports.erasures(now=deadline + timedelta(days=1))
    assert (after.open, after.completed, after.overdue) == (0, 2, 0)
    assert after.erasures[1].retraining_runs == [str(outcome.run.id)]
    assert after.erasures[1].awaiting_retraining_of == []
    assert (after.erasures[1].state, after.erasures[1].time_left_seconds) == ("complete", None)
    encoded = msgspec.json.encode(after).decode()
    assert LEGAL_NAME not in encoded
    assert CONTACT not in encoded
    assert "Donor 20" not in encoded
    with pytest.raises(InvalidInput, match="time zone"):
        reports.erasures(now=datetime(2030, 1, 1))
    assert reports.erasures().now <= datetime.now(UTC).isoformat()


def test_the_training_data_summary_counts_public_categories(ledger: MuseumLedger) -> None:
    reports = ComplianceReports(ledger)
    with pytest.raises(NotFound, match="no model version is deployed"):
        reports.training_data_summary()
    first = ledger.register_artist(factories.artist())
    second = ledger.register_artist(factories.artist("Salt Heron"))
    tagged = factories.donation(
        first,
        stages=factories.stages("sketch", "failure", "final", shade=10),
        tags=DonationTags(culture=("andalusian", "basque"), region=("southern-europe",)),
    )
    plain = factories.donation(
        second,
        stages=factories.stages("attempt", "final", shade=20),
        label=factories.label(failure_type="colour", emotion="joy"),
        tags=DonationTags(),
    )
    donations = [ledger.donate(tagged).donation_id, ledger.donate(plain).donation_id]
    ledger.donate(factories.donation(second, consents=("exhibit",)))  # not trained on
    run = _train(ledger)
    summary = reports.training_data_summary()
    assert summary == reports.training_data_summary(run.id)
    assert (summary.model_version, summary.deployed, summary.shards) == (str(run.id), True, 1)
    assert (summary.items, summary.donations, summary.donors) == (5, 2, 2)

    def counts(lines: list[CountRead]) -> dict[str, int]:
        return {line.key: line.count for line in lines}

    assert counts(summary.by_culture) == {"andalusian": 3, "basque": 3, "untagged": 2}
    assert counts(summary.by_region) == {"southern-europe": 3, "untagged": 2}
    assert counts(summary.by_genre) == {"untagged": 5}
    assert counts(summary.by_failure_type) == {"perspective": 3, "colour": 2}
    assert counts(summary.by_stage_role) == {"final": 2, "sketch": 1, "failure": 1, "attempt": 1}
    assert counts(summary.by_emotion) == {"frustration": 3, "joy": 2}
    assert [line.key for line in summary.by_stage_role] == ["final", "attempt", "failure", "sketch"]
    assert "train" in summary.consent_basis
    assert "revocable" in summary.consent_basis
    times = [ledger.get_donation(d).created_on.isoformat() for d in donations]
    assert (summary.donations_from, summary.donations_to) == (times[0], times[1])
    assert summary.run_completed_at is not None
    assert summary.donations_to < summary.run_started_at <= summary.run_completed_at
    encoded = msgspec.json.encode(summary).decode()
    for personal in (LEGAL_NAME, CONTACT, "Ink Moth", "Salt Heron", str(first), str(second)):
        assert personal not in encoded


def _attribute(
    ledger: MuseumLedger, run: TrainingRun, credits: dict[str, int], method: str
) -> None:
    """An attribution crediting the stage 0 item of each donation by the given scores."""
    generation = ModelRecords(ledger).record_generation(
        job_id=f"gen-{method}",
        run=run,
        seed=1,
        steps=2,
        role="final",
        emotion="joy",
        png=factories.png(len(method)),
    )
    scores = {f"{donation}:0": float(score) for donation, score in credits.items()}
    AttributionRecords(ledger).record(generation.id, method, {}, "ab" * 8, scores, k=10)


def test_attribution_concentration_over_a_period(ledger: MuseumLedger) -> None:
    donations = []
    for number in range(4):
        artist = ledger.register_artist(factories.artist(f"Donor {number}"))
        request = factories.donation(artist, stages=factories.stages(shade=10 * number))
        donations.append(str(ledger.donate(request).donation_id))
    run = _train(ledger)
    reports = ComplianceReports(ledger)
    began = datetime.now(UTC)
    # Credit 1 : 2 : 3 : 4 → 100 000, 200 000, 300 000, 400 000 ppm.
    _attribute(ledger, run, {d: n + 1 for n, d in enumerate(donations)}, "trak")
    between = datetime.now(UTC)
    _attribute(ledger, run, {donations[0]: 1}, "tracin")  # all credit to one artist
    ended = datetime.now(UTC) + timedelta(seconds=1)

    spread = reports.attribution_concentration(began, between)
    # Σ|xi − xj| over ordered pairs = 20 (× 100 000); 2 · n² · μ = 2 · 16 · 2.5 = 80: G = 1/4.
    assert (spread.attributions, spread.artists_credited) == (1, 4)
    assert (spread.gini_exact, spread.gini_ppm) == ("1/4", 250_000)
    assert (spread.top10_share_exact, spread.top10_share_ppm) == ("1/1", 1_000_000)
    assert spread.total_credit_ppm == 1_000_000

    alone = reports.attribution_concentration(between, ended)
    assert (alone.attributions, alone.artists_credited, alone.gini_ppm) == (1, 1, 0)

    both = reports.attribution_concentration(began, ended)
    # Credits 11 : 2 : 3 : 4 sorted 2, 3, 4, 11: 2 · 64 / (4 · 20) − 5/4 = 7/20.
    assert (both.attributions, both.artists_credited, both.total_credit_ppm) == (2, 4, 2_000_000)
    assert (both.gini_exact, both.gini_ppm) == ("7/20", 350_000)
    assert reports.attribution_concentration(began, ended, method="trak").gini_exact == "1/4"

    empty = reports.attribution_concentration(ended, ended + timedelta(days=1))
    assert (empty.attributions, empty.artists_credited, empty.total_credit_ppm) == (0, 0, 0)
    assert empty.gini_ppm is None
    assert empty.gini_exact is None
    assert empty.top10_share_ppm is None
    assert empty.top10_share_exact is None

    with pytest.raises(InvalidInput, match="before its end"):
        reports.attribution_concentration(ended, began)
    with pytest.raises(InvalidInput, match="time zone"):
        reports.attribution_concentration(datetime(2024, 1, 1), ended)
    with pytest.raises(InvalidInput, match="method"):
        reports.attribution_concentration(began, ended, method="Not A Slug")


def _mean_difference_gini(credits: list[int]) -> Fraction:
    """The definition itself, O(n²): Σ_i Σ_j |x_i − x_j| / (2 · n² · μ)."""
    n, total = len(credits), sum(credits)
    pairs = sum(abs(a - b) for a in credits for b in credits)
    return Fraction(pairs, 2 * n * total)


def test_concentration_figures_against_hand_computed_values() -> None:
    twelve = list(range(1, 13))  # credits 1 … 12: G = (n − 1) / (3n) = 11/36
    assert concentration.gini(twelve) == Fraction(11, 36) == _mean_difference_gini(twelve)
    # The top ten hold 3 + … + 12 = 75 of 78.
    assert concentration.top_share(twelve) == Fraction(25, 26)
    assert concentration.ppm(Fraction(25, 26)) == 961_538
    assert concentration.top_share(twelve, k=1) == Fraction(12, 78)
    for credits in ([5], [3, 3, 3], [7, 0, 1, 1, 900], [1, 2, 3, 4]):
        assert concentration.gini(credits) == _mean_difference_gini(credits)
    assert concentration.gini([5]) == 0  # one artist holds all the credit there is
    assert concentration.gini([0, 0, 1]) == Fraction(2, 3)  # the most for three: (n − 1) / n
    assert concentration.gini([]) is None
    assert concentration.gini([0, 0]) is None
    assert concentration.top_share([]) is None
    assert concentration.exact(Fraction(0)) == "0/1"
    assert (
        concentration.ppm(Fraction(1, 2_000_000)),
        concentration.ppm(Fraction(3, 2_000_000)),
    ) == (
        0,
        2,
    )  # half to even
    for bad in ([-1], [1.5], [True]):
        with pytest.raises(InvalidInput, match="non-negative integer"):
            concentration.gini(bad)  # type: ignore[arg-type]
    with pytest.raises(InvalidInput, match="positive integer"):
        concentration.top_share([1], k=0)
