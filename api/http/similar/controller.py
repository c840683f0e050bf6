"""Similar failures: how other donors moved on from a failure like this one.

`GET …/donations/{id}/stages/{n}/similar-failures` asks about a donated stage (exhibition
material, open to visitors: its donation must hold `exhibit` consent, else 404 for others and
409 for its own artist and compliance); `POST /similar-failures` about an uploaded image (any
key: the image is compared, never stored). Both are reads: nothing is recorded. The answer
credits donors by pseudonym only, from donations whose `exhibit` consent holds now.
"""

from __future__ import annotations

from typing import Annotated
from uuid import UUID

from litestar import Controller, get, post
from litestar.enums import RequestEncodingType
from litestar.exceptions.http_exceptions import RequestEntityTooLarge
from litestar.params import Body, FromPath, QueryParameter

from api.http.auth.access import EVERYONE, allow
from api.http.auth.principal import Role
from api.http.deps import Caller, Museum
from api.http.similar.schemas import SimilarUpload
from generation.similar.limits import DEFAULT_COUNT, MAX_COUNT, check_count
from generation.similar.views import SimilarFailuresRead
from ledger.images import MAX_IMAGE_BYTES

# The image, four short fields and each part's boundary and headers.
MAX_UPLOAD = MAX_IMAGE_BYTES + 64 * 1024
KEY_HOLDERS = allow(Role.ARTIST, Role.CURATOR, Role.INTEGRATOR, Role.COMPLIANCE)

Count = Annotated[
    int,
    QueryParameter(
        name="count", ge=1, le=MAX_COUNT, description=f"How many failures (1 to {MAX_COUNT})."
    ),
]
Emotion = Annotated[
    str | None,
    QueryParameter(name="emotion", max_length=32, description="Show this emotion's first."),
]


class SimilarStageController(Controller):
    path = "/donations/{donation_id:uuid}/stages/{index:int}/similar-failures"
    tags = ("similar failures",)

    @get("/", opt=allow(*EVERYONE), sync_to_thread=True)
    def similar_to_stage(
        self,
        museum: Museum,
        principal: Caller,
        donation_id: FromPath[UUID],
        index: FromPath[int],
        count: Count = DEFAULT_COUNT,
        emotion: Emotion = None,
    ) -> SimilarFailuresRead:
        """The donated failure stages nearest to this stage in the deployed model's features,
        those of its failure type first, with how their donors moved on: the next stages,
        failure notes and labels, by pseudonym. 404 for an unknown donation or stage (or one
        the caller may not see), 409 for a donation of one's own without exhibit consent, 404
        while no model is deployed."""
        return museum.similar_failures().for_stage(
            donation_id, index, count=count, emotion=emotion, sees_all=principal.may_see_artist
        )


class SimilarUploadController(Controller):
    path = "/similar-failures"
    tags = ("similar failures",)

    @post(
        "/",
        opt=KEY_HOLDERS,
        status_code=200,
        sync_to_thread=True,
        request_max_body_size=MAX_UPLOAD,
    )
    def similar_to_image(
        self,
        museum: Museum,
        data: Annotated[SimilarUpload, Body(media_type=RequestEncodingType.MULTI_PART)],
    ) -> SimilarFailuresRead:
        """The same for an uploaded image (multipart: `image`, `role`, `failure_type`, optional
        `emotion` and `count`), compared and never stored. A file that is not a PNG, JPEG or
        WebP image, or an unknown role, failure type or emotion, is a 422; over 10 MiB a 413."""
        try:
            check_count(data.count)
            spooled = data.image.file
            spooled.seek(0, 2)
            size = spooled.tell()
            if size > MAX_IMAGE_BYTES:
                raise RequestEntityTooLarge(
                    f"the image is {size} bytes; the limit is {MAX_IMAGE_BYTES}"
                )
            spooled.seek(0)
            image = spooled.read()
        finally:
            data.image.file.close()
        return museum.similar_failures().for_image(
            image,
            role=data.role,
            failure_type=data.failure_type,
            emotion=data.emotion,
            count=data.count,
        )
