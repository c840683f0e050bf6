"""Small, valid requests for tests; each test changes only what it is about."""

from __future__ import annotations

import io
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from uuid import UUID

from PIL import Image

from ledger.schemas import (
    ArtistCreate,
    DonationCreate,
    DonationTags,
    MuseumLabel,
    RightsAttestation,
    StageCreate,
)

T0 = datetime(2024, 3, 1, 9, 0, tzinfo=UTC)


def png(shade: int, size: int = 16, fmt: str = "PNG") -> bytes:
    image = Image.new("L", (size, size), shade % 256)
    image.putpixel((shade % size, (shade // size) % size), (shade + 128) % 256)
    buffer = io.BytesIO()
    image.save(buffer, fmt)
    return buffer.getvalue()


def artist(pseudonym: str = "Ink Moth", **changes: object) -> ArtistCreate:
    return replace(ArtistCreate(pseudonym, "Ana Lucía Ruiz", "ana.ruiz@example.org"), **changes)


def label(**changes: object) -> MuseumLabel:
    base = MuseumLabel(
        title="Harbour at dusk",
        creative_intent="Catch the moment the lamps come on",
        failure_type="perspective",
        failure_detail="the pier bends the wrong way",
        emotion="frustration",
        era="late 2010s",
        social_context="painted during the port strike",
        failure_note="I kept fixing the boats and forgot the horizon.",
    )
    return replace(base, **changes)


def stages(*roles: str, shade: int = 10) -> tuple[StageCreate, ...]:
    roles = roles or ("sketch", "failure", "final")
    return tuple(
        StageCreate(role, png(shade + 37 * i), f"{role} number {i}", T0 + timedelta(days=i))
        for i, role in enumerate(roles)
    )


def donation(artist_id: UUID, **changes: object) -> DonationCreate:
    base = DonationCreate(
        artist_id=artist_id,
        stages=stages(),
        label=label(),
        attestation=RightsAttestation(affirmed=True),
        tags=DonationTags(
            culture=("andalusian",), region=("southern-europe",), genre=("seascape",)
        ),
        consents=("exhibit", "train"),
    )
    return replace(base, **changes)
