"""`/api/v1/artists/{artist_id}/erasure`: "erase me", where it stands, its certificate."""

from __future__ import annotations

from typing import Annotated
from uuid import UUID

import msgspec
from litestar import Controller, MediaType, Response, get, post
from litestar.params import FromPath, JSONBody

from api.http.auth.access import allow
from api.http.auth.principal import Role
from api.http.deps import Caller, Museum
from ledger.donor_views import ErasureCertificateRead, certificate_read
from ledger.erasure_certificate import completion_version
from ledger.errors import NotFound
from ledger.views import ErasureRead


class ErasureRequest(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """Why (optional; kept in the ledger with the request)."""

    reason: Annotated[str, msgspec.Meta(max_length=500)] = ""


class ErasureController(Controller):
    path = "/artists/{artist_id:uuid}/erasure"
    tags = ("erasure",)

    @post("/", opt=allow(Role.ARTIST), sync_to_thread=True, status_code=202)
    def request_erasure(
        self,
        museum: Museum,
        principal: Caller,
        artist_id: FromPath[UUID],
        data: JSONBody[ErasureRequest],
    ) -> ErasureRead:
        """Erase me: every consent is withdrawn, the donations leave the exhibition and the
        artist's key is destroyed now, and a retraining of the shard that held the items is
        scheduled (`retraining_due_at`); the erasure completes (with a certificate) once the
        deployed model version holds none of them, within 30 days (`deadline`): at once if no
        model ever learned from them. Asking again is refused (409): the erasure is already
        on its way; read where it stands with GET."""
        principal.require_artist(artist_id)
        return museum.models.erase_artist(artist_id, data.reason)

    @get("/", opt=allow(Role.ARTIST, Role.COMPLIANCE), sync_to_thread=True)
    def status(self, museum: Museum, principal: Caller, artist_id: FromPath[UUID]) -> ErasureRead:
        """Where the artist's erasure stands: requested when, its deadline and the seconds left
        (`time_left_seconds`, negative and `overdue` once past it), the key destroyed, the
        deployed version still to be retrained, the retraining batch it waits for
        (`retraining_due_at`) or the run retraining it now (`retraining_run`), complete or
        not."""
        principal.require_artist(artist_id)
        return museum.models.erasure_status(artist_id)

    @get("/certificate", opt=allow(Role.ARTIST, Role.COMPLIANCE), sync_to_thread=True)
    def certificate(
        self, museum: Museum, principal: Caller, artist_id: FromPath[UUID]
    ) -> ErasureCertificateRead:
        """The certificate of a completed erasure (404 until it is complete); check it with
        `museum ledger check-certificate`."""
        principal.require_artist(artist_id)
        status = museum.ledger.erasure_status(artist_id)
        if status.certificate is None:
            raise NotFound(f"the erasure of artist {artist_id} is not complete: no certificate yet")
        return certificate_read(status.certificate)

    @get(
        "/certificate.tlog-proof",
        opt=allow(Role.ARTIST, Role.COMPLIANCE),
        sync_to_thread=True,
        media_type=MediaType.TEXT,
    )
    def certificate_proof(
        self, museum: Museum, principal: Caller, artist_id: FromPath[UUID]
    ) -> Response[str]:
        """The certificate as an offline proof (c2sp.org/tlog-proof): the `ErasureCompleted`
        event that records it, as `extra`, under the latest cosigned checkpoint; 404 until
        the erasure is complete. `museum ledger check-proof` verifies it."""
        principal.require_artist(artist_id)
        if museum.ledger.erasure_status(artist_id).certificate is None:
            raise NotFound(f"the erasure of artist {artist_id} is not complete: no certificate yet")
        version = completion_version(museum.ledger, artist_id)
        bundle = museum.publication.proof_bundle_of(artist_id, version)
        return Response(bundle.render(), media_type=MediaType.TEXT)
