"""My museum (`/my-museum`, artists): the signed-in artist's own records, and nobody else's.

Every route speaks for the artist of the session's key (`Principal.artist_id`); there is no
artist id in a path, and another artist's donation answers 404 as it does in the API. The reads
are the API's: donations and feedback (`ledger.exhibition`), credits (`ArtistCredits`), the
royalty statement (`RoyaltyService.statement`, rendered by `royalties.statement`), identity
(`MuseumLedger.identity`, shown to its owner only).

A consent switch is a small form per donation and purpose: posted plainly it answers 303 back
to the page; posted by htmx (`HX-Request`) it answers the switch alone, which htmx swaps in place.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Annotated, Any
from uuid import UUID

import msgspec
from litestar import Controller, MediaType, Request, Response, get, post
from litestar.params import FromPath, QueryParameter
from litestar.response import Redirect, Template

from api.http.auth.access import allow
from api.http.auth.principal import Principal, Role
from api.http.deps import Caller, Museum
from api.http.museum import MuseumServices
from api.web.donations.controller import VOCABULARY
from api.web.my_museum.earnings import by_month, month_starts
from api.web.rendering import menu, page
from api.web.requests import Day, Form, is_htmx, midnight
from ledger.errors import InvalidInput, KeyShredded
from ledger.read_models import ArtistCredits
from ledger.views import ArtistIdentityRead
from royalties.currency import format_minor
from royalties.statement import render_csv, render_html
from royalties.views import StatementRead

ARTIST = allow(Role.ARTIST)
HOME = "/my-museum"
SHOWN = 50  # donations, credits and feedback on the page
# Each purpose in the donate form's words, so a donor reads the same thing in both places.
PURPOSES: dict[str, str] = dict(VOCABULARY["purposes"])
Cursor = Annotated[str | None, QueryParameter(name="after", max_length=128)]
Saved = Annotated[UUID | None, QueryParameter(name="saved", description="A switch just saved.")]


class ConsentSwitch(msgspec.Struct, kw_only=True):
    """`change` is "grant" or "revoke"; the CSRF field rides along."""

    purpose: Annotated[str, msgspec.Meta(max_length=32)] = ""
    change: Annotated[str, msgspec.Meta(max_length=16)] = ""


def own(principal: Principal) -> UUID:
    """The artist the caller speaks for (every artist key has one)."""
    if principal.artist_id is None:
        raise InvalidInput("only an artist key has a museum of its own")
    return principal.artist_id


def _identity(museum: MuseumServices, artist_id: UUID) -> ArtistIdentityRead | None:
    try:
        return museum.ledger.identity(artist_id)
    except KeyShredded:
        return None  # erased: nothing of it is left to show


def _statement(
    museum: MuseumServices, principal: Principal, start: date, end: date
) -> StatementRead:
    return museum.royalties.statement(own(principal), midnight(start), midnight(end))


def _download(body: str, media_type: str, statement: StatementRead, suffix: str) -> Response[str]:
    period = statement.period
    name = f"statement-{statement.artist.artist_id}-{period.start[:10]}-{period.end[:10]}.{suffix}"
    return Response(
        body,
        media_type=media_type,
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )


class MyMuseumController(Controller):
    path = HOME

    @get("/", opt=ARTIST | menu("My museum", 30), sync_to_thread=True, name="my-museum")
    def home(
        self, museum: Museum, principal: Caller, after: Cursor = None, saved: Saved = None
    ) -> Template:
        """Donations with their consent switches, feedback, credits, earnings, statements."""
        artist_id = own(principal)
        viewer = principal.may_see_artist
        artist = museum.exhibition.artist(artist_id, viewer)
        donations, following = museum.exhibition.donations(artist_id, viewer, after, SHOWN)
        starts = month_starts(datetime.now(UTC).date())
        statement = museum.royalties.statement(artist_id, midnight(starts[0]), midnight(starts[-1]))
        return page(
            "my_museum",
            artist=artist,
            identity=_identity(museum, artist_id),
            donations=donations,
            next_cursor=following,
            purposes=PURPOSES,
            feedback=museum.exhibition.feedback_received(artist_id, viewer, SHOWN),
            titles={d.donation_id: d.label.title for d in donations},
            credits=ArtistCredits(museum.ledger).credits_of(artist_id, None, SHOWN),
            earnings=by_month(statement, starts),
            period=(starts[0], starts[-1]),
            balances=museum.royalties.artist_balance(artist_id).balances,
            money=format_minor,
            saved=None if saved is None else str(saved),
        )

    @post("/donations/{donation_id:uuid}/consent", opt=ARTIST, sync_to_thread=True)
    def switch(
        self,
        request: Request[Any, Any, Any],
        museum: Museum,
        principal: Caller,
        donation_id: FromPath[UUID],
        data: Annotated[ConsentSwitch, Form],
    ) -> Response[Any]:
        """Grant or revoke one purpose of the artist's own donation (the API's change)."""
        if data.change not in ("grant", "revoke"):
            raise InvalidInput("a consent switch is to grant or to revoke")
        changed = museum.exhibition.change_consent(
            donation_id, data.purpose, data.change == "grant", principal.may_see_artist
        )
        if not is_htmx(request):
            return Redirect(f"{HOME}?saved={donation_id}#donation-{donation_id}", status_code=303)
        return page(
            "_consent_switch",
            donation_id=str(donation_id),
            purpose=changed.purpose,
            wording=PURPOSES[changed.purpose],
            on=changed.consents[changed.purpose],
        )

    @get("/statement.html", opt=ARTIST, sync_to_thread=True, media_type=MediaType.HTML)
    def statement_html(
        self, museum: Museum, principal: Caller, start: Day, end: Day
    ) -> Response[str]:
        """The statement of [start, end) as one self-contained HTML file, to keep."""
        found = _statement(museum, principal, start, end)
        return _download(render_html(found), MediaType.HTML, found, "html")

    @get("/statement.csv", opt=ARTIST, sync_to_thread=True, media_type="text/csv")
    def statement_csv(
        self, museum: Museum, principal: Caller, start: Day, end: Day
    ) -> Response[str]:
        """The statement's lines of [start, end) as CSV, for accounting."""
        found = _statement(museum, principal, start, end)
        return _download(render_csv(found), "text/csv", found, "csv")
