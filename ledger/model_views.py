"""Read models of the model and attribution services: attributions and their public credit.

Same conventions as `ledger.views`: frozen msgspec Structs whose field names are the JSON keys.
Credit names artists by pseudonym only; per-artist shares keyed by artist id stay in the event.
"""

from __future__ import annotations

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
    """Public credit of one artist: pseudonym (or "erased donor") and share; no identity."""

    pseudonym: str
    ppm: int


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
    query_seconds: float | None = None
