"""Continuations (`/continuations`): the process model's proposals for a stage, as a job.

Integrators, curators and members ask the deployed continuation model for alternative next
stages of a donated stage (JSON) or of an uploaded image with its labels (multipart): a
`continue` job (202), each proposal then a generation under `/generations` naming its parent.
Everything that needs no model is refused before anything is queued or kept: an unknown
donation or stage (404), a donation without `exhibit` consent (409), no deployed continuation
model (404), an upload that is not an image (422) or too large (413).
"""

from __future__ import annotations

from typing import Annotated

import anyio.to_thread
import msgspec
from litestar import Controller, Response, post
from litestar.enums import RequestEncodingType
from litestar.exceptions.http_exceptions import RequestEntityTooLarge
from litestar.params import Body, JSONBody

from api.http.deps import Caller, Museum
from api.http.generations.continuation_schemas import (
    ContinuationCreate,
    ContinuationUpload,
    UploadLabels,
)
from api.http.generations.controller import MAKERS
from api.http.jobs.responses import LOCATION, IdempotencyKey, accepted
from api.http.jobs.schemas import JobRead
from api.jobs.tasks import validate
from ledger.domain.model import CONTINUATION
from ledger.errors import InvalidInput
from ledger.images import MAX_IMAGE_BYTES, inspect_image
from ledger.process_records import ProcessRecords
from ledger.vocabulary import Purpose, StageRole

MAX_LABELS = 64 * 1024
MAX_UPLOAD = MAX_IMAGE_BYTES + MAX_LABELS + 8 * 1024


class ContinuationController(Controller):
    path = "/continuations"
    tags = ("generations",)

    @post("/", opt=MAKERS, status_code=202, response_headers=LOCATION)
    async def continue_stage(
        self,
        museum: Museum,
        principal: Caller,
        data: JSONBody[ContinuationCreate],
        idempotency_key: IdempotencyKey = None,
    ) -> Response[JobRead]:
        """Propose next stages of a donated stage (or roll each out to a final): a job."""

        def check() -> None:
            donation = ProcessRecords(museum.ledger).stage(
                data.donation_id, data.stage, Purpose.EXHIBIT
            )
            if donation.stages[data.stage].role == StageRole.FINAL and data.next_role is None:
                raise InvalidInput("the stage is already a final: nothing follows it in a process")
            museum.models.model_version(data.version, variant=CONTINUATION)

        await anyio.to_thread.run_sync(check)
        arguments = {"donation_id": str(data.donation_id), "stage": data.stage}
        job = await museum.jobs.submit(
            "continue", arguments | data.arguments(), principal, idempotency_key
        )
        return accepted(job)

    @post(
        "/upload",
        opt=MAKERS,
        status_code=202,
        response_headers=LOCATION,
        request_max_body_size=MAX_UPLOAD,
    )
    async def continue_upload(
        self,
        museum: Museum,
        principal: Caller,
        data: Annotated[ContinuationUpload, Body(media_type=RequestEncodingType.MULTI_PART)],
        idempotency_key: IdempotencyKey = None,
    ) -> Response[JobRead]:
        """Propose next stages of an uploaded image (multipart: a `continuation` field with
        the JSON of its labels and options, an `image` file): a job."""
        if len(data.continuation.encode()) > MAX_LABELS:
            raise RequestEntityTooLarge(f"the `continuation` part is over {MAX_LABELS} bytes")
        try:
            labels = msgspec.json.decode(data.continuation, type=UploadLabels)
        except (msgspec.ValidationError, msgspec.DecodeError) as exc:
            raise InvalidInput(f"the `continuation` part is not valid: {exc}") from None
        image = await data.image.read(MAX_IMAGE_BYTES + 1)
        if len(image) > MAX_IMAGE_BYTES:
            raise RequestEntityTooLarge(f"the image is over the limit of {MAX_IMAGE_BYTES} bytes")

        arguments = {
            "role": labels.role.value,
            "failure_type": labels.failure_type.value,
            "emotion": labels.emotion.value,
        } | labels.arguments()

        def keep() -> str:
            validate("continue", upload_blob_id="pending", **arguments)  # before it is kept
            inspect_image(image, "the uploaded image")
            museum.models.model_version(labels.version, variant=CONTINUATION)
            return museum.ledger.blobs.put(image)[0]

        arguments["upload_blob_id"] = await anyio.to_thread.run_sync(keep)
        job = await museum.jobs.submit("continue", arguments, principal, idempotency_key)
        return accepted(job)
