"""The four compliance reports, answered from the ledger's events for legal staff.

1. `training_run` / `run_exclusions`: every item of a run with the `train` consent event it
   relied on and that event's receipt (verifiable offline), and the donations left out and why.
2. `erasures`: every erasure against its 30-day deadline, and the retraining that completed it.
3. `training_data_summary`: what a model version learned from, in public categories only.
4. `attribution_concentration`: how evenly credit spread across artists over a period.

A thin service like `ModelRecords`: it holds no state and writes no event. The one thing it may
write is a signed tree head, when the latest does not yet cover an event it proves.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

import msgspec
from eventsourcing.domain import DomainEvent

from ledger import concentration
from ledger.application import MuseumLedger
from ledger.compliance_views import (
    AttributionConcentrationRead,
    ConsentEvidenceRead,
    CountRead,
    ErasureReportLineRead,
    ErasuresReportRead,
    ExcludedDonationRead,
    FeedbackEffectRead,
    RunExclusionsRead,
    RunItemRead,
    TrainingDataSummaryRead,
    TrainingRunReportRead,
)
from ledger.domain import Artist, Donation
from ledger.domain.attribution import Attribution
from ledger.domain.donation import consent_at
from ledger.domain.model import TrainingRun
from ledger.erasures import Erasures
from ledger.errors import IntegrityViolation, InvalidInput
from ledger.model_records import ModelRecords
from ledger.shares import ranked
from ledger.validation import aware, method_name
from ledger.views import ErasureRead
from ledger.vocabulary import Purpose

DEFAULT_PAGE = 100
MAX_PAGE = 500
TOP_ARTISTS = 10
UNTAGGED = "untagged"
TAG_KINDS = ("culture", "region", "genre")

# Why a donation in the ledger is not among a run's items, in the order they are decided.
DONATED_AFTER_START = "donated_after_start"
ERASED_ARTIST = "erased_artist"  # withdrawn for its artist's erasure before the start
GRANTED_DURING_SNAPSHOT = "granted_during_snapshot"  # held at the start, after the snapshot
REVOKED_BEFORE_START = "revoked_before_start"
NEVER_GRANTED = "never_granted"
EXCLUSION_REASONS = (
    DONATED_AFTER_START,
    ERASED_ARTIST,
    GRANTED_DURING_SNAPSHOT,
    REVOKED_BEFORE_START,
    NEVER_GRANTED,
)

CONSENT_BASIS = (
    "explicit opt-in consent to training ('train'), given by the donor per donation and recorded "
    "in the ledger before the run started, with the donor's affirmed rights attestation; "
    "revocable at any time: a revocation keeps the donation out of later runs, and an erasure "
    "keeps it out and has every model version trained on it retrained"
)

ERASURE_COMPLETED: type = getattr(Artist, "ErasureCompleted")  # noqa: B009 - made by @event


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat()


def _limit(limit: int) -> int:
    if isinstance(limit, bool) or not isinstance(limit, int) or not 1 <= limit <= MAX_PAGE:
        raise InvalidInput(f"limit must be an integer between 1 and {MAX_PAGE}, got {limit!r}")
    return limit


def _page_start(keys: Sequence[str], after: str | None, what: str) -> int:
    """Where the page after the cursor begins: 0 without one, else just past the cursor's key."""
    if after is None:
        return 0
    try:
        return keys.index(after) + 1
    except ValueError:
        raise InvalidInput(f"cursor {after!r} is not {what}; pass a `next` value back") from None


def _counts(counter: Counter[str]) -> list[CountRead]:
    """Largest count first, ties by key: the order `ledger.shares.ranked` gives every report."""
    return [CountRead(key=key, count=count) for key, count in ranked(counter.items())]


def _grants_train(domain_event: DomainEvent) -> bool:
    if isinstance(domain_event, Donation.DonationMade):
        return Purpose.TRAIN in domain_event.consents
    return isinstance(domain_event, Donation.ConsentGranted) and (
        domain_event.purpose == Purpose.TRAIN
    )


def _exclusion(history: Sequence[DomainEvent], started: datetime) -> tuple[str, datetime]:
    """Why a donation whose events are `history` is not in a run started at `started`, and the
    moment that decided it."""
    made = history[0]
    if made.timestamp > started:
        return DONATED_AFTER_START, made.timestamp
    before = [e for e in history if e.timestamp <= started]
    for domain_event in before:
        if isinstance(domain_event, Donation.DonationWithdrawn):
            return ERASED_ARTIST, domain_event.timestamp
    if consent_at(before, Purpose.TRAIN, started):
        grant = [e for e in before if _grants_train(e)][-1]
        return GRANTED_DURING_SNAPSHOT, grant.timestamp
    revoked = [
        e for e in before if isinstance(e, Donation.ConsentRevoked) and e.purpose == Purpose.TRAIN
    ]
    if revoked:
        return REVOKED_BEFORE_START, revoked[-1].timestamp
    return NEVER_GRANTED, made.timestamp


class ComplianceReports:
    """Thin service over the ledger application; holds no state of its own."""

    def __init__(self, ledger: MuseumLedger) -> None:
        self.ledger = ledger
        self.models = ModelRecords(ledger)

    def _history(self, aggregate_id: UUID) -> list[DomainEvent]:
        return [e for e in self.ledger.events.get(aggregate_id) if isinstance(e, DomainEvent)]

    @staticmethod
    def _ended_at(run: TrainingRun) -> str | None:
        """A finished run refuses every further event (`check_running`), so the time of its last
        event is when it completed or failed."""
        return None if run.state == "running" else _iso(run.modified_on)

    # --- 1. a training run ----------------------------------------------------------------

    def training_run(
        self, run_id: UUID, *, after: str | None = None, limit: int = DEFAULT_PAGE
    ) -> TrainingRunReportRead:
        """A page of the run's items with the consent event each relied on and its receipt.

        All receipts of a page are under one signed head: the latest, or a new one when the
        latest is older than an event it proves. Pass `next` back as `after` for the next page.
        """
        limit = _limit(limit)
        run = self.models.get_run(run_id)
        items = run.items
        first = _page_start([item["item_id"] for item in items], after, f"an item of run {run_id}")
        page = items[first : first + limit]
        relied = {entry["donation_id"]: entry for entry in run.consents_relied_on}
        donations = list(dict.fromkeys(item["donation_id"] for item in page))
        held: dict[str, bool] = {}
        found: list[tuple[dict[str, Any], bool, int | None]] = []
        for donation_id in donations:
            history = self._history(UUID(donation_id))
            held[donation_id] = consent_at(history, Purpose.TRAIN, run.created_on)
            entry = relied.get(donation_id)
            if entry is None:
                continue
            version = int(entry["version"])
            stored = next((e for e in history if e.originator_version == version), None)
            nid = self.ledger.integrity.records.notification_id(UUID(donation_id), version)
            found.append((entry, stored is not None and _grants_train(stored), nid))
        proven = [nid for _, _, nid in found if nid is not None]
        receipts = dict(zip(proven, self.ledger.integrity.receipts(proven), strict=True))
        evidence = [
            ConsentEvidenceRead(
                donation_id=entry["donation_id"],
                event=entry["event"],
                version=int(entry["version"]),
                at=entry["at"],
                notification_id=nid,
                grants_train=grants,
                train_consent_at_start=held[entry["donation_id"]],
                receipt=None if nid is None else receipts[nid],
            )
            for entry, grants, nid in found
        ]
        by_donation = {e.donation_id: e.notification_id for e in evidence}
        return TrainingRunReportRead(
            run_id=str(run.id),
            state=run.state,
            started_at=_iso(run.created_on),
            ended_at=self._ended_at(run),
            shards=run.shards,
            items_total=len(items),
            donations_total=len({item["donation_id"] for item in items}),
            items=[
                RunItemRead(
                    item_id=item["item_id"],
                    donation_id=item["donation_id"],
                    stage_index=int(item["stage_index"]),
                    role=item["role"],
                    blob_id=item["blob_id"],
                    fingerprint=item["fingerprint"],
                    consent_notification_id=by_donation.get(item["donation_id"]),
                    train_consent_at_start=held[item["donation_id"]],
                )
                for item in page
            ],
            consent_events=evidence,
            next=page[-1]["item_id"] if first + limit < len(items) else None,
            feedback_effects=[
                msgspec.convert(effect, FeedbackEffectRead) for effect in run.feedback_effects
            ],
        )

    def run_exclusions(
        self, run_id: UUID, *, after: str | None = None, limit: int = DEFAULT_PAGE
    ) -> RunExclusionsRead:
        """A page of the donations in the ledger that the run did not train on, and why, in log
        order; `counts` are over all of them. Pass `next` (a donation id) back as `after`."""
        limit = _limit(limit)
        run = self.models.get_run(run_id)
        started = run.created_on
        in_run = {item["donation_id"] for item in run.items}
        excluded: list[ExcludedDonationRead] = []
        for donation_id in self.models.donation_ids():
            if str(donation_id) in in_run:
                continue
            history = self._history(donation_id)
            reason, at = _exclusion(history, started)
            made = history[0]
            stages = len(made.stages) if isinstance(made, Donation.DonationMade) else 0
            excluded.append(
                ExcludedDonationRead(
                    donation_id=str(donation_id),
                    reason=reason,
                    at=_iso(at),
                    item_ids=[f"{donation_id}:{index}" for index in range(stages)],
                )
            )
        keys = [line.donation_id for line in excluded]
        first = _page_start(keys, after, f"a donation run {run_id} excluded")
        return RunExclusionsRead(
            run_id=str(run.id),
            started_at=_iso(started),
            excluded_total=len(excluded),
            counts=_counts(Counter(line.reason for line in excluded)),
            excluded=excluded[first : first + limit],
            next=keys[first + limit - 1] if first + limit < len(keys) else None,
        )

    # --- 2. erasures ----------------------------------------------------------------------

    def erasures(self, now: datetime | None = None) -> ErasuresReportRead:
        """Every erasure, oldest first: deadline, time left, completion, retraining; `overdue`
        at `now` (where each open one stands is `ledger.erasures.Erasures.status`)."""
        moment = datetime.now(UTC) if now is None else aware(now, "now")
        erasures = Erasures(self.ledger)
        lines: list[ErasureReportLineRead] = []
        for artist_id in dict.fromkeys(self.ledger.ids_with_topic(Artist.ErasureRequested)):
            artist = self.ledger.get_artist(artist_id)
            requested, deadline = artist.erasure_requested_at, artist.erasure_deadline
            if requested is None or deadline is None:
                raise IntegrityViolation(f"artist {artist_id} has an erasure request it lacks")
            status = erasures.status(artist_id, moment)
            certificate = artist.erasure_certificate
            completed = next(
                (e.timestamp for e in self._history(artist_id) if isinstance(e, ERASURE_COMPLETED)),
                None,
            )
            lines.append(
                ErasureReportLineRead(
                    artist_id=str(artist_id),
                    artist=self.ledger.artist_view(artist_id).pseudonym,
                    requested_at=_iso(requested),
                    deadline=_iso(deadline),
                    completed_at=None if completed is None else _iso(completed),
                    retraining_runs=[]
                    if certificate is None
                    else list(certificate.get("retraining_runs", [])),
                    awaiting_retraining_of=list(status.awaiting_retraining_of or []),
                    overdue=status.overdue,
                    state=_erasure_state(status),
                    time_left_seconds=status.time_left_seconds,
                    retraining_due_at=status.retraining_due_at,
                    retraining_run=status.retraining_run,
                )
            )
        done = sum(line.completed_at is not None for line in lines)
        return ErasuresReportRead(
            now=_iso(moment),
            total=len(lines),
            open=len(lines) - done,
            completed=done,
            overdue=sum(line.overdue for line in lines),
            erasures=lines,
        )

    # --- 3. the deployed model's training data ------------------------------------------------

    def training_data_summary(self, version: UUID | None = None) -> TrainingDataSummaryRead:
        """What a model version (the deployed one by default) was trained on: counts in public
        categories, donors, consent basis and dates. NotFound when no model is deployed."""
        run = self.models.model_version(version)
        items = run.items
        wanted = {item["donation_id"] for item in items}
        made: dict[str, Donation.DonationMade] = {}
        for domain_event in self.ledger.events_with_topic(Donation.DonationMade):
            key = str(domain_event.originator_id)
            if key in wanted and isinstance(domain_event, Donation.DonationMade):
                made[key] = domain_event
        missing = sorted(wanted - set(made))
        if missing:
            raise IntegrityViolation(
                f"model version {run.id} trained on donation {missing[0]}, which the log lacks"
            )
        tags: dict[str, Counter[str]] = {kind: Counter() for kind in TAG_KINDS}
        failure_types: Counter[str] = Counter()
        for item in items:
            donation = made[item["donation_id"]]
            for kind in TAG_KINDS:
                tags[kind].update(donation.tags.get(kind) or [UNTAGGED])
            failure_types[donation.failure_type] += 1
        times = sorted(e.timestamp for e in made.values())
        return TrainingDataSummaryRead(
            model_version=str(run.id),
            deployed=self.models.registry().deployed == run.id,
            shards=run.shards,
            run_started_at=_iso(run.created_on),
            run_completed_at=self._ended_at(run),
            items=len(items),
            donations=len(made),
            donors=len({item["artist_id"] for item in items}),
            by_culture=_counts(tags["culture"]),
            by_region=_counts(tags["region"]),
            by_genre=_counts(tags["genre"]),
            by_failure_type=_counts(failure_types),
            by_stage_role=_counts(Counter(item["role"] for item in items)),
            by_emotion=_counts(Counter(item["emotion"] for item in items)),
            consent_basis=CONSENT_BASIS,
            donations_from=_iso(times[0]),
            donations_to=_iso(times[-1]),
        )

    # --- 4. attribution concentration -----------------------------------------------------

    def attribution_concentration(
        self, start: datetime, end: datetime, *, method: str | None = None
    ) -> AttributionConcentrationRead:
        """Gini and top-10 share of credit across artists over the attributions recorded in
        [start, end) (of one method, if named); formulas in `ledger.concentration`."""
        start, end = aware(start, "start"), aware(end, "end")
        if start >= end:
            raise InvalidInput("the period's start must come before its end")
        chosen = None if method is None else method_name(method)
        credits: Counter[str] = Counter()
        attributions = 0
        for domain_event in self.ledger.events_with_topic(Attribution.AttributionRecorded):
            if not isinstance(domain_event, Attribution.AttributionRecorded):
                continue
            if not start <= domain_event.timestamp < end:
                continue
            if chosen is not None and domain_event.method != chosen:
                continue
            attributions += 1
            for line in domain_event.per_artist:
                credits[str(line["key"])] += int(line["ppm"])
        credited = [credit for credit in credits.values() if credit > 0]
        gini = concentration.gini(credited)
        top = concentration.top_share(credited, TOP_ARTISTS)
        return AttributionConcentrationRead(
            start=_iso(start),
            end=_iso(end),
            method=chosen,
            attributions=attributions,
            artists_credited=len(credited),
            total_credit_ppm=sum(credited),
            gini_ppm=None if gini is None else concentration.ppm(gini),
            gini_exact=None if gini is None else concentration.exact(gini),
            top10_share_ppm=None if top is None else concentration.ppm(top),
            top10_share_exact=None if top is None else concentration.exact(top),
        )


def _erasure_state(status: ErasureRead) -> str:
    """Where an erasure stands, in one word (`ErasureReportLineRead.state`)."""
    if status.completed:
        return "complete"
    if status.retraining_run is not None:
        return "retraining"
    if status.retraining_due_at is not None:
        return "waiting"
    if not status.key_shredded:
        return "interrupted"
    return "open"
