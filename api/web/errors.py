"""Errors on pages are pages: the same refusal the API would give, rendered as HTML.

`PageErrors` wraps every app-level exception handler (the problem-details ones): a request under
/api/ keeps its RFC 9457 body; any other path gets `error.html.j2` with the problem's status,
title and detail (`api.http.problems.problem_of`: one mapping of errors to problems for both).
A visitor refused a page they could see after signing in (401 on GET) is sent to the sign-in
page with the way back (303), never shown data.
"""

from __future__ import annotations

from collections.abc import Callable
from http import HTTPStatus
from typing import Any
from urllib.parse import quote

from litestar import Request, Response
from litestar.config.app import AppConfig
from litestar.plugins import InitPlugin
from litestar.response import Redirect, Template

from api.http.problems import problem_of
from api.web.rendering import SECURITY_HEADERS

API_PREFIX = "/api/"
SIGN_IN = "/sign-in"
CSRF_REFUSAL = "CSRF token verification failed"
# Where a page's words differ from the API's (which speaks of keys).
PAGE_TITLES = {401: "Sign in first", 403: "Not for you", 404: "Not found"}

Handler = Callable[[Request[Any, Any, Any], Exception], Response[Any]]


def sign_in_url(next_path: str) -> str:
    return f"{SIGN_IN}?next={quote(next_path, safe='/')}"


def _phrase(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return ""


def error_page(request: Request[Any, Any, Any], exc: Exception) -> Response[Any]:
    problem = problem_of(exc)
    status = problem.status_code
    if status == 401 and request.method in ("GET", "HEAD"):
        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        return Redirect(sign_in_url(target), status_code=303, headers=SECURITY_HEADERS)
    detail = problem.detail
    title = PAGE_TITLES.get(status, problem.title or "Refused")
    if detail and detail.casefold() == _phrase(status).casefold():
        detail = ""  # Litestar's own refusals say only their status's name
    if status == 403 and detail == CSRF_REFUSAL:
        detail = (
            "The form had expired, or it was sent from another site. Go back, reload the page "
            "and send it again."
        )
    headers = {
        name: value
        for name, value in (problem.headers or {}).items()
        if name.lower() != "www-authenticate"  # a page asks for a sign-in, not a Bearer key
    }
    return Template(
        template_name="error.html.j2",
        context={
            "status": status,
            "title": title,
            "detail": detail,
            "incident": (problem.extra or {}).get("incident")
            if isinstance(problem.extra, dict)
            else None,
        },
        status_code=status,
        headers=headers | SECURITY_HEADERS,
    )


def _outside_api(handler: Handler) -> Handler:
    def handle(request: Request[Any, Any, Any], exc: Exception) -> Response[Any]:
        if request.url.path.startswith(API_PREFIX):
            return handler(request, exc)
        return error_page(request, exc)

    return handle


class PageErrors(InitPlugin):
    """Listed after the problem-details plugin, whose handlers it wraps."""

    def on_app_init(self, app_config: AppConfig) -> AppConfig:
        app_config.exception_handlers = {
            kind: _outside_api(handler) for kind, handler in app_config.exception_handlers.items()
        }
        return app_config
