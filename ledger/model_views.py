"""Read models of the model and attribution services: attributions and their public credit.

Same conventions as `ledger.views`: frozen msgspec Structs whose field names are the JSON keys.
Credit names artists by pseudonym only; per-artist shares keyed by artist id stay in the event.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ledger.views import View


class ItemConsentRead(View, frozen=True, kw_only=True):
    """For compliance: whether a run's item had `train` consent when the run started."""

    item_id: str
    train_consent_at_start: bool


class ScoredItemRead(View, frozen=True, kw_only=True):
    """One of the top-k training items and its raw score."""

    item_id: str
    score: float


class ItemShareRead(View, frozen=True, kw_only=True):
    """An item's exact share of the credit, in parts per million."""

    item_id: str
    ppm: int


class KeyedShareRead(View, frozen=True, kw_only=True):
    """A share rolled up per donation or per stage role."""

    key: str
    ppm: int


class CreditLineRead(View, frozen=True, kw_only=True):
    """Public credit of one artist: pseudonym ("anonymous donor", "erased donor" where that
    applies) and share; no identity."""

    pseudonym: str
    ppm: int


class CreditStabilityRead(View, frozen=True, kw_only=True, omit_defaults=True):
    """How far an attribution's credit agreed across independent projection seeds, as the
    attribution bench measured its method at these settings (recorded with the attribution):
    the credited share mass two seeds agree on per item and per artist (1 = the same payees and
    shares), mean over the bench's generated targets, and the smallest target's per item."""

    method: str
    projection_seeds: int
    item: float
    artist: float
    item_min: float | None = None
    measured: str | None = None


def credit_stability_of(method: str, parameters: Mapping[str, Any]) -> CreditStabilityRead | None:
    """The credit stability recorded in an attribution's parameters (`agreement`), or None
    where none was recorded (an earlier attribution, or settings the bench did not measure)."""
    agreement = parameters.get("agreement")
    if not isinstance(agreement, Mapping):
        return None

    def number(key: str) -> float | None:
        value = agreement.get(key)
        if isinstance(value, bool) or not isinstance(value, int | float):
            return None
        return float(value)

    item, artist, seeds = number("item"), number("artist"), agreement.get("projection_seeds")
    if item is None or artist is None or isinstance(seeds, bool) or not isinstance(seeds, int):
        return None
    measured = agreement.get("measured")
    return CreditStabilityRead(
        method=method,
        projection_seeds=seeds,
        item=item,
        artist=artist,
        item_min=number("item_min"),
        measured=measured if isinstance(measured, str) else None,
    )


class AttributionRead(View, frozen=True, kw_only=True, omit_defaults=True):
    """A recorded attribution as a reader sees it: items, shares and credit lines.

    `query_seconds` is present only when the attribution was just scored.
    """

    attribution_id: str
    generation_id: str
    model_version: str
    method: str
    parameters: dict[str, Any]
    index_hash: str
    k: int
    top_k: list[ScoredItemRead]
    shares_ppm: list[ItemShareRead]
    per_donation: list[KeyedShareRead]
    per_role: list[KeyedShareRead]
    credits: list[CreditLineRead]
    # The seeds of its projections, and how stable its credit is across them (None: not
    # recorded, for attributions before issue 20 or settings the bench did not measure).
    projection_seeds: list[int] | None = None
    credit_stability: CreditStabilityRead | None = None
    query_seconds: float | None = None


class ProgressRead(View, frozen=True, kw_only=True):
    """How far a run has trained: steps done over all shards, of `total`."""

    step: int
    total: int


class CheckpointRead(View, frozen=True, kw_only=True):
    """A saved checkpoint of one shard, by step and content hash (what attribution reads)."""

    shard: int
    step: int
    sha256: str


class RunRead(View, frozen=True, kw_only=True):
    """A training run: its state, progress, latest loss, how many items it used, checkpoints.

    Items are counted, not listed: the item ids and the consents relied on are compliance's
    report. `failure` is the reason a failed run gave."""

    run_id: str
    state: str
    preset: str | None
    seed: int
    shards: int
    steps: int | None
    items: int
    progress: ProgressRead
    loss: float | None
    final_loss: float | None
    checkpoints: list[CheckpointRead]
    deployed: bool
    started_at: str
    updated_at: str
    failure: str | None
    variant: str = "stage"


class ModelVersionRead(View, frozen=True, kw_only=True):
    """A model version: a completed run, and whether it is the one that generates now."""

    version: str
    preset: str | None
    items: int
    shards: int
    final_loss: float | None
    completed_at: str
    deployed: bool
    variant: str = "stage"


class ParentRead(View, frozen=True, kw_only=True):
    """What a proposal of the continuation model continues: a donated stage (`donation_id`,
    `stage_index`, the stage's content `fingerprint`), an earlier proposal (`generation_id`,
    its `output_sha256`) or an uploaded image (its `sha256`)."""

    kind: str
    donation_id: str | None = None
    stage_index: int | None = None
    fingerprint: str | None = None
    generation_id: str | None = None
    output_sha256: str | None = None
    sha256: str | None = None


class GenerationRead(View, frozen=True, kw_only=True):
    """A generated image's record: model version, conditioning, seed and output digest; for a
    proposal of the continuation model also its failure type and its parent.

    Nothing personal: the credit of the image is its attribution."""

    generation_id: str
    model_version: str
    checkpoint_hashes: list[str]
    role: str
    emotion: str
    seed: int
    steps: int
    output_sha256: str
    made_at: str
    failure_type: str | None = None
    parent: ParentRead | None = None


class CredentialVersionRead(View, frozen=True, kw_only=True):
    """One signed manifest version of a generated image: its file, digest and what it carries."""

    version: int
    manifest_label: str
    sha256: str
    attribution_id: str | None


class ProposalsRead(View, frozen=True, kw_only=True):
    """Next stages the continuation model proposed for one parent: `series` holds one list per
    seed, one proposal long, or (rolled out to a final) a whole proposed series, each
    generation's parent the one before it."""

    parent: ParentRead
    model_version: str
    series: list[list[GenerationRead]]
