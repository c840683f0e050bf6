"""The drafts a demo collection hands out: donations before their artist is registered."""

from __future__ import annotations

from dataclasses import dataclass
from uuid import UUID

from ledger.schemas import (
    ArtistCreate,
    DonationCreate,
    DonationTags,
    MuseumLabel,
    RightsAttestation,
    StageCreate,
)

# --------------------------------------------------------------------------------------------
# Public data classes
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class DonationDraft:
    """A donation before its artist exists in the ledger (the artist id is not known yet).

    `style` names the visual style the images were drawn in, and `digit` the handwritten digit
    class of a `digits_collection` item (None elsewhere), so that tests and benchmarks can read
    the ground truth back without parsing label text.
    """

    stages: tuple[StageCreate, ...]
    label: MuseumLabel
    tags: DonationTags
    consents: tuple[str, ...]
    style: str
    digit: int | None = None


@dataclass(frozen=True)
class ArtistDraft:
    """A donor and everything they give, ready to be registered and donated in order."""

    artist: ArtistCreate
    style: str
    donations: tuple[DonationDraft, ...]


def donation_request(artist_id: UUID, draft: DonationDraft) -> DonationCreate:
    """Turn a draft into the ledger's request once the artist is registered; the demo donors
    affirm the rights statement, since the collection is made up for the purpose."""
    return DonationCreate(
        artist_id=artist_id,
        stages=draft.stages,
        label=draft.label,
        attestation=RightsAttestation(affirmed=True),
        tags=draft.tags,
        consents=draft.consents,
    )
