"""`/api/v1/compliance/…`: the reports a regulator asks for, read-only.

Staff (compliance, curators) read the run, erasure and concentration reports; the training-data
summary of the deployed model is public, as the EU AI Act's summary template intends. The
reports page with their own `next` cursor (a report carries counts over all of its rows).
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated
from uuid import UUID

from litestar import Controller, get
from litestar.params import FromPath, QueryParameter

from api.http.auth.access import EVERYONE, STAFF, allow
from api.http.deps import Museum
from ledger.compliance import DEFAULT_PAGE, MAX_PAGE, ComplianceReports
from ledger.compliance_views import (
    AttributionConcentrationRead,
    ErasuresReportRead,
    RunExclusionsRead,
    TrainingDataSummaryRead,
    TrainingRunReportRead,
)

After = Annotated[
    str | None,
    QueryParameter(name="after", max_length=128, description="The `next` of the previous page."),
]
Limit = Annotated[
    int, QueryParameter(name="limit", ge=1, le=MAX_PAGE, description="Rows per page.")
]


class ComplianceController(Controller):
    path = "/compliance"
    tags = ("compliance",)

    @get("/runs/{run_id:uuid}", opt=allow(*STAFF), sync_to_thread=True)
    def training_run(
        self,
        museum: Museum,
        run_id: FromPath[UUID],
        after: After = None,
        limit: Limit = DEFAULT_PAGE,
    ) -> TrainingRunReportRead:
        """Every item of a training run with the consent event that allowed it and that event's
        inclusion receipt (all receipts of a page under one signed head), and which visitor
        feedback changed what the run saw (`feedback_effects`: the feedback events relied on,
        each donation's weight and share of its shard's draws against the unweighted
        baseline; empty when none did)."""
        return ComplianceReports(museum.ledger).training_run(run_id, after=after, limit=limit)

    @get("/runs/{run_id:uuid}/excluded", opt=allow(*STAFF), sync_to_thread=True)
    def run_exclusions(
        self,
        museum: Museum,
        run_id: FromPath[UUID],
        after: After = None,
        limit: Limit = DEFAULT_PAGE,
    ) -> RunExclusionsRead:
        """The donations the run did not train on, and why (never granted, revoked before the
        start, erased artist, donated after the start, granted during the snapshot)."""
        return ComplianceReports(museum.ledger).run_exclusions(run_id, after=after, limit=limit)

    @get("/erasures", opt=allow(*STAFF), sync_to_thread=True)
    def erasures(self, museum: Museum) -> ErasuresReportRead:
        """Every erasure: requested, 30-day deadline, completed, by which retraining runs, and
        which are overdue now."""
        return ComplianceReports(museum.ledger).erasures()

    @get("/training-data", opt=allow(*EVERYONE), sync_to_thread=True)
    def training_data(
        self,
        museum: Museum,
        version: Annotated[
            UUID | None,
            QueryParameter(name="version", description="A model version; default: deployed."),
        ] = None,
    ) -> TrainingDataSummaryRead:
        """The public summary of what the deployed model was trained on: counts by culture,
        region, genre, failure type and stage role, donors, consent basis, date ranges."""
        return ComplianceReports(museum.ledger).training_data_summary(version)

    @get("/attribution-concentration", opt=allow(*STAFF), sync_to_thread=True)
    def attribution_concentration(
        self,
        museum: Museum,
        start: Annotated[datetime, QueryParameter(name="start", description="ISO time with zone.")],
        end: Annotated[datetime, QueryParameter(name="end", description="ISO time with zone.")],
        method: Annotated[str | None, QueryParameter(name="method", max_length=64)] = None,
    ) -> AttributionConcentrationRead:
        """How concentrated credit is across artists in [start, end): Gini and top-10 share."""
        return ComplianceReports(museum.ledger).attribution_concentration(start, end, method=method)
