"""A donated process series, its consents and its withdrawal."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, fields
from datetime import datetime
from typing import Any
from uuid import UUID

from eventsourcing.domain import Aggregate, DomainEvent, event

from ledger.errors import ErasedError, InvalidInput, MissingAttestation
from ledger.vocabulary import Emotion, FailureType, Purpose, StageRole, parse

MAX_STAGES = 24


@dataclass(frozen=True)
class Stage:
    """One stage as the ledger records it: facts about the image, never the image itself."""

    index: int
    role: str
    created_at: str
    blob_id: str
    fingerprint: str
    media_type: str
    width: int
    height: int
    byte_size: int
    caption_sealed: str

    def as_dict(self) -> dict[str, Any]:
        # Shallow on purpose: every field is immutable, and dataclasses.asdict deep-copies.
        return {f.name: getattr(self, f.name) for f in fields(self)}


def check_stages(stages: Sequence[Stage]) -> None:
    if not stages:
        raise InvalidInput("a donation needs at least one stage")
    if len(stages) > MAX_STAGES:
        raise InvalidInput(f"a donation has at most {MAX_STAGES} stages, got {len(stages)}")
    for position, stage in enumerate(stages):
        if stage.index != position:
            raise InvalidInput(
                f"stage {position} carries index {stage.index}; stages are numbered 0..n-1"
            )
        parse(StageRole, stage.role, f"role of stage {position}")
    times = [datetime.fromisoformat(stage.created_at) for stage in stages]
    for position in range(1, len(times)):
        if times[position] <= times[position - 1]:
            raise InvalidInput(
                f"stages are out of order: stage {position} ({stages[position].created_at}) is not "
                f"later than stage {position - 1} ({stages[position - 1].created_at})"
            )
    finals = [s.index for s in stages if s.role == StageRole.FINAL]
    if len(finals) > 1 or (finals and finals[0] != len(stages) - 1):
        raise InvalidInput("a process has at most one 'final' stage and it must be the last")
    seen: dict[str, int] = {}
    for stage in stages:
        if stage.fingerprint in seen:
            raise InvalidInput(
                f"stage {stage.index} repeats the image of stage {seen[stage.fingerprint]}; "
                "each stage must show a different image"
            )
        seen[stage.fingerprint] = stage.index


def check_consents(purposes: Iterable[str]) -> list[str]:
    parsed = [parse(Purpose, p, "consent purpose") for p in purposes]
    if len(set(parsed)) != len(parsed):
        raise InvalidInput("a consent purpose is listed twice")
    return sorted(parsed)


class Donation(Aggregate):
    """A process series with its museum label. Free text arrives sealed; vocabularies in clear."""

    class DonationMade(Aggregate.Created):
        artist_id: UUID
        stages: list[dict[str, Any]]
        label_sealed: str
        failure_type: str
        emotion: str
        tags: dict[str, list[str]]
        attestation: dict[str, Any]
        consents: list[str]

    class ConsentGranted(Aggregate.Event):
        purpose: str

    class ConsentRevoked(Aggregate.Event):
        purpose: str

    class DonationWithdrawn(Aggregate.Event):
        pass

    @event(DonationMade)
    def __init__(
        self,
        id: UUID,
        artist_id: UUID,
        stages: list[dict[str, Any]],
        label_sealed: str,
        failure_type: str,
        emotion: str,
        tags: dict[str, list[str]],
        attestation: dict[str, Any],
        consents: list[str],
    ) -> None:
        self.artist_id = artist_id
        self.stages = [Stage(**s) for s in stages]
        self.label_sealed = label_sealed
        self.failure_type = failure_type
        self.emotion = emotion
        self.tags = tags
        self.attestation = attestation
        self.consents: set[str] = set(consents)
        self.withdrawn = False

    @classmethod
    def make(
        cls,
        donation_id: UUID,
        artist_id: UUID,
        stages: Sequence[Stage],
        label_sealed: str,
        failure_type: str,
        emotion: str,
        tags: dict[str, list[str]],
        attestation: dict[str, Any] | None,
        consents: Iterable[str],
    ) -> Donation:
        """Check every rule before the creation event exists, so a bad donation records nothing."""
        if not attestation or attestation.get("affirmed") is not True:
            raise MissingAttestation("a donation needs the donor's affirmed rights attestation")
        check_stages(stages)
        return cls(
            id=donation_id,
            artist_id=artist_id,
            stages=[s.as_dict() for s in stages],
            label_sealed=label_sealed,
            failure_type=parse(FailureType, failure_type, "failure type"),
            emotion=parse(Emotion, emotion, "emotion"),
            tags=tags,
            attestation=attestation,
            consents=check_consents(consents),
        )

    def check_not_withdrawn(self) -> None:
        if self.withdrawn:
            raise ErasedError(
                f"donation {self.id} was withdrawn for erasure; its consents are final"
            )

    def grant(self, purpose: str) -> bool:
        """Grant consent; returns False (and records nothing) when it already holds."""
        purpose = parse(Purpose, purpose, "consent purpose")
        self.check_not_withdrawn()
        if purpose in self.consents:
            return False
        self._grant(purpose=purpose)
        return True

    def revoke(self, purpose: str) -> bool:
        """Revoke consent; returns False (and records nothing) when it was not held."""
        purpose = parse(Purpose, purpose, "consent purpose")
        self.check_not_withdrawn()
        if purpose not in self.consents:
            return False
        self._revoke(purpose=purpose)
        return True

    @event(ConsentGranted)
    def _grant(self, purpose: str) -> None:
        self.consents.add(purpose)

    @event(ConsentRevoked)
    def _revoke(self, purpose: str) -> None:
        self.consents.discard(purpose)

    def withdraw_for_erasure(self) -> None:
        """Revoke every consent (each its own event) and leave the exhibition for good."""
        self.check_not_withdrawn()
        for purpose in sorted(self.consents):
            self._revoke(purpose=purpose)
        self._withdraw()

    @event(DonationWithdrawn)
    def _withdraw(self) -> None:
        self.withdrawn = True
        self.consents.clear()

    def consent_holds(self, purpose: str) -> bool:
        return purpose in self.consents and not self.withdrawn


def consent_at(events: Iterable[DomainEvent], purpose: str, at: datetime) -> bool:
    """Replay a donation's events up to `at` (inclusive) to answer "did consent hold then?"."""
    holds = False
    for domain_event in events:
        if domain_event.timestamp > at:
            break
        if isinstance(domain_event, Donation.DonationMade):
            holds = purpose in domain_event.consents
        elif isinstance(domain_event, Donation.ConsentGranted | Donation.ConsentRevoked):
            if domain_event.purpose == purpose:
                holds = isinstance(domain_event, Donation.ConsentGranted)
        elif isinstance(domain_event, Donation.DonationWithdrawn):
            holds = False
    return holds


def consent_trail(events: Iterable[DomainEvent]) -> list[dict[str, Any]]:
    """Every consent change of a donation, for compliance: what, when, at which version."""
    trail: list[dict[str, Any]] = []
    for domain_event in events:
        if isinstance(domain_event, Donation.DonationMade):
            trail += [
                {"purpose": p, "change": "granted"} | _when(domain_event)
                for p in domain_event.consents
            ]
        elif isinstance(domain_event, Donation.ConsentGranted):
            trail.append(
                {"purpose": domain_event.purpose, "change": "granted"} | _when(domain_event)
            )
        elif isinstance(domain_event, Donation.ConsentRevoked):
            trail.append(
                {"purpose": domain_event.purpose, "change": "revoked"} | _when(domain_event)
            )
    return trail


def _when(domain_event: DomainEvent) -> dict[str, Any]:
    return {"at": domain_event.timestamp.isoformat(), "version": domain_event.originator_version}
