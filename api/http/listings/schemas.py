"""Views of the caller: what a key is, and which tier of the charter an artist key has."""

from __future__ import annotations

from ledger.views import View


class CallerRead(View, frozen=True, kw_only=True):
    """Who the API takes the caller for. `tier`: visitor, staff, integrator, or for an artist
    `donor` (registered), `member` (a donation on record) or `founding` (top tier for good)."""

    role: str
    key_id: str | None
    name: str
    artist_id: str | None
    tier: str
    rate_limited: bool
