"""Every error as an RFC 9457 problem-details body (`application/problem+json`).

The ledger's refusals carry their HTTP status (`ledger/errors.py`); Litestar's own (a bad
parameter, an unknown route, a body too large, a rate limit) keep theirs, except that a request
that does not validate is a 422 like every other bad input. Anything unexpected is a 500 whose
body names an incident id and nothing of the failure; the traceback goes to the log.
"""

from __future__ import annotations

import logging
import re
import secrets
from collections.abc import Callable, Mapping
from typing import Any

from litestar.exceptions import HTTPException, ValidationException
from litestar.plugins.problem_details import (
    ProblemDetailsConfig,
    ProblemDetailsException,
    ProblemDetailsPlugin,
)
from litestar.status_codes import HTTP_422_UNPROCESSABLE_ENTITY

from ledger.errors import LedgerError

logger = logging.getLogger("museum.http")

TYPE_BASE = "urn:failure-museum:problem:"
TITLES = {
    400: "Bad request",
    401: "API key needed",
    403: "Not allowed",
    404: "Not found",
    405: "Method not allowed",
    409: "Conflict",
    410: "Erased",
    413: "Too large",
    415: "Unsupported media type",
    422: "Invalid input",
    429: "Too many requests",
    500: "Internal error",
    503: "Unavailable",
}


def _kind(name: str) -> str:
    """`KeyShredded` → `key-shredded`: the problem type names the ledger's error class."""
    return re.sub(r"(?<!^)(?=[A-Z])", "-", name).lower()


def ledger_problem(exc: LedgerError) -> ProblemDetailsException:
    status = exc.http_status
    return ProblemDetailsException(
        status_code=status,
        type_=TYPE_BASE + _kind(type(exc).__name__),
        title=TITLES.get(status, "Refused"),
        detail=str(exc),
    )


def validation_problem(exc: ValidationException) -> ProblemDetailsException:
    extra = exc.extra
    errors = extra if isinstance(extra, list) else [extra] if isinstance(extra, Mapping) else []
    return ProblemDetailsException(
        status_code=HTTP_422_UNPROCESSABLE_ENTITY,
        type_=TYPE_BASE + "invalid-input",
        title=TITLES[422],
        detail=exc.detail or "the request does not validate",
        extra={"errors": errors},
    )


def http_problem(exc: HTTPException) -> ProblemDetailsException:
    status = exc.status_code
    if isinstance(exc, ProblemDetailsException):
        return exc
    if status == 400 and exc.detail == "Request Entity Too Large":
        status = 413  # a form over its part limit: Litestar 2 keeps a 400 (its FIXME for 3.0)
    return ProblemDetailsException(
        status_code=status,
        type_=TYPE_BASE + _kind(TITLES.get(status, "error").title().replace(" ", "")),
        title=TITLES.get(status, "Error"),
        detail=exc.detail,
        headers=exc.headers,
    )


def internal_problem(exc: Exception) -> ProblemDetailsException:
    incident = secrets.token_hex(6)
    logger.error("incident %s: %s", incident, type(exc).__name__, exc_info=exc)
    return ProblemDetailsException(
        status_code=500,
        type_=TYPE_BASE + "internal-error",
        title=TITLES[500],
        detail=f"the museum could not answer (incident {incident}, logged for its staff)",
        extra={"incident": incident},
    )


PROBLEMS: dict[type[Exception], Callable[[Any], ProblemDetailsException]] = {
    LedgerError: ledger_problem,
    ValidationException: validation_problem,
    HTTPException: http_problem,
    Exception: internal_problem,
}


def problem_of(exc: Exception) -> ProblemDetailsException:
    """The problem an exception answers with, by the first class of its MRO that `PROBLEMS`
    names (the pages render the same problem as HTML)."""
    if isinstance(exc, ProblemDetailsException):
        return exc
    for cls in type(exc).__mro__:
        found = PROBLEMS.get(cls)
        if found is not None:
            return found(exc)
    return internal_problem(exc)


def problem_details_plugin() -> ProblemDetailsPlugin:
    return ProblemDetailsPlugin(ProblemDetailsConfig(exception_to_problem_detail_map=PROBLEMS))
