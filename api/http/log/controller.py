"""The ledger's log as a tiled transparency log (c2sp.org/tlog-tiles), under the monitoring
prefix `/api/v1/log`: `checkpoint` (mutable, cached a few seconds), `tile/<L>/<N>[.p/<W>]` and
`tile/entries/<N>[.p/<W>]` (immutable, cached for a year). Public to everyone: a monitor needs no
key. Entries are the stored event records the leaves hash, sealed personal fields and all —
the same bytes a receipt carries, which `museum ledger verify` re-hashes.
"""

from __future__ import annotations

import gzip
from typing import Annotated, Any

from litestar import Controller, MediaType, Request, Response, get
from litestar.params import PathParameter

from api.http.auth.access import EVERYONE, allow
from api.http.deps import Museum
from ledger.tiles import parse_path

CHECKPOINT_CACHE = "public, max-age=2"
IMMUTABLE = "public, max-age=31536000, immutable"
OCTETS = "application/octet-stream"
TilePath = Annotated[
    str,
    PathParameter(
        description="`<L>/<N>[.p/<W>]` or `entries/<N>[.p/<W>]`, N in x-prefixed 3-digit groups.",
        max_length=200,
    ),
]


class LogController(Controller):
    path = "/log"
    tags = ("ledger",)

    @get("/checkpoint", opt=allow(*EVERYONE), sync_to_thread=True, media_type=MediaType.TEXT)
    def checkpoint(self, museum: Museum) -> Response[str]:
        """The signed tree head as a C2SP checkpoint (a signed note: origin, size, base64 root,
        the log's Ed25519 signature), with every witness cosignature collected for it."""
        note = museum.publication.checkpoint().render()
        return Response(
            note, media_type=MediaType.TEXT, headers={"Cache-Control": CHECKPOINT_CACHE}
        )

    @get("/key", opt=allow(*EVERYONE), sync_to_thread=True, media_type=MediaType.TEXT)
    def key(self, museum: Museum) -> Response[str]:
        """The log's note verifier key (`origin+keyid+base64(0x01 || Ed25519 key)`), the form
        monitors and witnesses are configured with. Trust a copy obtained out of band."""
        return Response(museum.publication.signer.verifier_key() + "\n", media_type=MediaType.TEXT)

    @get("/tile/{path:path}", opt=allow(*EVERYONE), sync_to_thread=True, media_type=OCTETS)
    def tile(
        self, path: TilePath, museum: Museum, request: Request[Any, Any, Any]
    ) -> Response[bytes]:
        """A Merkle tile (level 0: leaf hashes; above: hashes of full tiles below) or an entry
        bundle (uint16-length-prefixed entries, gzip when the client accepts it)."""
        ref = parse_path(path)
        headers = {"Cache-Control": IMMUTABLE}
        if ref.level is not None:
            return Response(museum.tiles.tile(ref), media_type=OCTETS, headers=headers)
        body = museum.tiles.entries(ref)
        if "gzip" in request.headers.get("accept-encoding", ""):
            body = gzip.compress(body, mtime=0)
            headers["Content-Encoding"] = "gzip"
        return Response(body, media_type=OCTETS, headers=headers)
