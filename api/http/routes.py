"""Every controller of the API, in the order the OpenAPI document lists them."""

from __future__ import annotations

from typing import Any

from api.http.generations.controller import GenerationController
from api.http.health.controller import HealthController
from api.http.jobs.controller import JobController
from api.http.model.controller import ModelController, RunController

ROUTE_HANDLERS: list[Any] = [
    HealthController,
    RunController,
    ModelController,
    GenerationController,
    JobController,
]
