"""The exhibition (`/`), a work's page with its content credentials, its image and receipt.

All public, as the JSON API's generations are: a generated image holds no donor's image or
identity, its credit names donors by pseudonym, and the stages beside it are only those whose
donors exhibit them now (`ledger.exhibits`).
"""

from __future__ import annotations

from uuid import UUID

from litestar import Controller, Response, get
from litestar.params import FromPath
from litestar.response import Template

from api.http.auth.access import EVERYONE, allow
from api.http.deps import Museum
from api.http.pagination import Cursor
from api.web.rendering import menu, page
from ledger.views import ReceiptRead

PUBLIC = allow(*EVERYONE)
WORKS_PER_PAGE = 12
# A generation's receipt proves its `GenerationMade` event, the aggregate's first.
CREATED = 1


class ExhibitionController(Controller):
    @get("/", opt=PUBLIC | menu("Exhibition", 10), sync_to_thread=True, name="exhibition")
    def exhibition(self, museum: Museum, cursor: Cursor = None) -> Template:
        """The works, oldest first, a page at a time."""
        works, following = museum.exhibits.works(cursor, WORKS_PER_PAGE)
        return page("exhibition", works=works, next_cursor=following, first=cursor is None)

    @get("/works/{generation_id:uuid}", opt=PUBLIC, sync_to_thread=True, name="work")
    def work(self, museum: Museum, generation_id: FromPath[UUID]) -> Template:
        """A work, its credit and its content credentials: model version, seed, conditioning,
        attribution method and the ledger receipt of the generation."""
        work = museum.exhibits.work(generation_id)
        version = museum.model_reads.run(UUID(work.generation.model_version))
        receipt = museum.ledger.integrity.receipt_for(generation_id, CREATED)
        credentials = museum.credentials.describe(generation_id)
        return page("work", work=work, receipt=receipt, version=version, credentials=credentials)

    @get(
        "/works/{generation_id:uuid}/image", opt=PUBLIC, sync_to_thread=True, media_type="image/png"
    )
    def image(self, museum: Museum, generation_id: FromPath[UUID]) -> Response[bytes]:
        """The generated image with its newest signed manifest (a re-attribution issues a new
        version, so it is cached for minutes, not for good)."""
        return Response(
            museum.credentials.signed_png(generation_id),
            media_type="image/png",
            headers={"Cache-Control": "public, max-age=300"},
        )

    @get("/works/{generation_id:uuid}/receipt.json", opt=PUBLIC, sync_to_thread=True)
    def receipt(self, museum: Museum, generation_id: FromPath[UUID]) -> ReceiptRead:
        """The receipt of the generation's event: `museum ledger check-receipt` verifies it."""
        museum.model_reads.generation(generation_id)  # an unknown generation is a 404
        return museum.ledger.integrity.receipt_for(generation_id, CREATED)
