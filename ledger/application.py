"""The ledger service: every museum act is get → command → save, then sealed into the log."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID, uuid4

import msgspec
from eventsourcing.persistence import IntegrityError, Recording
from sqlalchemy.engine import Engine

from ledger.aggregates import MuseumApplication
from ledger.blobs import BlobStore
from ledger.crypto import (
    ERASURE_REASON_CONTEXT,
    IDENTITY_CONTEXT,
    PSEUDONYM_CONTEXT,
    DataKey,
    MasterKey,
    stage_image_context,
)
from ledger.domain import (
    Artist,
    Donation,
    Feedback,
    FoundingRoll,
    Generation,
    PseudonymClaim,
)
from ledger.domain.artist import FOUNDING_SEATS
from ledger.domain.donation import consent_at, consent_trail
from ledger.domain.model import ModelRegistry, TrainingRun
from ledger.domain.retraining import RetrainingSchedule
from ledger.errors import (
    ConfigurationError,
    Conflict,
    InvalidInput,
    KeyShredded,
    NotFound,
)
from ledger.intake import MAX_LABEL_TEXT, seal_donation
from ledger.log import VerifiableLog
from ledger.schemas import ArtistCreate, DonationCreate
from ledger.sealing import (
    SealedPostgresApplicationRecorder,
    SealedSQLiteApplicationRecorder,
)
from ledger.settings import Settings
from ledger.shred_list import ShredList
from ledger.store import HeadTable, KeyRingTable, KeyVault, LeafTable, RecordTable
from ledger.validation import aware, text
from ledger.views import (
    ERASED_DONOR,
    ArtistIdentityRead,
    ArtistRead,
    ConsentChangeRead,
    DonationRead,
    ErasureRead,
    ReceiptRead,
    artist_read,
    donation_read,
    erasure_read,
)
from ledger.vocabulary import Purpose, parse


@dataclass(frozen=True)
class DonationResult:
    donation_id: UUID
    receipt: ReceiptRead


class MuseumLedger(MuseumApplication):
    """The application service. Personal text and images are sealed before any event exists."""

    name = "museum"
    is_snapshotting_enabled = False

    def __init__(
        self,
        env: Mapping[str, str],
        *,
        master: MasterKey,
        engine: Engine,
        blobs: BlobStore,
        head_every_events: int = 1000,
        retrain_window: timedelta = timedelta(hours=24),
        settings: Settings | None = None,
    ) -> None:
        ring = KeyRingTable(engine).load(master)  # a retired master key is refused here
        super().__init__(env=env)
        recorder = self.recorder
        if not isinstance(
            recorder, SealedSQLiteApplicationRecorder | SealedPostgresApplicationRecorder
        ):
            raise ConfigurationError(
                "the ledger must be opened with a sealing recorder (ledger.runtime)"
            )
        self.ring = ring
        recorder.sealer = self.ring.sealer()
        self.master = master
        self.engine = engine
        self.vault = KeyVault(engine)
        self.events_table: str = recorder.events_table_name  # for audits reading it as plain SQL
        self.blobs = blobs
        self.integrity = VerifiableLog(
            RecordTable(engine, recorder.events_table_name),
            LeafTable(engine),
            HeadTable(engine),
            master,
            self.ring,
        )
        self.head_every_events = head_every_events
        self.integrity.head_every_events = head_every_events
        self.retrain_window = retrain_window
        # What it was opened with (`ledger.runtime`): services above it find the data
        # directory and their own settings here, not in whatever the environment says now.
        self.settings = settings
        # Where each shredding is noted before the key goes; None (no settings): nowhere.
        self.shred_list = None if settings is None else ShredList(settings.shred_list_path)

    def save(self, *objs: Any, **kwargs: Any) -> list[Recording[UUID]]:
        """Save, and sign a tree head when an event's notification id is a multiple of
        `head_every_events`: a rule of the log, not of this process, so `verify` can check it."""
        recordings = super().save(*objs, **kwargs)
        every = self.head_every_events
        if every and any(r.notification.id % every == 0 for r in recordings):
            self.integrity.sign_head()
        return recordings

    # --- keys -------------------------------------------------------------------------------

    def data_key(self, artist_id: UUID) -> DataKey:
        wrapped = self.vault.get(artist_id)
        if wrapped is None:
            raise KeyShredded(
                f"the data key of artist {artist_id} was destroyed: their content is erased"
            )
        return self.master.unwrap(artist_id, wrapped)

    # --- artists ----------------------------------------------------------------------------

    def register_artist(self, request: ArtistCreate) -> UUID:
        pseudonym = text(request.pseudonym, "pseudonym", limit=64)
        identity = {
            "legal_name": text(request.legal_name, "legal name", limit=200),
            "contact": text(request.contact, "contact", limit=320),
        }
        # Claims made under earlier key generations keep their tokens; new ones use the current.
        token, *earlier = self.ring.index_tokens(" ".join(pseudonym.casefold().split()))
        if any(self._exists(PseudonymClaim.create_id(t)) for t in (token, *earlier)):
            raise Conflict(f"the pseudonym {pseudonym!r} is taken")
        artist_id = uuid4()
        key, wrapped = self.master.new_data_key(artist_id)
        self.vault.put(artist_id, wrapped)
        pseudonym_sealed = key.seal_text(pseudonym, PSEUDONYM_CONTEXT)
        identity_sealed = key.seal_text(json.dumps(identity), IDENTITY_CONTEXT)

        def enrol() -> UUID:
            roll = self._founding_roll()
            number = roll.enrol(artist_id)
            artist = Artist(
                id=artist_id,
                pseudonym_sealed=pseudonym_sealed,
                identity_sealed=identity_sealed,
                anonymous=request.anonymous,
                founding_number=number,
            )
            claim = PseudonymClaim(token=token, artist_id=artist_id)
            try:
                self.save(artist, claim, *([roll] if number is not None else []))
            except IntegrityError:
                if self._exists(claim.id):
                    raise Conflict(f"the pseudonym {pseudonym!r} is taken") from None
                raise  # another registration took the next founding seat first: retried
            return artist_id

        try:
            return self.retry(enrol, "the founding roll")
        except BaseException:
            self.vault.destroy(artist_id)
            raise

    def _founding_roll(self) -> FoundingRoll:
        return self.find(FoundingRoll.ROLL_ID, FoundingRoll) or FoundingRoll(seats=FOUNDING_SEATS)

    def _exists(self, aggregate_id: UUID) -> bool:
        return bool(self.recorder.select_events(aggregate_id, limit=1))

    def get_artist(self, artist_id: UUID) -> Artist:
        return self.get_aggregate(artist_id, Artist, "artist")

    def grant_founding(self, artist_id: UUID, curator: str, note: str = "") -> None:
        curator = text(curator, "curator", limit=200)
        note = text(note, "curator's note", limit=MAX_LABEL_TEXT, required=False)

        def grant() -> None:
            artist = self.get_artist(artist_id)
            artist.grant_founding(curator=curator, note=note)
            self.save(artist)

        self.retry(grant, f"artist {artist_id}")

    def artist_view(self, artist_id: UUID) -> ArtistRead:
        """What may be shown publicly: pseudonym, or "erased donor" once the key is gone."""
        artist = self.get_artist(artist_id)
        try:
            pseudonym = self.data_key(artist_id).unseal_text(
                artist.pseudonym_sealed, PSEUDONYM_CONTEXT
            )
        except KeyShredded:
            pseudonym = ERASED_DONOR
        return artist_read(artist_id, artist, pseudonym)

    def identity(self, artist_id: UUID) -> ArtistIdentityRead:
        """Legal name and contact, for payouts and compliance only."""
        artist = self.get_artist(artist_id)
        sealed = self.data_key(artist_id).unseal_text(artist.identity_sealed, IDENTITY_CONTEXT)
        return msgspec.json.decode(sealed, type=ArtistIdentityRead)

    def artist_ids(self) -> list[UUID]:
        return self.ids_with_topic(Artist.ArtistRegistered)

    # --- donations --------------------------------------------------------------------------

    def donate(self, request: DonationCreate) -> DonationResult:
        """Validate everything, seal and store the images, record `DonationMade`, return a receipt."""
        artist = self.get_artist(request.artist_id)
        artist.check_active()
        key = self.data_key(request.artist_id)
        donation_id = uuid4()
        sealed = seal_donation(key, donation_id, request)

        def make() -> Donation:
            return Donation.make(
                donation_id=donation_id,
                artist_id=request.artist_id,
                stages=sealed.stages,
                label_sealed=sealed.label,
                failure_type=request.label.failure_type,
                emotion=request.label.emotion,
                tags=sealed.tags,
                attestation=sealed.attestation,
                consents=request.consents,
            )

        first = [(artist, make())]  # made before any blob is stored: the request is valid

        def record() -> list[Recording[UUID]]:
            # A retry reads and makes afresh: a lost race consumed the pending events of the last.
            owner, made = first.pop() if first else (self.get_artist(request.artist_id), make())
            owner.add_donation(donation_id)
            return self.save(made, owner)

        created = [blob_id for blob_id, new in map(self.blobs.put, sealed.images) if new]
        try:
            recordings = self.retry(record, f"artist {request.artist_id}")
        except BaseException:
            for blob_id in created:
                self.blobs.discard(blob_id)
            raise
        return DonationResult(
            donation_id, self.integrity.receipt(self._notification_id(recordings, donation_id))
        )

    @staticmethod
    def _notification_id(recordings: Iterable[Recording[UUID]], originator_id: UUID) -> int:
        for recording in recordings:
            if recording.domain_event.originator_id == originator_id:
                return recording.notification.id
        raise NotFound(f"no event of {originator_id} was recorded")

    def get_donation(self, donation_id: UUID) -> Donation:
        return self.get_aggregate(donation_id, Donation, "donation")

    def donation_view(self, donation_id: UUID) -> DonationRead:
        donation = self.get_donation(donation_id)
        try:
            key: DataKey | None = self.data_key(donation.artist_id)
        except KeyShredded:
            key = None
        return donation_read(donation_id, donation, key)

    def stage_image(self, donation_id: UUID, index: int) -> bytes:
        donation = self.get_donation(donation_id)
        if not 0 <= index < len(donation.stages):
            raise NotFound(f"donation {donation_id} has no stage {index}")
        stage = donation.stages[index]
        key = self.data_key(donation.artist_id)
        return key.unseal_bytes(
            self.blobs.get(stage.blob_id), stage_image_context(donation_id, index)
        )

    # --- consent ----------------------------------------------------------------------------

    def grant_consent(self, donation_id: UUID, purpose: str) -> bool:
        return self.set_consent(donation_id, purpose, True)[0]

    def revoke_consent(self, donation_id: UUID, purpose: str) -> bool:
        return self.set_consent(donation_id, purpose, False)[0]

    def set_consent(
        self,
        donation_id: UUID,
        purpose: str,
        granted: bool,
        *,
        check: Callable[[Donation], None] | None = None,
    ) -> tuple[bool, Donation]:
        """Get, change and save the donation, retried on a concurrent write: whether it changed,
        and the donation as saved. `check` (e.g. "is this the caller's?") sees it first."""
        change = Donation.grant if granted else Donation.revoke
        purpose = parse(Purpose, purpose, "consent purpose")

        def attempt() -> tuple[bool, Donation]:
            donation = self.get_donation(donation_id)
            if check is not None:
                check(donation)
            changed = change(donation, purpose)
            owed = []
            if changed and purpose == Purpose.TRAIN:
                cause = "train-granted" if granted else "train-revoked"
                owed = self._retraining_owed(cause, str(donation_id), [str(donation_id)])
            self.save(donation, *owed)
            return changed, donation

        return self.retry(attempt, f"donation {donation_id}")

    def consent_at(self, donation_id: UUID, purpose: str, at: datetime | None = None) -> bool:
        """Did `purpose` consent hold for the donation at `at` (now if omitted)? Answered from events."""
        purpose = parse(Purpose, purpose, "consent purpose")
        self.get_donation(donation_id)
        moment = datetime.now(UTC) if at is None else aware(at, "the time asked about")
        return consent_at(self._domain_events(donation_id), purpose, moment)

    def consent_trail(self, donation_id: UUID) -> list[ConsentChangeRead]:
        self.get_donation(donation_id)
        return [ConsentChangeRead(**c) for c in consent_trail(self._domain_events(donation_id))]

    # --- feedback ---------------------------------------------------------------------------

    def give_feedback(
        self,
        target_kind: str,
        target_id: UUID,
        stage_index: int | None,
        tried: str,
        next_try: str,
        author: str,
    ) -> UUID:
        feedback = Feedback.give(target_kind, target_id, stage_index, tried, next_try, author)
        if target_kind == "donation":
            donation = self.get_donation(target_id)
            if stage_index is not None and stage_index >= len(donation.stages):
                raise InvalidInput(f"donation {target_id} has no stage {stage_index}")
        elif self.find(target_id, Generation) is None:
            raise NotFound(f"no generation {target_id}")
        self.save(feedback)
        return feedback.id

    # --- erasure ----------------------------------------------------------------------------

    def erase_artist(self, artist_id: UUID, reason: str) -> ErasureRead:
        """Withdraw every donation, schedule the retraining it owes, destroy the key.

        A second erasure of an erased artist is refused (`Conflict`); one interrupted before its
        key was destroyed is resumed, each step skipped once done, and a step that lost a race to
        a concurrent writer is retried from a fresh get. Completion, with its certificate, is
        `ledger.erasures.Erasures.settle`: once no deployed model holds the artist's stages.
        """
        first = self.get_artist(artist_id)
        if first.erased and first.key_shredded:
            requested = first.erasure_requested_at.isoformat() if first.erasure_requested_at else ""
            raise Conflict(
                f"artist {artist_id} is already erased (asked at {requested}); "
                "see where it stands with museum erasures"
            )

        def withdraw() -> None:
            artist = self.get_artist(artist_id)
            if not artist.erased:
                artist.request_erasure(reason=self._sealed_reason(artist_id, reason))
                donations = [self.get_donation(d) for d in artist.donation_ids]
                for donation in donations:
                    if not donation.withdrawn:
                        donation.withdraw_for_erasure()
                owed = self._retraining_owed(
                    "erasure", str(artist_id), [str(d) for d in artist.donation_ids]
                )
                self.save(artist, *donations, *owed)

        def shred() -> Artist:
            artist = self.get_artist(artist_id)
            if not artist.key_shredded:
                if self.shred_list is not None:  # noted first: a restore must not revive it
                    self.shred_list.note(artist_id)
                self.vault.destroy(artist_id)  # idempotent: a retry finds no row
                artist.record_key_shredded()
                self.save(artist)
            return artist

        what = f"artist {artist_id}"
        self.retry(withdraw, what)
        self.retry(shred, what)
        return self.erasure_status(artist_id)

    def erasure_status(self, artist_id: UUID) -> ErasureRead:
        return erasure_read(artist_id, self.get_artist(artist_id))

    def _sealed_reason(self, artist_id: UUID, reason: str) -> str:
        """Why the artist asked is their own text: sealed with their key (and so destroyed
        with it), so the request's event can stand in an erasure certificate."""
        plain = text(reason, "reason", limit=500, required=False)
        return self.data_key(artist_id).seal_text(plain, ERASURE_REASON_CONTEXT) if plain else ""

    def _retraining_owed(
        self, cause: str, subject: str, donation_ids: list[str]
    ) -> list[RetrainingSchedule]:
        """The schedule with a request added, to save with the change that owes it. Nothing
        while no model is deployed (the next training takes its snapshot anyway), nor when stages
        the deployed version never learned from leave; a run training meanwhile is checked when
        it completes (`ModelRecords.complete_run`)."""
        registry = self.find(ModelRegistry.REGISTRY_ID, ModelRegistry)
        if registry is None or registry.deployed is None:
            return []
        if cause != "train-granted":
            deployed = self.find(registry.deployed, TrainingRun)
            learned = {item["donation_id"] for item in deployed.items} if deployed else set()
            if not learned & set(donation_ids):
                return []
        schedule = self.retraining_schedule()
        schedule.request(cause, subject, donation_ids, self.retrain_window)
        return [schedule]

    def retraining_schedule(self) -> RetrainingSchedule:
        return self.find(RetrainingSchedule.SCHEDULE_ID, RetrainingSchedule) or RetrainingSchedule()
