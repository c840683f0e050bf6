"""What reading a file's content credentials found: typed, frozen views (JSON keys in order)."""

from __future__ import annotations

from typing import Any

import msgspec

from ledger.model_views import CredentialVersionRead, CreditLineRead
from ledger.views import View


class CredentialsCheckRead(View, frozen=True, kw_only=True, omit_defaults=True):
    """The verdict on a file's content credentials and what its active manifest says.

    `verdict`: `trusted` (intact, signed by a certificate chaining to a trust anchor),
    `untrusted` (intact, but the signer chains to no trusted root: another key), `tampered`
    (the image or the manifest changed after signing), `invalid` (a manifest that fails for
    another reason), `missing` (no manifest at all). `failures` are C2PA's status codes."""

    verdict: str
    explanation: str
    failures: list[str] = msgspec.field(default_factory=list)
    manifest_label: str | None = None
    claim_generator: str | None = None
    signer: str | None = None
    issuer: str | None = None
    ai_generated: bool = False
    digital_source_type: str | None = None
    versions: int = 0
    generation_id: str | None = None
    model_version: str | None = None
    seed: int | None = None
    conditioning: dict[str, str] | None = None
    attribution_method: str | None = None
    index_hash: str | None = None
    credits: list[CreditLineRead] = msgspec.field(default_factory=list)
    references: int = 0
    receipt: dict[str, Any] | None = None
    training_mining: dict[str, Any] | None = None


class CredentialsRead(View, frozen=True, kw_only=True):
    """A generated image's content credentials: every version issued, and the newest one read
    back and checked against the museum's trust anchors."""

    generation_id: str
    versions: list[CredentialVersionRead]
    check: CredentialsCheckRead
