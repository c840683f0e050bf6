"""The ledger bench's payloads: donor text and small PNG images from a seeded generator, so
the same sizes are appended run after run (a harness module: only the ledger bench uses it)."""

from __future__ import annotations

import io
import json
import random
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID

from PIL import Image

from ledger.crypto import DataKey, label_context, stage_caption_context
from ledger.domain import Stage
from ledger.schemas import (
    DonationCreate,
    DonationTags,
    MuseumLabel,
    RightsAttestation,
    StageCreate,
)
from ledger.vocabulary import Emotion, FailureType

STAGE_ROLES = ("sketch", "failure", "final")
IMAGE_SIDE = 64
T0 = datetime(2024, 3, 1, 9, 0, tzinfo=UTC)

WORDS = [
    "harbour",
    "dusk",
    "lamp",
    "pier",
    "horizon",
    "boat",
    "ink",
    "wash",
    "paper",
    "line",
    "ochre",
    "smudge",
    "shadow",
    "figure",
    "hand",
    "perspective",
    "vanishing",
    "point",
    "sketch",
    "again",
    "layer",
    "glaze",
    "crack",
    "canvas",
    "brush",
    "charcoal",
    "tone",
    "light",
    "morning",
    "grid",
    "proportion",
    "scale",
    "fold",
    "margin",
    "corner",
    "storm",
    "quiet",
    "window",
    "street",
    "market",
    "colour",
    "mistake",
    "patience",
    "studio",
    "deadline",
    "rework",
    "erase",
    "texture",
    "grain",
    "the",
    "a",
    "of",
    "and",
    "it",
    "I",
    "kept",
    "tried",
]
CULTURES = ("andalusian", "yoruba", "sami", "quechua", "bengali", "maori")
REGIONS = ("southern-europe", "west-africa", "northern-europe", "andes", "south-asia", "oceania")
GENRES = ("seascape", "portrait", "still-life", "landscape", "abstract", "street")


class Payloads:
    """Donor text and small PNG images from a seeded generator: same sizes run after run."""

    def __init__(self, seed: int = 0) -> None:
        self.rng = random.Random(seed)  # noqa: S311 - reproducible test data, not secrets
        self.images = 0

    def text(self, low: int, high: int) -> str:
        target = self.rng.randint(low, high)
        words: list[str] = []
        length = 0
        while length < target:
            word = self.rng.choice(WORDS)
            words.append(word)
            length += len(word) + 1
        return " ".join(words)[:target].strip()

    def label(self) -> MuseumLabel:
        return MuseumLabel(
            title=self.text(15, 60).title(),
            creative_intent=self.text(120, 400),
            failure_type=self.rng.choice(list(FailureType)).value,
            failure_detail=self.text(80, 300),
            emotion=self.rng.choice(list(Emotion)).value,
            era=self.text(8, 24),
            social_context=self.text(40, 200),
            failure_note=self.text(100, 400),
        )

    def label_text(self, label: MuseumLabel) -> str:
        """The JSON the service seals as the label (the same fields as `ledger.intake`)."""
        return json.dumps(
            {
                "title": label.title,
                "creative_intent": label.creative_intent,
                "failure_detail": label.failure_detail,
                "era": label.era,
                "social_context": label.social_context,
                "failure_note": label.failure_note,
            }
        )

    def caption(self) -> str:
        return self.text(60, 240)

    def tags(self) -> DonationTags:
        return DonationTags(
            culture=(self.rng.choice(CULTURES),),
            region=(self.rng.choice(REGIONS),),
            genre=(self.rng.choice(GENRES),),
        )

    def image(self) -> bytes:
        """A 64x64 RGB PNG of seeded noise: tiny, valid, and different every call."""
        self.images += 1
        pixels = random.Random(self.images).randbytes(  # noqa: S311 - reproducible pixels
            IMAGE_SIDE * IMAGE_SIDE * 3
        )
        buffer = io.BytesIO()
        Image.frombytes("RGB", (IMAGE_SIDE, IMAGE_SIDE), pixels).save(buffer, "PNG")
        return buffer.getvalue()

    def donation_request(self, artist_id: UUID) -> DonationCreate:
        stages = tuple(
            StageCreate(role, self.image(), self.caption(), T0 + timedelta(days=index))
            for index, role in enumerate(STAGE_ROLES)
        )
        return DonationCreate(
            artist_id=artist_id,
            stages=stages,
            label=self.label(),
            attestation=RightsAttestation(affirmed=True),
            tags=self.tags(),
            consents=("exhibit", "train"),
        )

    def donation_spec(self, key: DataKey, artist_id: UUID) -> dict[str, Any]:
        """Arguments of `Donation.make` sealed as `ledger.donate` seals them (images stand-in)."""
        donation_id = uuid.uuid4()
        stages = []
        for index, role in enumerate(STAGE_ROLES):
            image_stand_in = self.rng.randbytes(32)
            stages.append(
                Stage(
                    index=index,
                    role=role,
                    created_at=(T0 + timedelta(days=index)).isoformat(),
                    blob_id=self.rng.randbytes(32).hex(),
                    fingerprint=key.fingerprint(image_stand_in),
                    media_type="image/png",
                    width=IMAGE_SIDE,
                    height=IMAGE_SIDE,
                    byte_size=self.rng.randint(12_300, 12_400),
                    caption_sealed=key.seal_text(
                        self.caption(), stage_caption_context(donation_id, index)
                    ),
                )
            )
        label = self.label()
        tags = self.tags()
        return {
            "donation_id": donation_id,
            "artist_id": artist_id,
            "stages": stages,
            "label_sealed": key.seal_text(self.label_text(label), label_context(donation_id)),
            "failure_type": label.failure_type,
            "emotion": label.emotion,
            "tags": {
                "culture": list(tags.culture),
                "region": list(tags.region),
                "genre": list(tags.genre),
            },
            "attestation": {"affirmed": True, "statement_sha256": "0" * 64},
            "consents": ["exhibit", "train"],
        }
