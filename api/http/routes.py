"""Every controller of the API, in the order the OpenAPI document lists them."""

from __future__ import annotations

from typing import Any

from api.http.compliance.controller import ComplianceController
from api.http.health.controller import HealthController

ROUTE_HANDLERS: list[Any] = [
    HealthController,
    ComplianceController,
]
