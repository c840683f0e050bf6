"""`/api/v1/donations/{donation_id}/consent`: grant, revoke, status, history, "at time T"."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated
from uuid import UUID

from litestar import Controller, get, post
from litestar.params import FromPath, JSONBody, QueryParameter

from api.http.auth.access import allow
from api.http.auth.principal import Role
from api.http.consent.schemas import ConsentChange
from api.http.deps import Caller, Museum
from ledger.donor_views import ConsentAtRead, ConsentChangedRead, ConsentStatusRead

At = Annotated[
    datetime | None,
    QueryParameter(
        description="The moment asked about, ISO 8601 with a time zone; now if absent.",
    ),
]


class ConsentController(Controller):
    path = "/donations/{donation_id:uuid}/consent"
    tags = ("consent",)

    @post("/", opt=allow(Role.ARTIST), sync_to_thread=True, status_code=200)
    def change(
        self,
        museum: Museum,
        principal: Caller,
        donation_id: FromPath[UUID],
        data: JSONBody[ConsentChange],
    ) -> ConsentChangedRead:
        """Grant or revoke one purpose of the artist's own donation. Repeating a change records
        nothing (`changed: false`); an unknown purpose is a 422, a donation withdrawn for
        erasure a 410. Concurrent changes are each applied once, none lost."""
        return museum.exhibition.change_consent(
            donation_id, data.purpose, data.granted, principal.may_see_artist
        )

    @get("/", opt=allow(Role.ARTIST, Role.COMPLIANCE), sync_to_thread=True)
    def status(
        self, museum: Museum, principal: Caller, donation_id: FromPath[UUID]
    ) -> ConsentStatusRead:
        """Whether each purpose holds now, and every change since the donation was made (for
        the artist and compliance; the record stays readable after an erasure)."""
        return museum.exhibition.consent(donation_id, principal.may_see_artist)

    @get("/{purpose:str}", opt=allow(Role.ARTIST, Role.COMPLIANCE), sync_to_thread=True)
    def at(
        self,
        museum: Museum,
        principal: Caller,
        donation_id: FromPath[UUID],
        purpose: FromPath[str],
        at: At = None,
    ) -> ConsentAtRead:
        """Did consent for `purpose` hold at `at` (now if absent)? Answered by replaying the
        donation's events; a time without a zone is a 422."""
        return museum.exhibition.consent_at(donation_id, purpose, at, principal.may_see_artist)
