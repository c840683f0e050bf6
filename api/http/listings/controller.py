"""`/api/v1/me`, `/api/v1/artists` (directory), `…/credits`, `…/consents`, `/api/v1/consents`.

Each list is a page of a read model that catches up with the ledger first, so a change just
made is listed; another artist's lists answer 404 to an artist key, as their records do.
"""

from __future__ import annotations

from typing import Annotated
from uuid import UUID

from litestar import Controller, get
from litestar.params import FromPath, QueryParameter

from api.http.auth.access import EVERYONE, STAFF, allow
from api.http.auth.principal import Role
from api.http.deps import Caller, Museum
from api.http.listings.schemas import CallerRead
from api.http.pagination import Cursor, Limit, Page, page
from ledger.read_models import ArtistCredits, ArtistDirectory, ConsentStatus
from ledger.read_models.views import ConsentStatusRead, CreditRead
from ledger.views import ArtistRead


class ListingsController(Controller):
    tags = ("listings",)

    @get("/me", opt=allow(*EVERYONE), sync_to_thread=True)
    def me(self, museum: Museum, principal: Caller) -> CallerRead:
        """Who this key is: its role, name, the artist it speaks for and that artist's tier."""
        tier = {Role.VISITOR: "visitor", Role.INTEGRATOR: "integrator"}.get(principal.role, "staff")
        limited = principal.role is Role.INTEGRATOR
        if principal.role is Role.ARTIST:
            founding = museum.membership.is_founding(principal)
            member = museum.membership.is_member(principal)
            tier = "founding" if founding else "member" if member else "donor"
            limited = not founding
        return CallerRead(
            role=principal.role.value,
            key_id=principal.key_id,
            name=principal.name,
            artist_id=None if principal.artist_id is None else str(principal.artist_id),
            tier=tier,
            rate_limited=limited,
        )

    @get("/artists", opt=allow(*STAFF), sync_to_thread=True)
    def directory(
        self,
        museum: Museum,
        principal: Caller,
        cursor: Cursor = None,
        limit: Limit = 50,
        founding: Annotated[
            bool | None,
            QueryParameter(name="founding", description="Only founding artists, or none."),
        ] = None,
    ) -> Page[ArtistRead]:
        """Every artist in registration order (staff): the public profile, which curators see
        without the pseudonym of an anonymous artist."""
        found = ArtistDirectory(museum.ledger).artists(cursor, limit, founding=founding)
        items = [
            museum.exhibition.artist(UUID(entry.artist_id), principal.may_see_artist)
            for entry in found.items
        ]
        return page(items, limit, found.next)

    @get(
        "/artists/{artist_id:uuid}/credits",
        opt=allow(Role.ARTIST, Role.COMPLIANCE, Role.CURATOR),
        sync_to_thread=True,
    )
    def credits(
        self,
        museum: Museum,
        principal: Caller,
        artist_id: FromPath[UUID],
        cursor: Cursor = None,
        limit: Limit = 50,
    ) -> Page[CreditRead]:
        """Where an artist's work was credited: one row per attribution that names them, with
        the generation, model version, method and share (ppm), oldest first."""
        if principal.role is not Role.CURATOR:
            principal.require_artist(artist_id)
        museum.ledger.get_artist(artist_id)  # an unknown artist is a 404, not an empty list
        found = ArtistCredits(museum.ledger).credits_of(artist_id, cursor, limit)
        return page(found.items, limit, found.next)

    @get(
        "/artists/{artist_id:uuid}/consents",
        opt=allow(Role.ARTIST, Role.COMPLIANCE),
        sync_to_thread=True,
    )
    def artist_consents(
        self,
        museum: Museum,
        principal: Caller,
        artist_id: FromPath[UUID],
        cursor: Cursor = None,
        limit: Limit = 50,
    ) -> Page[ConsentStatusRead]:
        """The consent status of each of an artist's donations, per purpose."""
        principal.require_artist(artist_id)
        museum.ledger.get_artist(artist_id)
        found = ConsentStatus(museum.ledger).consents(artist_id, cursor, limit)
        return page(found.items, limit, found.next)

    @get("/consents", opt=allow(Role.COMPLIANCE), sync_to_thread=True)
    def consents(
        self,
        museum: Museum,
        cursor: Cursor = None,
        limit: Limit = 50,
        donation_id: Annotated[
            UUID | None, QueryParameter(name="donation_id", description="One donation only.")
        ] = None,
    ) -> Page[ConsentStatusRead]:
        """Consent status across the museum (compliance), by donation then purpose."""
        found = ConsentStatus(museum.ledger).consents(None, cursor, limit, donation_id=donation_id)
        return page(found.items, limit, found.next)
