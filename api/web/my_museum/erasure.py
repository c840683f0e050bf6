"""Erase me (`/my-museum/erase`), where the erasure stands, and its certificate.

The confirmation is typing one's own pseudonym: nothing is recorded until it matches. Then the
erasure service (`ledger.erasures.Erasures.request`, as `ModelRecords.erase_artist`) withdraws
every donation, destroys the artist's key and schedules the retraining; the page that follows
is its status (time left, the retraining it waits for, or complete with the certificate).
A repeat is refused by the ledger (`Conflict`, 409) and the page says so, with the way to the
status.
"""

from __future__ import annotations

from typing import Annotated, Any

import msgspec
from litestar import Controller, MediaType, Response, get, post
from litestar.params import QueryParameter
from litestar.response import Redirect, Template

from api.http.deps import Caller, Museum
from api.web.my_museum.controller import ARTIST, HOME, own
from api.web.rendering import page
from api.web.requests import Form
from ledger.donor_views import certificate_read
from ledger.errors import Conflict, NotFound

ERASURE = f"{HOME}/erasure"
NOT_CONFIRMED = "Nothing was erased: type your pseudonym exactly as it is shown above to confirm."

ALREADY = "You have already asked to be erased: nothing more was done. See where it stands below."


class EraseForm(msgspec.Struct, kw_only=True):
    pseudonym: Annotated[str, msgspec.Meta(max_length=200)] = ""
    reason: Annotated[str, msgspec.Meta(max_length=500)] = ""


class ErasureController(Controller):
    path = HOME

    @get("/erase", opt=ARTIST, sync_to_thread=True)
    def confirm(self, museum: Museum, principal: Caller) -> Template:
        """What erasure does, and the confirmation (or, once asked, where it stands)."""
        artist = museum.exhibition.artist(own(principal), principal.may_see_artist)
        return page("erase", artist=artist, message=None, reason="")

    @post("/erase", opt=ARTIST, sync_to_thread=True)
    def erase(
        self, museum: Museum, principal: Caller, data: Annotated[EraseForm, Form]
    ) -> Response[Any]:
        """Erase the artist once the pseudonym is typed; a repeat answers 409."""
        artist_id = own(principal)
        artist = museum.exhibition.artist(artist_id, principal.may_see_artist)
        if not artist.erased and data.pseudonym.strip() != artist.pseudonym:
            return page("erase", 422, artist=artist, message=NOT_CONFIRMED, reason=data.reason)
        try:
            museum.models.erase_artist(artist_id, data.reason)
        except Conflict:
            return page("erase", 409, artist=artist, message=ALREADY, reason="")
        return Redirect(f"{ERASURE}?asked=1", status_code=303)

    @get("/erasure", opt=ARTIST, sync_to_thread=True)
    def status(
        self,
        museum: Museum,
        principal: Caller,
        asked: Annotated[bool, QueryParameter(name="asked")] = False,
    ) -> Template:
        """Requested when, the deadline and the time left, what it waits for, or complete."""
        return page("erasure", erasure=museum.models.erasure_status(own(principal)), asked=asked)

    @get("/erasure/certificate.json", opt=ARTIST, sync_to_thread=True, media_type=MediaType.JSON)
    def certificate(self, museum: Museum, principal: Caller) -> Response[Any]:
        """The signed certificate of the completed erasure, as a file (404 until complete);
        `museum ledger check-certificate FILE --public-key HEX` checks it."""
        artist_id = own(principal)
        status = museum.models.erasure_status(artist_id)
        if status.certificate is None:
            raise NotFound("the erasure is not complete yet: there is no certificate")
        name = f"erasure-certificate-{artist_id}.json"
        return Response(
            certificate_read(status.certificate),  # every field as signed: it checks offline
            media_type=MediaType.JSON,
            headers={"Content-Disposition": f'attachment; filename="{name}"'},
        )
