"""A donation upload turned into the ledger's `DonationCreate`, within the domain's limits.

Litestar parses the form while the body streams in: the route's body limit (`MAX_UPLOAD`) is
checked against Content-Length before anything is read and against the bytes received while
they arrive (413 either way), the part limit (`MAX_PARTS`) while parts arrive, and file parts
spool to disk beyond 1 MiB. Here each spooled file's size is checked before it is read into
memory; the ledger then checks every image and field before anything is stored.
"""

from __future__ import annotations

from uuid import UUID

import msgspec
from litestar.datastructures import UploadFile
from litestar.exceptions.http_exceptions import RequestEntityTooLarge

from api.http.donations.schemas import DonationManifest, DonationUpload
from ledger.domain.donation import MAX_STAGES
from ledger.errors import InvalidInput
from ledger.images import MAX_IMAGE_BYTES
from ledger.schemas import (
    DonationCreate,
    DonationTags,
    MuseumLabel,
    RightsAttestation,
    StageCreate,
)

# Room for the manifest (24 captions and a label of a few thousand characters each, as UTF-8)
# and for each part's boundary and headers.
MAX_MANIFEST = 1024 * 1024
PART_OVERHEAD = 4 * 1024
MAX_UPLOAD = MAX_STAGES * (MAX_IMAGE_BYTES + PART_OVERHEAD) + MAX_MANIFEST
MAX_PARTS = MAX_STAGES + 1  # the stages and the manifest


def manifest_of(upload: DonationUpload) -> DonationManifest:
    if len(upload.donation.encode()) > MAX_MANIFEST:
        raise RequestEntityTooLarge(f"the `donation` part is over {MAX_MANIFEST} bytes")
    try:
        return msgspec.json.decode(upload.donation, type=DonationManifest)
    except (msgspec.ValidationError, msgspec.DecodeError) as exc:
        raise InvalidInput(f"the `donation` part is not a valid donation manifest: {exc}") from None


def _read(upload: UploadFile, index: int) -> bytes:
    """The file's bytes, after checking its spooled size: an oversized stage is never read."""
    spooled = upload.file
    spooled.seek(0, 2)
    size = spooled.tell()
    if size > MAX_IMAGE_BYTES:
        raise RequestEntityTooLarge(
            f"the image of stage {index} is {size} bytes; the limit is {MAX_IMAGE_BYTES}"
        )
    spooled.seek(0)
    return spooled.read()


def donation_request(artist_id: UUID, upload: DonationUpload) -> DonationCreate:
    """The ledger's request for this upload; every refusal names the part it is about."""
    return donation_create(artist_id, manifest_of(upload), upload.stage, "`stage` file parts")


def donation_create(
    artist_id: UUID, manifest: DonationManifest, files: list[UploadFile], parts: str
) -> DonationCreate:
    """The ledger's request for a manifest and its stage files (`parts` names them in a
    refusal): the one path of the API's multipart upload and the donate page's form."""
    if len(manifest.stages) > MAX_STAGES:
        raise InvalidInput(
            f"a donation has at most {MAX_STAGES} stages, got {len(manifest.stages)}"
        )
    if len(manifest.stages) != len(files):
        raise InvalidInput(
            f"the manifest describes {len(manifest.stages)} stages but {len(files)} "
            f"{parts} arrived; send one file part per stage, in order"
        )
    stages = tuple(
        StageCreate(
            role=meta.role,
            image=_read(file, index),
            caption=meta.caption,
            created_at=meta.created_at,
        )
        for index, (meta, file) in enumerate(zip(manifest.stages, files, strict=True))
    )
    label = manifest.label
    return DonationCreate(
        artist_id=artist_id,
        stages=stages,
        label=MuseumLabel(
            title=label.title,
            creative_intent=label.creative_intent,
            failure_type=label.failure_type,
            failure_detail=label.failure_detail,
            emotion=label.emotion,
            era=label.era,
            social_context=label.social_context,
            failure_note=label.failure_note,
        ),
        attestation=None
        if manifest.attestation is None
        else RightsAttestation(
            affirmed=manifest.attestation.affirmed, statement=manifest.attestation.statement
        ),
        tags=DonationTags(
            culture=tuple(manifest.tags.culture),
            region=tuple(manifest.tags.region),
            genre=tuple(manifest.tags.genre),
        ),
        consents=tuple(manifest.consents),
    )


def close(upload: DonationUpload) -> None:
    for file in upload.stage:
        file.file.close()
