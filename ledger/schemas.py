"""What callers hand the ledger service: plain, typed requests (`XCreate`) and results (`XRead`)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from uuid import UUID

RIGHTS_STATEMENT_V1 = (
    "I made every image in this donation, or hold the rights to donate it, and I allow the museum "
    "to use it for the purposes I consent to."
)


@dataclass(frozen=True)
class ArtistCreate:
    """A new donor. The pseudonym is public while they take part; identity is never public."""

    pseudonym: str
    legal_name: str
    contact: str
    anonymous: bool = False


@dataclass(frozen=True)
class StageCreate:
    """One step of the process: the image bytes exactly as uploaded (PNG, JPEG or WebP)."""

    role: str
    image: bytes
    caption: str
    created_at: datetime


@dataclass(frozen=True)
class MuseumLabel:
    """The exhibit label. `failure_type` and `emotion` are controlled; the rest is the donor's text."""

    title: str
    creative_intent: str
    failure_type: str
    failure_detail: str
    emotion: str
    era: str
    social_context: str
    failure_note: str


@dataclass(frozen=True)
class DonationTags:
    """Short slugs for the diversity report; not personal, so they stay in clear."""

    culture: tuple[str, ...] = ()
    region: tuple[str, ...] = ()
    genre: tuple[str, ...] = ()


@dataclass(frozen=True)
class RightsAttestation:
    """The donor affirms the rights statement; a donation without it is refused."""

    affirmed: bool
    statement: str = RIGHTS_STATEMENT_V1


@dataclass(frozen=True)
class DonationCreate:
    artist_id: UUID
    stages: tuple[StageCreate, ...]
    label: MuseumLabel
    attestation: RightsAttestation | None
    tags: DonationTags = field(default_factory=DonationTags)
    consents: tuple[str, ...] = ("exhibit",)


@dataclass(frozen=True)
class Receipt:
    """Proof that an event is in the log: the leaf, its inclusion path and a signed tree head."""

    event: dict[str, Any]
    inclusion: dict[str, Any]
    head: dict[str, Any]

    def as_dict(self) -> dict[str, Any]:
        return {"event": self.event, "inclusion": self.inclusion, "head": self.head}
