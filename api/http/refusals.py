"""The refusals each operation of the OpenAPI document lists, every one an RFC 9457 problem.

Written once for the whole API rather than per handler, from what the frame knows of a route:
any key may be malformed or revoked (401) and integrator keys are rate limited (429) on every
route; a rule that leaves out a key role, or asks for membership, refuses with 403; parameters or
a body can fail to validate (400, 422); a body can be too large or of the wrong type (413, 415);
a handler that uses the museum's services can answer with any of the ledger's refusals (404,
409, 410, 422) or find the database unreachable (503); a path parameter can name nothing (404).
A status the handler documents itself (`responses=`) wins. A route open to visitors lists "no
key" beside the API key among its security requirements.
"""

from __future__ import annotations

from typing import Any

from litestar import Litestar
from litestar.handlers import HTTPRouteHandler
from litestar.openapi.datastructures import ResponseSpec
from litestar.routes import HTTPRoute

from api.http.auth.access import rule_of
from api.http.auth.principal import Role
from api.http.problems import TITLES
from ledger.views import View

PROBLEM_MEDIA_TYPE = "application/problem+json"
WRITES = frozenset({"POST", "PUT", "PATCH"})
# Dependencies every handler may name that touch nothing: the caller.
INERT = frozenset({"principal", "self"})
NO_KEY: dict[str, list[str]] = {}  # the empty security requirement: no key needed


class ProblemRead(View, frozen=True, kw_only=True):
    """An RFC 9457 problem: `type` names the refusal (`urn:failure-museum:problem:…`)."""

    type: str
    title: str
    status: int
    detail: str | None = None
    errors: list[dict[str, Any]] | None = None  # what did not validate (422)
    incident: str | None = None  # the log's reference of an unexpected error (500)


def _problem(status: int) -> ResponseSpec:
    return ResponseSpec(
        data_container=ProblemRead,
        media_type=PROBLEM_MEDIA_TYPE,
        description=TITLES.get(status, "Refused"),
        generate_examples=False,
    )


def refusals_of(handler: HTTPRouteHandler, path_parameters: bool) -> set[int]:
    """The statuses a handler can refuse with, by the rules in the module's docstring."""
    statuses = {401, 429}
    rule = rule_of(handler.opt)
    if rule is None or rule.members_only or not set(Role) - {Role.VISITOR} <= rule.roles:
        statuses.add(403)
    parameters = set(handler.parsed_fn_signature.parameters) - INERT
    if parameters or path_parameters:
        statuses |= {400, 422}
    if "data" in parameters or handler.http_methods & WRITES:
        statuses |= {413, 415}
    dependencies = set(handler.resolve_dependencies()) - INERT
    if parameters & dependencies:
        statuses |= {404, 409, 410, 422, 503}
    if path_parameters:
        statuses.add(404)
    return statuses


def document_refusals(app: Litestar) -> None:
    """Add each operation's problem responses to its handler, before the document is built."""
    for route in app.routes:
        if not isinstance(route, HTTPRoute):
            continue
        for handler in route.route_handlers:
            if not handler.resolve_include_in_schema():
                continue
            rule = rule_of(handler.opt)
            if rule is not None and rule.public and NO_KEY not in (handler.security or []):
                handler.security = [*(handler.security or []), NO_KEY]
            own = dict(handler.responses or {})
            statuses = refusals_of(handler, bool(route.path_parameters))
            handler.responses = {
                status: own.get(status, _problem(status)) for status in sorted(statuses)
            } | own
