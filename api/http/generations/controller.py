"""Generations (`/generations`): the exhibition's images, their records, their attribution.

Integrators, curators and members (artists with a donation on record) make images (a
`generate` job: 202) and ask for attributions (an `attribute` job: 202). Everything read here
is exhibition material, open to visitors: the record holds no personal data, and the credit
names artists by pseudonym only ("anonymous donor", "erased donor" where that applies).
"""

from __future__ import annotations

from uuid import UUID

import anyio.to_thread
from litestar import Controller, Response, get, post
from litestar.params import FromPath, JSONBody

from api.http.auth.access import EVERYONE, allow
from api.http.auth.principal import Role
from api.http.deps import Caller, Museum
from api.http.generations.schemas import AttributionCreate, GenerationCreate
from api.http.jobs.responses import LOCATION, IdempotencyKey, accepted
from api.http.jobs.schemas import JobRead
from api.http.pagination import Cursor, Limit, Page, page
from generation.credentials.views import CredentialsRead
from ledger.errors import NotFound
from ledger.model_views import AttributionRead, GenerationRead

MAKERS = allow(Role.INTEGRATOR, Role.CURATOR, Role.ARTIST, members_only=True)
PUBLIC = allow(*EVERYONE)


class GenerationController(Controller):
    path = "/generations"
    tags = ("generations",)

    @post("/", opt=MAKERS, status_code=202, response_headers=LOCATION)
    async def generate(
        self,
        museum: Museum,
        principal: Caller,
        data: JSONBody[GenerationCreate],
        idempotency_key: IdempotencyKey = None,
    ) -> Response[JobRead]:
        """Make one image with a model version (the deployed one by default): a job. An
        unknown role or emotion is a 422; no deployed version, or an unknown one, a 404."""
        version = data.version
        await anyio.to_thread.run_sync(museum.models.model_version, version)
        job = await museum.jobs.submit(
            "generate",
            {
                "role": data.role.value,
                "emotion": data.emotion.value,
                "seed": data.seed,
                "steps": data.steps,
                "version": None if version is None else str(version),
            },
            principal,
            idempotency_key,
        )
        return accepted(job)

    @get("/", opt=PUBLIC, sync_to_thread=True)
    def generations(
        self, museum: Museum, cursor: Cursor = None, limit: Limit = 50
    ) -> Page[GenerationRead]:
        """Generations in the order they were made."""
        items, following = museum.model_reads.generations(cursor, limit)
        return page(items, limit, following)

    @get("/{generation_id:uuid}", opt=PUBLIC, sync_to_thread=True)
    def generation(self, museum: Museum, generation_id: FromPath[UUID]) -> GenerationRead:
        """A generation's record: model version and checkpoints, conditioning, seed, steps and
        the digest of its image."""
        return museum.model_reads.generation(generation_id)

    @get("/{generation_id:uuid}/image", opt=PUBLIC, sync_to_thread=True, media_type="image/png")
    def image(self, museum: Museum, generation_id: FromPath[UUID]) -> Response[bytes]:
        """The generated image (PNG) with its content credentials: the newest signed C2PA
        manifest (trained algorithmic media, the ledger record, the credit by pseudonym, the
        ledger receipt). Issued on first request if the image has none or was attributed since.
        The pixels are those the record's `output_sha256` names."""
        return Response(museum.credentials.signed_png(generation_id), media_type="image/png")

    @get("/{generation_id:uuid}/credentials", opt=PUBLIC, sync_to_thread=True)
    def credentials(self, museum: Museum, generation_id: FromPath[UUID]) -> CredentialsRead:
        """The image's content credentials: every signed manifest version issued (each later
        one has the one before as its parent ingredient), and the newest read back and checked
        offline against the museum's root (`verdict`, credit lines, receipt)."""
        return museum.credentials.describe(generation_id)

    @get("/{generation_id:uuid}/attribution", opt=PUBLIC, sync_to_thread=True)
    def attribution(self, museum: Museum, generation_id: FromPath[UUID]) -> AttributionRead:
        """The generation's latest attribution: top items, shares (ppm) per item, donation,
        stage role and artist (by pseudonym), method and index hash. A 404 before the first."""
        latest = museum.attributions.latest_for(generation_id)
        if latest is None:
            raise NotFound(f"generation {generation_id} has no attribution yet")
        return museum.attributions.describe(latest)

    @get("/{generation_id:uuid}/attributions", opt=PUBLIC, sync_to_thread=True)
    def attributions(self, museum: Museum, generation_id: FromPath[UUID]) -> list[AttributionRead]:
        """Every attribution recorded for the generation, oldest first (one per method and
        index)."""
        records = museum.attributions
        return [records.describe(found) for found in records.for_generation(generation_id)]

    @post(
        "/{generation_id:uuid}/attributions", opt=MAKERS, status_code=202, response_headers=LOCATION
    )
    async def attribute(
        self,
        museum: Museum,
        principal: Caller,
        generation_id: FromPath[UUID],
        data: JSONBody[AttributionCreate],
        idempotency_key: IdempotencyKey = None,
    ) -> Response[JobRead]:
        """Attribute the generation with a named method (the default when absent): a job. An
        unknown method or a setting out of its range is a 422; an unknown generation a 404."""
        await anyio.to_thread.run_sync(museum.models.get_generation, generation_id)
        job = await museum.jobs.submit(
            "attribute",
            {
                "generation_id": str(generation_id),
                "method": data.method,
                "top": data.top,
                "timesteps": data.timesteps,
                "dim": data.dim,
                "checkpoints": data.checkpoints,
            },
            principal,
            idempotency_key,
        )
        return accepted(job)
