"""A donation request checked and sealed before any event exists.

The ledger's `donate` records what `seal_donation` returns: every text limit, tag slug, stage
time and image is checked here, in this order (label, stages, tags, attestation), and the
personal parts are sealed with the artist's data key under their own context strings.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from typing import Any
from uuid import UUID

from ledger.crypto import DataKey, label_context, stage_caption_context, stage_image_context
from ledger.domain import Stage
from ledger.errors import InvalidInput
from ledger.images import inspect_image
from ledger.schemas import DonationCreate, DonationTags, MuseumLabel
from ledger.validation import aware, slug, text

MAX_LABEL_TEXT = 2000
MAX_CAPTION = 1000
MAX_TAGS = 8


@dataclass(frozen=True)
class SealedDonation:
    """What `DonationMade` carries (sealed label, stages, tags, attestation) and the image blobs."""

    label: str
    stages: list[Stage]
    images: list[bytes]
    tags: dict[str, list[str]]
    attestation: dict[str, Any] | None


def seal_donation(key: DataKey, donation_id: UUID, request: DonationCreate) -> SealedDonation:
    """Check every field of the request and seal its personal parts; nothing is stored."""
    label = _seal_label(key, donation_id, request.label)
    images: list[bytes] = []
    stages: list[Stage] = []
    for index, stage in enumerate(request.stages):
        facts = inspect_image(stage.image, f"image of stage {index}")
        sealed = key.seal_bytes(stage.image, stage_image_context(donation_id, index))
        images.append(sealed)
        caption = text(
            stage.caption, f"caption of stage {index}", limit=MAX_CAPTION, required=False
        )
        stages.append(
            Stage(
                index=index,
                role=stage.role,
                created_at=aware(stage.created_at, f"time of stage {index}").isoformat(),
                blob_id=hashlib.sha256(sealed).hexdigest(),
                fingerprint=key.fingerprint(stage.image),
                media_type=facts.media_type,
                width=facts.width,
                height=facts.height,
                byte_size=facts.byte_size,
                caption_sealed=key.seal_text(caption, stage_caption_context(donation_id, index)),
            )
        )
    tags = _tags(request.tags)
    attestation = None
    if request.attestation is not None:
        statement = text(request.attestation.statement, "rights statement", limit=MAX_LABEL_TEXT)
        attestation = {
            "affirmed": request.attestation.affirmed,
            "statement_sha256": hashlib.sha256(statement.encode()).hexdigest(),
        }
    return SealedDonation(label, stages, images, tags, attestation)


def _seal_label(key: DataKey, donation_id: UUID, label: MuseumLabel) -> str:
    fields = {
        "title": text(label.title, "title", limit=200),
        "creative_intent": text(label.creative_intent, "creative intent", limit=MAX_LABEL_TEXT),
        "failure_detail": text(
            label.failure_detail, "failure detail", limit=MAX_LABEL_TEXT, required=False
        ),
        "era": text(label.era, "era", limit=200, required=False),
        "social_context": text(
            label.social_context, "social context", limit=MAX_LABEL_TEXT, required=False
        ),
        "failure_note": text(label.failure_note, "failure note", limit=MAX_LABEL_TEXT),
    }
    return key.seal_text(json.dumps(fields), label_context(donation_id))


def _tags(tags: DonationTags) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for name in ("culture", "region", "genre"):
        values = list(getattr(tags, name))
        if len(values) > MAX_TAGS:
            raise InvalidInput(f"at most {MAX_TAGS} {name} tags")
        out[name] = sorted({slug(value, f"{name} tag") for value in values})
    return out
