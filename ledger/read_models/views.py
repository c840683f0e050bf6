"""Views of the listed read models: one frozen msgspec Struct per row, and a page of them.

Same conventions as `ledger.views`: field names are the JSON keys, in order; times are ISO 8601
with their zone, exactly as the events carry them. A page's `next` is an opaque cursor to pass
back as `after`, or None on the last page. No view holds sealed text or identity: an artist is
named by id, and the service opens pseudonyms from the ledger per page where it shows them.
"""

from __future__ import annotations

from ledger.views import View


class ConsentStatusRead(View, frozen=True, kw_only=True):
    """Whether a donation's consent for one purpose holds, since when and by which event.

    `withdrawn`: the donation was withdrawn for erasure; its consents are final (revoked)."""

    donation_id: str
    purpose: str
    artist_id: str
    granted: bool
    withdrawn: bool
    since: str
    notification_id: int


class ConsentPage(View, frozen=True, kw_only=True):
    """Consent rows in donation order (then purpose), and the cursor of the next page."""

    items: list[ConsentStatusRead]
    next: str | None


class CreditRead(View, frozen=True, kw_only=True):
    """One artist's share of one attribution: which image, which model, which method."""

    attribution_id: str
    artist_id: str
    generation_id: str
    model_version: str
    method: str
    share_ppm: int
    recorded_at: str
    notification_id: int


class CreditPage(View, frozen=True, kw_only=True):
    """Credit rows in recording order (then artist), and the cursor of the next page."""

    items: list[CreditRead]
    next: str | None


class ArtistEntryRead(View, frozen=True, kw_only=True):
    """An artist in the directory: founding status, donations, anonymity, erasure; no names."""

    artist_id: str
    founding: bool
    founding_number: int | None
    anonymous: bool
    donations: int
    erased: bool
    registered_at: str


class ArtistPage(View, frozen=True, kw_only=True):
    """Artists in registration order, and the cursor of the next page."""

    items: list[ArtistEntryRead]
    next: str | None
