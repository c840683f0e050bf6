"""The donation upload's parts, and the answer to it.

A donation is one `multipart/form-data` request (see `DonationUpload`): a plain text field
`donation` holding a JSON `DonationManifest` (label, attestation, consents, tags, and one entry
per stage), and one file part `stage` per stage, in the order of the manifest's `stages`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Annotated

import msgspec
from litestar.datastructures import UploadFile
from litestar.params import KwargDefinition

from ledger.schemas import RIGHTS_STATEMENT_V1
from ledger.views import DonationRead, ReceiptRead, View

Text = Annotated[str, msgspec.Meta(max_length=4000)]


class StageManifest(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """One stage: its role in the process (sketch, attempt, failure, revision, final), when it
    was made (ISO 8601 with a time zone; stages in time order) and its caption."""

    role: Annotated[str, msgspec.Meta(max_length=32)]
    created_at: datetime
    caption: Text = ""


class LabelManifest(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """The museum label: `failure_type` and `emotion` from the museum's vocabularies, the rest
    the donor's own words (sealed with their key)."""

    title: Text
    creative_intent: Text
    failure_type: Annotated[str, msgspec.Meta(max_length=32)]
    emotion: Annotated[str, msgspec.Meta(max_length=32)]
    failure_note: Text
    failure_detail: Text = ""
    era: Text = ""
    social_context: Text = ""


class TagsManifest(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """Lowercase slugs for the collection's diversity report (at most 8 of each)."""

    culture: list[str] = msgspec.field(default_factory=list)
    region: list[str] = msgspec.field(default_factory=list)
    genre: list[str] = msgspec.field(default_factory=list)


class AttestationManifest(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """The donor affirms the rights statement (by default the museum's current one)."""

    affirmed: bool
    statement: Text = RIGHTS_STATEMENT_V1


class DonationManifest(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """Everything of a donation but the image bytes; `stages[i]` describes the i-th `stage`
    file part. `consents`: the purposes allowed from the start (exhibit, train, commercial,
    research)."""

    label: LabelManifest
    stages: list[StageManifest]
    attestation: AttestationManifest | None = None
    tags: TagsManifest = msgspec.field(default_factory=TagsManifest)
    consents: list[str] = msgspec.field(default_factory=lambda: ["exhibit"])


@dataclass
class DonationUpload:
    """The form: `donation` is the JSON of a `DonationManifest` as a plain (filename-less)
    field; `stage` is repeated, one image file (PNG, JPEG or WebP) per stage, in order."""

    donation: Annotated[
        str,
        KwargDefinition(
            description="JSON of a DonationManifest (label, attestation, consents, tags, stages), "
            "as a plain field without a filename."
        ),
    ]
    stage: Annotated[
        list[UploadFile],
        KwargDefinition(description="One image (PNG, JPEG or WebP) per manifest stage, in order."),
    ]


class DonatedRead(View, frozen=True, kw_only=True):
    """The new donation and the receipt of its `DonationMade` event: the event as stored, its
    inclusion path and a signed tree head (check it offline with `museum ledger check-receipt`)."""

    donation: DonationRead
    receipt: ReceiptRead
