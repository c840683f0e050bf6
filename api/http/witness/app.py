"""`POST /add-checkpoint`: the witness's one route, as c2sp.org/tlog-witness writes it.

Not part of the museum's app and without its keys: a witness authenticates nothing but the
log's signature on the checkpoint. A refusal is a problem-details body with the spec's status,
except a stale old size, answered as the spec asks (`text/x.tlog.size`, the witness's size).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import anyio.to_thread
from litestar import Litestar, MediaType, Request, Response, post

from api.http.problems import TITLES, TYPE_BASE
from ledger.witness import SIZE_TYPE, Witness, WitnessRefusal
from ledger.witness_state import WitnessHome

MAX_BODY = 1 << 16


def create_witness_app(home: WitnessHome, clock: Callable[[], float] = time.time) -> Litestar:
    """The witness of `home` as an ASGI app; `clock` gives the cosignatures' POSIX time."""
    witness = Witness(home.cosigner, home.logs, home.state, clock)

    @post("/add-checkpoint", status_code=200, media_type=MediaType.TEXT)
    async def add_checkpoint(request: Request[Any, Any, Any]) -> Response[Any]:
        """Cosign a checkpoint consistent with the last one cosigned for its origin."""
        body = await request.body()
        try:
            lines = await anyio.to_thread.run_sync(witness.add_checkpoint, body)
        except WitnessRefusal as refusal:
            if refusal.content_type == SIZE_TYPE:
                return Response(refusal.body, status_code=refusal.status, media_type=SIZE_TYPE)
            problem = {
                "type": TYPE_BASE + "witness-refusal",
                "title": TITLES.get(refusal.status, "Refused"),
                "status": refusal.status,
                "detail": str(refusal),
            }
            return Response(
                problem, status_code=refusal.status, media_type="application/problem+json"
            )
        return Response(lines, media_type=MediaType.TEXT)

    return Litestar(
        route_handlers=[add_checkpoint], request_max_body_size=MAX_BODY, openapi_config=None
    )
