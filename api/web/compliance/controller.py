"""The compliance desk (`/compliance`, staff as the API's reports: compliance and curators).

- `/compliance`: the latest signed head with "verify now", the erasures at a glance, the
  training runs (each with its consent proof), the deployed model's training data summary and
  how concentrated credit was over a period;
- `POST /compliance/verification`: `museum ledger verify` (`api.http.ledger.controller.
  verify_ledger`), its verdict swapped in place by htmx or shown as a page;
- `/compliance/erasures`: the erasure tracker: deadlines, time left, overdue ones first;
- `/compliance/runs/{run_id}`: a run's consent proof, each item with the consent event it
  relied on and that event's receipt, and the donations it left out and why
  (`proof.json`: the same page of the report, to check offline).

All of it is the API's reports (`ledger.compliance.ComplianceReports`, `ledger.erasures`):
no rule is worked out here.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Annotated, Any
from uuid import UUID

import msgspec
from litestar import Controller, MediaType, Request, Response, get, post
from litestar.params import FromPath, QueryParameter
from litestar.response import Template

from api.http.auth.access import STAFF, allow
from api.http.deps import Museum
from api.http.ledger.controller import verify_ledger
from api.http.museum import MuseumServices
from api.web.rendering import menu, page
from api.web.requests import Form, OptionalDay, is_htmx, midnight
from ledger.compliance import DEFAULT_PAGE, ComplianceReports
from ledger.compliance_views import TrainingDataSummaryRead, TrainingRunReportRead
from ledger.erasures import Erasures
from ledger.errors import IntegrityViolation, InvalidInput, NotFound, ProofError
from ledger.views import AuditRead

DESK = allow(*STAFF)
RUNS_SHOWN = 50
CONCENTRATION_DAYS = 365
After = Annotated[str | None, QueryParameter(name="after", max_length=128)]


class VerifyForm(msgspec.Struct, kw_only=True):
    projections: Annotated[str, msgspec.Meta(max_length=8)] = ""


class Verdict(msgspec.Struct, frozen=True, kw_only=True):
    """What "verify now" found: the audit's figures, or the first fault and where it is."""

    at: str
    audit: AuditRead | None = None
    fault: str | None = None
    position: int | None = None


def verdict_of(museum: MuseumServices, projections: bool) -> Verdict:
    at = datetime.now(UTC).isoformat()
    try:
        return Verdict(at=at, audit=verify_ledger(museum, projections))
    except IntegrityViolation as broken:
        return Verdict(at=at, fault=str(broken), position=broken.position)
    except ProofError as broken:
        return Verdict(at=at, fault=str(broken))


def _summary(reports: ComplianceReports) -> TrainingDataSummaryRead | None:
    try:
        return reports.training_data_summary()
    except NotFound:
        return None  # no model deployed yet


def _run_report(museum: MuseumServices, run_id: UUID, after: str | None) -> TrainingRunReportRead:
    return ComplianceReports(museum.ledger).training_run(run_id, after=after, limit=DEFAULT_PAGE)


class ComplianceDeskController(Controller):
    path = "/compliance"

    @get("/", opt=DESK | menu("Compliance desk", 40), sync_to_thread=True, name="compliance")
    def desk(self, museum: Museum, start: OptionalDay = None, end: OptionalDay = None) -> Template:
        """The desk: signed head and verify, erasures, runs, training data, concentration."""
        until = end or datetime.now(UTC).date() + timedelta(days=1)
        since = start or until - timedelta(days=CONCENTRATION_DAYS)
        reports = ComplianceReports(museum.ledger)
        integrity = museum.ledger.integrity
        runs, more_runs = museum.model_reads.runs(None, RUNS_SHOWN)
        return page(
            "compliance_desk",
            head=integrity.sign_head().as_dict(),
            public_key=integrity.public_key_hex,
            erasures=reports.erasures(),
            runs=runs,
            more_runs=more_runs is not None,
            summary=_summary(reports),
            concentration=reports.attribution_concentration(midnight(since), midnight(until)),
            since=since,
            until=until,
            verdict=None,
        )

    @post("/verification", opt=DESK, sync_to_thread=True)
    def verify(
        self,
        request: Request[Any, Any, Any],
        museum: Museum,
        data: Annotated[VerifyForm, Form],
    ) -> Template:
        """Verify the whole ledger now; the verdict (the fragment when htmx asked)."""
        if data.projections not in ("", "yes"):
            raise InvalidInput("projections is 'yes' or absent")
        verdict = verdict_of(museum, data.projections == "yes")
        return page("_verdict" if is_htmx(request) else "compliance_verdict", verdict=verdict)

    @get("/erasures", opt=DESK, sync_to_thread=True)
    def erasures(self, museum: Museum) -> Template:
        """Every erasure with its deadline, time left or overdue, and what it waits for."""
        report = ComplianceReports(museum.ledger).erasures()
        progress = {e.artist_id: e for e in Erasures(museum.ledger).every()}
        return page("compliance_erasures", report=report, progress=progress)

    @get("/runs/{run_id:uuid}", opt=DESK, sync_to_thread=True)
    def run(self, museum: Museum, run_id: FromPath[UUID], after: After = None) -> Template:
        """A run's consent proof: items, the consent events relied on with receipts, and the
        donations left out (their first page)."""
        report = _run_report(museum, run_id, after)
        excluded = ComplianceReports(museum.ledger).run_exclusions(run_id, limit=DEFAULT_PAGE)
        return page("compliance_run", report=report, excluded=excluded, after=after)

    @get("/runs/{run_id:uuid}/proof.json", opt=DESK, sync_to_thread=True, media_type=MediaType.JSON)
    def proof(
        self, museum: Museum, run_id: FromPath[UUID], after: After = None
    ) -> Response[TrainingRunReportRead]:
        """The same page of the consent proof as a file: each receipt checks offline
        (`ledger.receipt.verify_receipt`, `museum ledger check-receipt`)."""
        report = _run_report(museum, run_id, after)
        name = f"consent-proof-{run_id}.json"
        return Response(
            report,
            media_type=MediaType.JSON,
            headers={"Content-Disposition": f'attachment; filename="{name}"'},
        )
