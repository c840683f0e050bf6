"""The erasure certificate's format, written once for its builder and its checker.

`ledger.erasure_certificate` builds and signs the document; `ledger.certificate_check` verifies
it offline. Both read the kind, the signature's context, the roles of the proven events and the
document's fields (strict models: each field of the right type and range) here.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Annotated, Any

from pydantic import Field

from ledger.proof_parts import Count, EventPart, Hash, HeadPart, InclusionPart, Part, Signature

CERTIFICATE_KIND = "failure-museum/erasure-certificate/v1"
SIGNATURE_CONTEXT = b"failure-museum erasure certificate v1\n"

# What each proven event shows (its `shows`), and the event class (the part of its stored topic
# after the module) it must be. The module is left out so that events stored before a module
# moved (`ledger.topics`) still prove what they showed.
ROLES: dict[str, str] = {
    "erasure requested": "Artist.ErasureRequested",
    "key destroyed": "Artist.KeyShredded",
    "donation withdrawn": "Donation.DonationWithdrawn",
    "stages and fingerprints": "Donation.DonationMade",
    "retraining started": "TrainingRun.TrainingRunStarted",
    "retraining planned": "TrainingRun.RetrainingPlanned",
    "checkpoint saved": "TrainingRun.CheckpointSaved",
    "retraining completed": "TrainingRun.TrainingRunCompleted",
    "reused checkpoint trained": "TrainingRun.TrainingRunStarted",
    "model version trained": "TrainingRun.TrainingRunStarted",
    "model version deployed": "ModelRegistry.ModelDeployed",
    "continuation model withdrawn": "ModelRegistry.ModelVariantWithdrawn",
    "continuation model trained": "TrainingRun.TrainingRunStarted",
    "continuation model deployed": "ModelRegistry.ModelVariantDeployed",
}


def signed_bytes(body: Mapping[str, Any]) -> bytes:
    """What the certificate's signature covers: its body (everything but `signature`) as
    canonical JSON (sorted keys, no spaces), after a context line."""
    unsigned = {k: v for k, v in body.items() if k != "signature"}
    text = json.dumps(unsigned, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return SIGNATURE_CONTEXT + text.encode("utf-8")


def event_class(topic: str) -> str:
    """`module:Class.Event` → `Class.Event`."""
    return topic.rpartition(":")[2]


# --- the document's fields, as the checker reads them ------------------------------------------

IdText = Annotated[str, Field(pattern=r"^[0-9a-fA-F]{8}(-?[0-9a-fA-F]{4}){3}-?[0-9a-fA-F]{12}$")]
ShardNumber = Annotated[int, Field(ge=0, le=1 << 20)]
MANY = 1 << 20  # an upper bound on any list, far above a real museum's


class ItemPart(Part):
    item_id: str
    donation_id: IdText
    stage_index: Count
    fingerprint: Hash


class ReusedPart(Part):
    shard: ShardNumber
    checkpoint_hash: Hash
    trained_by: IdText


class RunPart(Part):
    run_id: IdText
    shards: Annotated[int, Field(ge=1, le=1 << 20)]
    base_version: IdText | None
    shards_retrained: Annotated[list[ShardNumber], Field(max_length=MANY)]
    shards_reused: Annotated[list[ReusedPart], Field(max_length=MANY)]
    shards_dropped: Annotated[list[ShardNumber], Field(max_length=MANY)]
    checkpoints: Annotated[list[Hash], Field(max_length=MANY)]


class ModelPart(Part):
    version: IdText
    shards: Annotated[int, Field(ge=1, le=1 << 20)]
    training_items: Count
    holds_erased_fingerprints: bool


class ContinuationPart(Part):
    """The process continuation model at issue: the versions this erasure withdrew, and the
    one deployed then (if any), whose recorded stage pairs hold none of the erased stages."""

    withdrawn: Annotated[list[IdText], Field(max_length=MANY)]
    version: IdText | None
    training_items: Count | None
    holds_erased_fingerprints: bool


class ProvenPart(Part):
    shows: str
    event: EventPart
    inclusion: InclusionPart


class CertificateDocument(Part):
    kind: str
    artist_id: IdText
    requested_at: str
    deadline: str
    donations_withdrawn: Annotated[list[IdText], Field(max_length=MANY)]
    items: Annotated[list[ItemPart], Field(max_length=MANY)]
    key_shredded: bool
    retraining_runs: Annotated[list[IdText], Field(max_length=MANY)]
    retraining: Annotated[list[RunPart], Field(max_length=MANY)]
    model_version: ModelPart | None
    continuation_model: ContinuationPart | None = None  # certificates before the variant: none
    events: Annotated[list[ProvenPart], Field(min_length=1, max_length=MANY)]
    tree_head: HeadPart
    public_key: str
    signature: Signature
