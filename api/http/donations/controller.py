"""`/api/v1/donations`: donate a process series (multipart), read a donation, its stage images."""

from __future__ import annotations

from typing import Annotated
from uuid import UUID

from litestar import Controller, Response, get, post
from litestar.enums import RequestEncodingType
from litestar.params import Body, FromPath

from api.http.auth.access import EVERYONE, allow
from api.http.auth.principal import Role
from api.http.deps import Caller, Museum
from api.http.donations.schemas import DonatedRead, DonationUpload
from api.http.donations.upload import MAX_PARTS, MAX_UPLOAD, close, donation_request
from ledger.errors import InvalidInput
from ledger.views import DonationRead

UPLOAD_DOC = """Donate a process series, as the artist of the key (donating is how one becomes a
member). One `multipart/form-data` request:

- a plain field `donation`: JSON of the donation manifest, e.g.
  `{"label": {"title": "…", "creative_intent": "…", "failure_type": "perspective",
  "emotion": "doubt", "failure_note": "…"}, "attestation": {"affirmed": true},
  "consents": ["exhibit", "train"], "tags": {"genre": ["seascape"]},
  "stages": [{"role": "sketch", "created_at": "2024-03-01T09:00:00+00:00", "caption": "…"},
  {"role": "final", "created_at": "2024-03-02T09:00:00+00:00"}]}`
- one file part `stage` per entry of `stages`, in the same order (PNG, JPEG or WebP).

With curl: `curl -H "Authorization: Bearer $KEY" -F "donation=<manifest.json"
-F stage=@sketch.png -F stage=@final.png …/api/v1/donations` (`<` sends a file's text as a
plain field; a browser's `FormData.append("donation", JSON.stringify(manifest))` does the same).

Limits: 24 stages, 10 MiB and 4096×4096 pixels per image; a body over the total (by its
Content-Length, or while a chunked body streams in) is a 413 before it is read whole. An image
that does not decode completely, a stage time without a zone, an unknown purpose, role or
vocabulary value is a 422, and nothing is stored. The answer holds the donation and the receipt
of its event (inclusion proof and signed tree head)."""


class DonationsController(Controller):
    path = "/donations"
    tags = ("donations",)

    @post(
        "/",
        opt=allow(Role.ARTIST),
        sync_to_thread=True,
        request_max_body_size=MAX_UPLOAD,
        description=UPLOAD_DOC,
    )
    def donate(
        self,
        museum: Museum,
        principal: Caller,
        data: Annotated[
            DonationUpload,
            Body(media_type=RequestEncodingType.MULTI_PART, multipart_form_part_limit=MAX_PARTS),
        ],
    ) -> DonatedRead:
        """Donate a process series (multipart: a `donation` manifest and `stage` files)."""
        if principal.artist_id is None:
            raise InvalidInput("only an artist key donates")  # an artist key always has an id
        try:
            request = donation_request(principal.artist_id, data)
        finally:
            close(data)
        result = museum.ledger.donate(request)
        donation = museum.exhibition.donation(result.donation_id, principal.may_see_artist)
        return DonatedRead(donation=donation, receipt=result.receipt)

    @get("/{donation_id:uuid}", opt=allow(*EVERYONE), sync_to_thread=True)
    def donation(
        self, museum: Museum, principal: Caller, donation_id: FromPath[UUID]
    ) -> DonationRead:
        """A donation: its label, stages and consents. The artist and compliance see it always;
        everyone else only while it has `exhibit` consent (else 404)."""
        return museum.exhibition.donation(donation_id, principal.may_see_artist)

    @get(
        "/{donation_id:uuid}/stages/{index:int}/image",
        opt=allow(*EVERYONE),
        sync_to_thread=True,
        media_type="image/*",
        response_description="The stage's image as donated (image/png, image/jpeg or image/webp).",
    )
    def stage_image(
        self,
        museum: Museum,
        principal: Caller,
        donation_id: FromPath[UUID],
        index: FromPath[int],
    ) -> Response[bytes]:
        """A stage's image, as donated. The artist and compliance may fetch it always, everyone
        else while the donation has `exhibit` consent (else 404); 410 once the artist is
        erased (the image's key is destroyed)."""
        image = museum.exhibition.stage_image(donation_id, index, principal.may_see_artist)
        return Response(
            content=image.data,
            media_type=image.media_type,
            headers={"Cache-Control": "no-store", "X-Content-Type-Options": "nosniff"},
        )
