"""`POST /api/v1/keys/rotate`: the calling key's successor, with the old key kept working for
an overlap, so an integrator deploys the new secret before the old one stops."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated

from litestar import Controller, post
from litestar.params import QueryParameter

from api.http.auth.access import allow
from api.http.auth.keys import MAX_OVERLAP, RotatedKey
from api.http.auth.principal import KEY_ROLES
from api.http.deps import Caller, Museum
from ledger.errors import InvalidInput

OverlapHours = Annotated[
    int,
    QueryParameter(
        name="overlap_hours",
        ge=0,
        le=int(MAX_OVERLAP.total_seconds() // 3600),
        description="How long the old key keeps working (hours; 0: it stops at once).",
    ),
]


class KeysController(Controller):
    path = "/keys"
    tags = ("keys",)

    @post("/rotate", opt=allow(*KEY_ROLES), sync_to_thread=True, status_code=201)
    def rotate(
        self, museum: Museum, principal: Caller, overlap_hours: OverlapHours = 24
    ) -> RotatedKey:
        """A new secret for this key's holder (same role and artist), shown once; the calling
        key works for `overlap_hours` more. A key rotated already answers 409."""
        if principal.key_id is None:  # a page session holds a key id too; a visitor none
            raise InvalidInput("only a key can be rotated")
        return museum.keys.rotate(principal.key_id, timedelta(hours=overlap_hours))
