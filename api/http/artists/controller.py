"""`/api/v1/artists`: register, the public profile, identity, founding status, donations."""

from __future__ import annotations

from uuid import UUID

from litestar import Controller, get, post
from litestar.params import FromPath, JSONBody

from api.http.artists.schemas import ArtistRegister, FoundingGrant, RegisteredRead
from api.http.auth.access import EVERYONE, allow
from api.http.auth.principal import Role
from api.http.deps import Caller, Museum
from api.http.pagination import Cursor, Limit, Page, page
from ledger.schemas import ArtistCreate
from ledger.views import ArtistIdentityRead, ArtistRead, DonationRead


class ArtistsController(Controller):
    path = "/artists"
    tags = ("artists",)

    @post("/", opt=allow(Role.VISITOR, Role.CURATOR), sync_to_thread=True)
    def register(self, museum: Museum, data: JSONBody[ArtistRegister]) -> RegisteredRead:
        """Register a donor (anyone, or a curator on a donor's behalf): the public profile and
        a new artist API key, whose secret appears only in this answer. A taken pseudonym
        (compared without case or extra spaces) is a 409."""
        artist_id = museum.ledger.register_artist(
            ArtistCreate(
                pseudonym=data.pseudonym,
                legal_name=data.legal_name,
                contact=data.contact,
                anonymous=data.anonymous,
            )
        )
        key = museum.keys.create("artist", f"artist {artist_id}", artist_id)
        return RegisteredRead(artist=museum.ledger.artist_view(artist_id), key=key)

    @get("/{artist_id:uuid}", opt=allow(*EVERYONE), sync_to_thread=True)
    def profile(self, museum: Museum, principal: Caller, artist_id: FromPath[UUID]) -> ArtistRead:
        """An artist's profile. The artist themself and compliance see it whole; everyone else
        sees only exhibited donations, and no pseudonym for an anonymous artist."""
        return museum.exhibition.artist(artist_id, principal.may_see_artist)

    @get("/{artist_id:uuid}/identity", opt=allow(Role.ARTIST, Role.COMPLIANCE), sync_to_thread=True)
    def identity(
        self, museum: Museum, principal: Caller, artist_id: FromPath[UUID]
    ) -> ArtistIdentityRead:
        """Legal name and contact: for the artist themself and compliance only (410 once the
        artist is erased: their key is gone)."""
        principal.require_artist(artist_id)
        return museum.ledger.identity(artist_id)

    @post("/{artist_id:uuid}/founding", opt=allow(Role.CURATOR), sync_to_thread=True)
    def grant_founding(
        self,
        museum: Museum,
        principal: Caller,
        artist_id: FromPath[UUID],
        data: JSONBody[FoundingGrant],
    ) -> ArtistRead:
        """Grant founding status (curators): permanent top-tier access. 409 if the artist
        already has it, 410 once they asked to be erased."""
        museum.ledger.grant_founding(artist_id, curator=principal.name, note=data.note)
        return museum.exhibition.artist(artist_id, principal.may_see_artist)

    @get("/{artist_id:uuid}/donations", opt=allow(*EVERYONE), sync_to_thread=True)
    def donations(
        self,
        museum: Museum,
        principal: Caller,
        artist_id: FromPath[UUID],
        cursor: Cursor = None,
        limit: Limit = 50,
    ) -> Page[DonationRead]:
        """An artist's donations in the order they were made: all of them for the artist and
        compliance, the exhibited ones for everyone else."""
        items, after = museum.exhibition.donations(
            artist_id, principal.may_see_artist, cursor, limit
        )
        return page(items, limit, after)
