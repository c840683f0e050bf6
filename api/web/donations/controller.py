"""Donate (`/donate`, artists), a donation's page with its receipt, and its stage images.

The form goes the API's way (`api.http.donations.upload.donation_create`, then
`MuseumLedger.donate`): a refusal re-renders the form with the reason and what was typed, and
nothing is recorded. Who sees a donation is the exhibition's rule (`ledger.exhibition`): its
artist and compliance always, everyone else while it has `exhibit` consent.
"""

from __future__ import annotations

from typing import Annotated, Any
from uuid import UUID

import anyio.to_thread
from litestar import Controller, Request, Response, get, post
from litestar.exceptions import HTTPException
from litestar.params import FromPath, QueryParameter
from litestar.response import Redirect, Template

from api.http.auth.access import EVERYONE, STAFF, allow
from api.http.auth.principal import Principal, Role
from api.http.deps import Caller, Museum
from api.http.donations.upload import MAX_UPLOAD, donation_create
from api.http.ledger.controller import may_see_receipt
from api.http.museum import MuseumServices
from api.web.donations.form import DEFAULT_STAGES, DonateForm, StageFields, close
from api.web.rendering import menu, page
from api.web.requests import is_htmx
from ledger.domain.donation import MAX_STAGES
from ledger.errors import Conflict, InvalidInput, LedgerError, NotFound
from ledger.schemas import RIGHTS_STATEMENT_V1
from ledger.views import ReceiptRead
from ledger.vocabulary import Emotion, FailureType, Purpose, StageRole

CREATED = 1  # a donation's receipt proves its `DonationMade` event
Stages = Annotated[int, QueryParameter(name="stages", ge=1, le=MAX_STAGES)]
Index = Annotated[int, QueryParameter(name="index", ge=0, lt=MAX_STAGES)]
VOCABULARY: dict[str, Any] = {
    "roles": [r.value for r in StageRole],
    "failure_types": [f.value for f in FailureType],
    "emotions": [e.value for e in Emotion],
    "purposes": [
        (Purpose.EXHIBIT.value, "Exhibit it beside the works it shaped"),
        (Purpose.TRAIN.value, "Train the museum's model on it"),
        (Purpose.COMMERCIAL.value, "Share in commercial use (you earn royalties from it)"),
        (Purpose.RESEARCH.value, "Use it for research"),
    ],
    "statement": RIGHTS_STATEMENT_V1,
    "max_stages": MAX_STAGES,
}


def _form_page(form: DonateForm, status: int = 200, message: str | None = None) -> Template:
    return page("donate", status, form=form, message=message, **VOCABULARY)


def _donate(museum: MuseumServices, principal: Principal, form: DonateForm) -> UUID:
    if principal.artist_id is None:
        raise InvalidInput("only an artist key donates")  # an artist key always has an id
    request = donation_create(principal.artist_id, form.manifest(), form.files(), "stage images")
    return museum.ledger.donate(request).donation_id


class DonateController(Controller):
    path = "/donate"

    @get("/", opt=allow(Role.ARTIST) | menu("Donate", 20), sync_to_thread=False, name="donate")
    def form(self, stages: Stages = DEFAULT_STAGES) -> Template:
        """The form: the museum label, the rights attestation and `stages` stage rows."""
        return _form_page(DonateForm.blank_with(stages))

    @get("/stage", opt=allow(Role.ARTIST), sync_to_thread=False)
    def stage_row(self, index: Index) -> Template:
        """One more stage row (htmx puts it at the end of the list)."""
        return page("donate_stage", index=index, stage=StageFields(), **VOCABULARY)

    @post("/", opt=allow(Role.ARTIST), request_max_body_size=MAX_UPLOAD)
    async def donate(
        self, request: Request[Any, Any, Any], museum: Museum, principal: Caller
    ) -> Response[Any]:
        """Record the donation and show it with its receipt; or the form again, with why not."""
        form = DonateForm.read(await request.form())
        try:
            donation_id = await anyio.to_thread.run_sync(_donate, museum, principal, form)
        except (LedgerError, HTTPException) as exc:
            status = exc.http_status if isinstance(exc, LedgerError) else exc.status_code
            message = str(exc) if isinstance(exc, LedgerError) else exc.detail
            return _form_page(form, status, message)
        finally:
            close(form)
        return Redirect(f"/donations/{donation_id}?donated=1", status_code=303)


class DonationPagesController(Controller):
    path = "/donations/{donation_id:uuid}"

    @get("/", opt=allow(*EVERYONE), sync_to_thread=True, name="donation")
    def donation(
        self,
        museum: Museum,
        principal: Caller,
        donation_id: FromPath[UUID],
        donated: Annotated[bool, QueryParameter(name="donated")] = False,
    ) -> Template:
        """A donation: label, stages, consents; for its artist and staff, its receipt."""
        donation = museum.exhibition.donation(donation_id, principal.may_see_artist)
        owner = principal.may_see_artist(UUID(donation.artist_id))
        shown = None
        if owner or principal.role in STAFF:  # no receipt is made for a caller who may not see it
            receipt = museum.ledger.integrity.receipt_for(donation_id, CREATED)
            shown = receipt if may_see_receipt(principal, receipt, museum) else None
        return page("donation", donation=donation, receipt=shown, owner=owner, donated=donated)

    @get(
        "/receipt.json", opt=allow(Role.ARTIST, Role.COMPLIANCE, Role.CURATOR), sync_to_thread=True
    )
    def receipt(
        self, museum: Museum, principal: Caller, donation_id: FromPath[UUID]
    ) -> ReceiptRead:
        """The receipt of the donation's event, for its artist and staff (as the API's)."""
        receipt = museum.ledger.integrity.receipt_for(donation_id, CREATED)
        if not may_see_receipt(principal, receipt, museum):
            raise NotFound(f"no donation {donation_id}")
        return receipt

    @get("/stages/{index:int}/similar-failures", opt=allow(*EVERYONE), sync_to_thread=True)
    def similar_failures(
        self,
        request: Request[Any, Any, Any],
        museum: Museum,
        principal: Caller,
        donation_id: FromPath[UUID],
        index: FromPath[int],
    ) -> Template:
        """How others moved on from a failure like this stage (`generation.similar`): the
        fragment htmx swaps into the donation's page, or a page of its own. The donation is
        shown by the exhibition's rule; while the model cannot compare (none deployed yet, or
        no loadable weights) the fragment says so."""
        donation = museum.exhibition.donation(donation_id, principal.may_see_artist)
        if not 0 <= index < len(donation.stages):
            raise NotFound(f"donation {donation_id} has no stage {index}")
        found, reason = None, None
        try:
            found = museum.similar_failures().for_stage(
                donation_id, index, sees_all=principal.may_see_artist
            )
        except NotFound as exc:
            reason = str(exc)  # no model deployed yet
        except Conflict as exc:
            reason = str(exc)  # no exhibit consent (its own artist), or no loadable weights
        return page(
            "_similar" if is_htmx(request) else "similar",
            found=found,
            reason=reason,
            donation_id=str(donation_id),
            index=index,
        )

    @get(
        "/stages/{index:int}/image", opt=allow(*EVERYONE), sync_to_thread=True, media_type="image/*"
    )
    def stage_image(
        self, museum: Museum, principal: Caller, donation_id: FromPath[UUID], index: FromPath[int]
    ) -> Response[bytes]:
        """A stage's image as donated (the exhibition's rule; 410 once the artist is erased)."""
        image = museum.exhibition.stage_image(donation_id, index, principal.may_see_artist)
        return Response(content=image.data, media_type=image.media_type)
