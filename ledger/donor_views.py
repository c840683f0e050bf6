"""Read models of what donors and their audience see: consent status, feedback, certificates.

Like `ledger.views`, frozen msgspec Structs for every front end (the API's OpenAPI schemas are
derived from them). None of them carries personal data.
"""

from __future__ import annotations

from typing import Any

import msgspec

from ledger.certificate_format import CERTIFICATE_KIND
from ledger.errors import Conflict
from ledger.views import ConsentChangeRead, EventRead, HeadRead, InclusionRead, View


class ConsentStatusRead(View, frozen=True, kw_only=True):
    """Whether each purpose holds now, and every change since the donation was made."""

    donation_id: str
    consents: dict[str, bool]
    withdrawn: bool
    history: list[ConsentChangeRead]


class ConsentChangedRead(View, frozen=True, kw_only=True):
    """The answer to a grant or revoke: `changed` is False when it already was so (nothing
    recorded), and `consents` is the status after the change."""

    donation_id: str
    purpose: str
    granted: bool
    changed: bool
    consents: dict[str, bool]


class ConsentAtRead(View, frozen=True, kw_only=True):
    """Did consent for `purpose` hold at `at`? Answered by replaying the donation's events."""

    donation_id: str
    purpose: str
    at: str
    granted: bool


class FeedbackRead(View, frozen=True, kw_only=True):
    """Process-centred feedback on a stage: what was tried there, what could be tried next."""

    feedback_id: str
    target_kind: str
    target_id: str
    stage_index: int | None
    tried: str
    next_try: str
    author: str
    given_at: str


class CertificateItemRead(View, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """A donated stage that was erased, by its content fingerprint (keyed with the artist's
    destroyed key, so it names the stage without revealing the image)."""

    item_id: str
    donation_id: str
    stage_index: int
    fingerprint: str


class ReusedShardRead(View, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """A shard a retraining run did not train again: its checkpoint, by hash, and the run that
    trained it."""

    shard: int
    checkpoint_hash: str
    trained_by: str


class RetrainingSummaryRead(View, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """What a retraining run that served the erasure did, shard by shard; `checkpoints` are
    the new version's final checkpoint hashes in shard order (a dropped shard has none)."""

    run_id: str
    shards: int
    base_version: str | None
    shards_retrained: list[int]
    shards_reused: list[ReusedShardRead]
    shards_dropped: list[int]
    checkpoints: list[str]


class CertifiedModelRead(View, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """The model version deployed when the certificate was issued."""

    version: str
    shards: int
    training_items: int
    holds_erased_fingerprints: bool


class CertifiedContinuationRead(View, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """The process continuation model at issue: the versions this erasure withdrew, and the one
    deployed then (None when none was), whose stage pairs hold none of the erased stages."""

    withdrawn: list[str]
    version: str | None
    training_items: int | None
    holds_erased_fingerprints: bool


class ProvenEventRead(View, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """One event behind a claim: what it shows, its stored bytes and its inclusion path."""

    shows: str
    event: EventRead
    inclusion: InclusionRead


class ErasureCertificateRead(
    View, frozen=True, kw_only=True, forbid_unknown_fields=True, omit_defaults=True
):
    """The signed certificate of a completed erasure (`ledger.erasure_certificate`), every field
    as signed, so the download verifies offline: `museum ledger check-certificate FILE
    --public-key HEX`. It holds no personal data: ids, fingerprints and the events' stored
    bytes, whose personal fields are sealed with the artist's destroyed key."""

    kind: str
    artist_id: str
    requested_at: str
    deadline: str
    donations_withdrawn: list[str]
    items: list[CertificateItemRead]
    key_shredded: bool
    retraining_runs: list[str]
    retraining: list[RetrainingSummaryRead]
    model_version: CertifiedModelRead | None
    events: list[ProvenEventRead]
    # Absent from certificates issued before the continuation model (left out, as signed).
    continuation_model: CertifiedContinuationRead | None = None
    tree_head: HeadRead
    public_key: str
    signature: str


class CertificateCheckRead(View, frozen=True, kw_only=True):
    """What `museum ledger check-certificate` proved: every claim held against the events, each
    event was under the signed head, and the museum's key (`key_id`) signed it all."""

    artist_id: str
    donations: int
    items: int
    retraining_runs: list[str]
    shards_reused: int
    model_version: str | None
    events_checked: int
    tree_size: int
    root_hash: str
    key_id: str


def certificate_read(certificate: dict[str, Any]) -> ErasureCertificateRead:
    """The recorded certificate as its view; Conflict for one recorded before certificates
    were signed (it has no proofs to show)."""
    if certificate.get("kind") != CERTIFICATE_KIND:
        raise Conflict(
            "this erasure was certified before certificates were signed: it has no proofs to "
            "download (its tree head is in the erasure status)"
        )
    return msgspec.convert(certificate, ErasureCertificateRead)
