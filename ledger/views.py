"""Read models of the ledger: what its services hand to callers outside the package.

Frozen msgspec Structs, one set for every front end: the CLI's `--json` prints
`msgspec.to_builtins(view)`, job results pickle them, and Litestar derives OpenAPI schemas from
them. Field names are the keys the JSON has always carried, in the same order.

Identity (legal name, contact) lives only in `ArtistIdentityRead`, which only the artist's own
and compliance's calls return; every other view names an artist by pseudonym.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any
from uuid import UUID

import msgspec

from ledger.crypto import DataKey, label_context, stage_caption_context
from ledger.domain import Artist, Donation

ERASED_DONOR = "erased donor"
# How public credit names an artist who chose anonymity: by no name.
ANONYMOUS_DONOR = "anonymous donor"


class View(msgspec.Struct, frozen=True, kw_only=True):
    """Base of every read model: immutable, keyword-built, serialised by msgspec."""

    def as_builtins(self) -> dict[str, Any]:
        """The view as plain JSON data (the `--json` output)."""
        data: dict[str, Any] = msgspec.to_builtins(self)
        return data


class ArtistRead(View, frozen=True, kw_only=True):
    """What may be shown publicly: pseudonym (or "erased donor"), founding, donations, erasure."""

    artist_id: str
    pseudonym: str
    anonymous: bool
    founding: bool
    founding_number: int | None
    donations: list[str]
    erased: bool
    erasure_deadline: str | None
    erasure_completed: bool


class ArtistIdentityRead(View, frozen=True, kw_only=True):
    """Legal name and contact: for the artist themself, payouts and compliance only."""

    legal_name: str
    contact: str


class LabelRead(View, frozen=True, kw_only=True, omit_defaults=True):
    """The museum label; the sealed fields are absent (not null) once the artist is erased."""

    failure_type: str
    emotion: str
    title: str | None = None
    creative_intent: str | None = None
    failure_detail: str | None = None
    era: str | None = None
    social_context: str | None = None
    failure_note: str | None = None


class StageRead(View, frozen=True, kw_only=True):
    """One stage of a donation; the caption is None once the artist is erased."""

    index: int
    role: str
    created_at: str
    media_type: str
    width: int
    height: int
    blob_id: str
    caption: str | None


class DonationRead(View, frozen=True, kw_only=True):
    """A donation as the museum shows it: label, tags, stages, consents, withdrawal."""

    donation_id: str
    artist_id: str
    label: LabelRead
    tags: dict[str, list[str]]
    stages: list[StageRead]
    consents: list[str]
    withdrawn: bool
    erased: bool


class ConsentChangeRead(View, frozen=True, kw_only=True):
    """One consent change of a donation's trail, for compliance: what, when, which version."""

    purpose: str
    change: str
    at: str
    version: int


class ErasureRead(View, frozen=True, kw_only=True, omit_defaults=True):
    """Where an erasure stands, with its certificate once complete.

    While it is open, the erasure service (`ledger.erasures`) adds what it waits for: the
    deployed version that still holds the artist's stages (`awaiting_retraining_of`), when the
    retraining batch is due or which run serves it now, the seconds left to the deadline
    (negative once past it) and whether it is overdue.
    """

    artist_id: str
    requested_at: str | None
    deadline: str | None
    key_shredded: bool
    completed: bool
    certificate: dict[str, Any] | None
    awaiting_retraining_of: list[str] | None = None
    retraining_due_at: str | None = None
    retraining_run: str | None = None
    time_left_seconds: int | None = None
    overdue: bool = False


def _iso(moment: datetime | None) -> str | None:
    return None if moment is None else moment.isoformat()


def artist_read(artist_id: UUID, artist: Artist, pseudonym: str) -> ArtistRead:
    return ArtistRead(
        artist_id=str(artist_id),
        pseudonym=pseudonym,
        anonymous=artist.anonymous,
        founding=artist.founding,
        founding_number=artist.founding_number,
        donations=[str(d) for d in artist.donation_ids],
        erased=artist.erased,
        erasure_deadline=_iso(artist.erasure_deadline),
        erasure_completed=artist.erasure_certificate is not None,
    )


def donation_read(donation_id: UUID, donation: Donation, key: DataKey | None) -> DonationRead:
    """The donation, its sealed text opened with `key`, or left out when the key is shredded."""
    sealed: dict[str, str] = {}
    if key is not None:
        sealed = json.loads(key.unseal_text(donation.label_sealed, label_context(donation_id)))
    stages = [
        StageRead(
            index=stage.index,
            role=stage.role,
            created_at=stage.created_at,
            media_type=stage.media_type,
            width=stage.width,
            height=stage.height,
            blob_id=stage.blob_id,
            caption=None
            if key is None
            else key.unseal_text(
                stage.caption_sealed, stage_caption_context(donation_id, stage.index)
            ),
        )
        for stage in donation.stages
    ]
    return DonationRead(
        donation_id=str(donation_id),
        artist_id=str(donation.artist_id),
        label=LabelRead(failure_type=donation.failure_type, emotion=donation.emotion, **sealed),
        tags=donation.tags,
        stages=stages,
        consents=sorted(donation.consents),
        withdrawn=donation.withdrawn,
        erased=key is None,
    )


def erasure_read(artist_id: UUID, artist: Artist) -> ErasureRead:
    return ErasureRead(
        artist_id=str(artist_id),
        requested_at=_iso(artist.erasure_requested_at),
        deadline=_iso(artist.erasure_deadline),
        key_shredded=artist.key_shredded,
        completed=artist.erasure_certificate is not None,
        certificate=artist.erasure_certificate,
    )


# --- the verifiable log --------------------------------------------------------------------
# A receipt is handed to outsiders and checked offline (`ledger.receipt`): these fields, in this
# order, are its JSON format, the same as before the views existed.


class EventRead(View, frozen=True, kw_only=True):
    """A stored event exactly as it was hashed into its leaf (state as base64)."""

    notification_id: int
    originator_id: str
    originator_version: int
    topic: str
    state: str


class InclusionRead(View, frozen=True, kw_only=True):
    """The audit path from a leaf up to the root of a tree of `tree_size` leaves."""

    leaf_index: int
    tree_size: int
    path: list[str]


class HeadRead(View, frozen=True, kw_only=True):
    """A signed tree head (`SignedTreeHead.as_dict`)."""

    head_id: int | None
    tree_size: int
    root_hash: str
    timestamp_ms: int
    timestamp: str
    key_id: str
    signature: str


class ReceiptRead(View, frozen=True, kw_only=True):
    """Proof that an event is in the log: its bytes, inclusion path and a signed head."""

    event: EventRead
    inclusion: InclusionRead
    head: HeadRead
    public_key: str


class SigningKeyRead(View, frozen=True, kw_only=True):
    """One of the museum's tree-head keys, current or retired: what checks a head it signed."""

    generation: int
    key_id: str
    public_key: str
    first_notification_id: int  # the first event sealed under this generation (0: the first)
    rotated_at_ms: int | None
    current: bool


class ConsistencyRead(View, frozen=True, kw_only=True):
    """Proof that the log of `new_size` leaves extends the one of `old_size` leaves."""

    old_size: int
    new_size: int
    old_root: str
    new_root: str
    path: list[str]


class AuditRead(View, frozen=True, kw_only=True, omit_defaults=True):
    """What `museum ledger verify` checked: the log, its heads, blobs, keys, erasures (every
    certificate verified; no version deployed since holds a certified erasure's stages; open
    ones still held by the deployed version wait for their retraining), outside proofs and
    (when asked) the read models against a rebuild. Built only when every check passed."""

    ok: bool
    events: int
    signed_heads_checked: int
    seconds: float
    events_per_second: int
    latest_head: dict[str, Any] | None
    leaves_attesting_a_head: int
    quoted_heads_checked: int
    head_rule: str
    blobs_checked: int
    blobs_referenced: int
    artists: int
    keys_present: int
    keys_shredded: int
    erasures_certified: int
    certificates_verified: int
    deployed_versions_checked: int
    erasures_awaiting_retraining: int
    against: list[dict[str, Any]]
    projections: dict[str, dict[str, Any]] | None = None


class CosignatureRead(View, frozen=True, kw_only=True):
    """A witness cosignature the museum collected and verified (`museum ledger cosign`)."""

    witness: str
    tree_size: int
    timestamp: int
    line: str


class ProofCheckRead(View, frozen=True, kw_only=True):
    """What `museum ledger check-proof` verified of a c2sp.org/tlog-proof file."""

    index: int
    tree_size: int
    origin: str
    entry_bytes: int
    witnesses: list[str]
