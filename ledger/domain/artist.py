"""Artists, the founding roll and pseudonym claims."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any
from uuid import NAMESPACE_URL, UUID, uuid5

from eventsourcing.domain import Aggregate, event

from ledger.errors import Conflict, ErasedError, InvalidInput

FOUNDING_SEATS = 100
ERASURE_DEADLINE = timedelta(days=30)
MUSEUM_NAMESPACE = uuid5(NAMESPACE_URL, "https://failure-museum.example/ledger")


class Artist(Aggregate):
    """A donor. Pseudonym and identity arrive sealed with the artist's own data key."""

    class ArtistRegistered(Aggregate.Created):
        pseudonym_sealed: str
        identity_sealed: str
        anonymous: bool
        founding_number: int | None

    @event(ArtistRegistered)
    def __init__(
        self,
        id: UUID,
        pseudonym_sealed: str,
        identity_sealed: str,
        anonymous: bool,
        founding_number: int | None,
    ) -> None:
        self.pseudonym_sealed = pseudonym_sealed
        self.identity_sealed = identity_sealed
        self.anonymous = anonymous
        self.founding_number = founding_number
        self.founding_granted_by: str | None = None
        self.donation_ids: list[UUID] = []
        self.erasure_requested_at: datetime | None = None
        self.erasure_deadline: datetime | None = None
        self.key_shredded = False
        self.erasure_certificate: dict[str, Any] | None = None

    @property
    def founding(self) -> bool:
        return self.founding_number is not None or self.founding_granted_by is not None

    @property
    def erased(self) -> bool:
        return self.erasure_requested_at is not None

    def check_active(self) -> None:
        if self.erased:
            raise ErasedError(f"artist {self.id} has asked to be erased; nothing more can be added")

    @event("FoundingStatusGranted")
    def grant_founding(self, curator: str, note: str) -> None:
        self.check_active()
        if self.founding:
            raise Conflict(f"artist {self.id} is already a founding artist")
        if not curator.strip():
            raise InvalidInput("a curator must be named to grant founding status")
        self.founding_granted_by = curator

    @event("AnonymityChanged")
    def set_anonymous(self, anonymous: bool) -> None:
        self.check_active()
        self.anonymous = anonymous

    @event("DonationAdded")
    def add_donation(self, donation_id: UUID) -> None:
        self.check_active()
        self.donation_ids.append(donation_id)

    class ErasureRequested(Aggregate.Event):
        """The deadline runs from this event's own timestamp."""

        reason: str

        def apply(self, aggregate: Aggregate) -> None:
            if not isinstance(aggregate, Artist):
                raise TypeError("ErasureRequested applies to an Artist")
            aggregate.erasure_requested_at = self.timestamp
            aggregate.erasure_deadline = self.timestamp + ERASURE_DEADLINE

    def request_erasure(self, reason: str) -> None:
        if self.erased:
            raise ErasedError(f"erasure of artist {self.id} was already requested")
        self.trigger_event(self.ErasureRequested, reason=reason)

    @event("KeyShredded")
    def record_key_shredded(self) -> None:
        if not self.erased:
            raise Conflict("a data key is shredded only as part of an erasure")
        self.key_shredded = True

    @event("ErasureCompleted")
    def complete_erasure(self, certificate: dict[str, Any]) -> None:
        if not self.key_shredded:
            raise Conflict("an erasure completes only after the artist's key is shredded")
        if self.erasure_certificate is not None:
            raise Conflict(f"erasure of artist {self.id} is already complete")
        self.erasure_certificate = certificate


class FoundingRoll(Aggregate):
    """The first hundred artists to register. One instance; concurrent seats conflict and retry."""

    ROLL_ID = uuid5(MUSEUM_NAMESPACE, "founding-roll")

    @staticmethod
    def create_id() -> UUID:
        return FoundingRoll.ROLL_ID

    @event("FoundingRollOpened")
    def __init__(self, seats: int) -> None:
        self.seats = seats
        self.members: list[UUID] = []

    @property
    def full(self) -> bool:
        return len(self.members) >= self.seats

    def enrol(self, artist_id: UUID) -> int | None:
        """Give the artist the next seat, or None once the roll is full."""
        if self.full:
            return None
        self._enrol(artist_id=artist_id)
        return len(self.members)

    @event("FoundingArtistEnrolled")
    def _enrol(self, artist_id: UUID) -> None:
        self.members.append(artist_id)


class PseudonymClaim(Aggregate):
    """Keeps pseudonyms unique. Its id is a keyed token, so no name appears in the log in clear."""

    @staticmethod
    def create_id(token: str) -> UUID:
        return uuid5(MUSEUM_NAMESPACE, "pseudonym:" + token)

    @event("PseudonymClaimed")
    def __init__(self, token: str, artist_id: UUID) -> None:
        self.artist_id = artist_id
