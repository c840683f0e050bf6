"""Every controller of the API, in the order the OpenAPI document lists them."""

from __future__ import annotations

from typing import Any

from api.http.artists.controller import ArtistsController
from api.http.compliance.controller import ComplianceController
from api.http.consent.controller import ConsentController
from api.http.donations.controller import DonationsController
from api.http.erasure.controller import ErasureController
from api.http.feedback.controller import FeedbackController
from api.http.generations.continuations import ContinuationController
from api.http.generations.controller import GenerationController
from api.http.health.controller import HealthController, MetricsController
from api.http.jobs.controller import JobController
from api.http.keys.controller import KeysController
from api.http.ledger.controller import LedgerController
from api.http.listings.controller import ListingsController
from api.http.log.controller import LogController
from api.http.model.controller import ModelController, RetrainingController, RunController
from api.http.royalties.controller import (
    BalanceController,
    PayoutController,
    RevenueController,
    StatementController,
)
from api.http.similar.controller import SimilarStageController, SimilarUploadController

ROUTE_HANDLERS: list[Any] = [
    HealthController,
    ListingsController,
    ArtistsController,
    DonationsController,
    ConsentController,
    FeedbackController,
    ErasureController,
    RunController,
    RetrainingController,
    ModelController,
    GenerationController,
    ContinuationController,
    SimilarStageController,
    SimilarUploadController,
    JobController,
    RevenueController,
    PayoutController,
    BalanceController,
    StatementController,
    LedgerController,
    LogController,
    ComplianceController,
    KeysController,
    MetricsController,
]
