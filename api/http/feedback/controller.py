"""`/api/v1/donations/{donation_id}/stages/{index}/feedback`: process-centred feedback."""

from __future__ import annotations

from uuid import UUID

from litestar import Controller, get, post
from litestar.params import FromPath, JSONBody

from api.http.auth.access import EVERYONE, allow
from api.http.auth.principal import Role
from api.http.deps import Caller, Museum
from api.http.feedback.schemas import FeedbackGive
from api.http.pagination import Cursor, Limit, Page, page
from ledger.donor_views import FeedbackRead
from ledger.exhibition import nobody


def author_of(museum: Museum, principal: Caller) -> str:
    """A member signs with their public name (never an anonymous one's pseudonym); a curator
    with the name of their key."""
    if principal.artist_id is not None:
        return museum.exhibition.artist(principal.artist_id, nobody).pseudonym
    return principal.name


class FeedbackController(Controller):
    path = "/donations/{donation_id:uuid}/stages/{index:int}/feedback"
    tags = ("feedback",)

    @post("/", opt=allow(Role.CURATOR, Role.ARTIST, members_only=True), sync_to_thread=True)
    def give(
        self,
        museum: Museum,
        principal: Caller,
        donation_id: FromPath[UUID],
        index: FromPath[int],
        data: JSONBody[FeedbackGive],
    ) -> FeedbackRead:
        """Give feedback on a stage (curators and members, on a donation they can see): what
        was tried there, and what could be tried next."""
        return museum.exhibition.give_feedback(
            donation_id,
            index,
            tried=data.tried,
            next_try=data.next_try,
            author=author_of(museum, principal),
            sees_all=principal.may_see_artist,
        )

    @get("/", opt=allow(*EVERYONE), sync_to_thread=True)
    def list_feedback(
        self,
        museum: Museum,
        principal: Caller,
        donation_id: FromPath[UUID],
        index: FromPath[int],
        cursor: Cursor = None,
        limit: Limit = 50,
    ) -> Page[FeedbackRead]:
        """The feedback on a stage, oldest first, for whoever may see the donation."""
        items, after = museum.exhibition.feedback(
            donation_id, index, principal.may_see_artist, cursor, limit
        )
        return page(items, limit, after)
