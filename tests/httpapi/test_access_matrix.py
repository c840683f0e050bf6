"""Every route × every role (and no key): each answers as the matrix says, and none is missing.

A route that the matrix does not list fails the first test; a rule in the app that differs from
the matrix fails the second (401 for no key, 403 for a role the rule does not name, anything but
those for a role it names; never a 5xx, whatever the placeholder ids and bodies).

The pages (every path outside /api/) are tried the way a browser reaches them: signed in by
session (`httpapi.pages.signed_in`), forms posted with their CSRF token; a visitor refused a
page is sent to sign in (303 to /sign-in) or, for a form, answered 401."""

from __future__ import annotations

import re
import uuid

import pytest
from litestar import Litestar
from litestar.testing import TestClient

from httpapi.conftest import Keys
from httpapi.matrix import ROLES, Rule, all_rules
from httpapi.pages import form_token, signed_in

PRINCIPALS = ("visitor", "artist", "member", "founder", "compliance", "integrator", "curator")
AUTO = {"OPTIONS"}


def app_routes(app: Litestar) -> set[tuple[str, str]]:
    found: set[tuple[str, str]] = set()
    for route in app.routes:
        for method in getattr(route, "methods", ()):
            if method not in AUTO:
                found.add((method, route.path))
    return found


def test_every_route_has_a_row_in_the_matrix(sqlite_client: TestClient[Litestar]) -> None:
    routes = app_routes(sqlite_client.app)
    rules = all_rules()
    missing = sorted(routes - set(rules))
    stale = sorted(set(rules) - routes)
    assert not missing, f"routes without a row in tests/httpapi/matrix: {missing}"
    assert not stale, f"rows for routes the app does not have: {stale}"


def concrete(path: str, keys: Keys) -> str:
    """A path with its parameters filled: an artist id of another member, a random id, …"""

    def fill(match: re.Match[str]) -> str:
        name, kind = match.group(1), match.group(2) or "str"
        if name == "artist_id":
            return keys.artist_ids["other_artist"]
        if name == "donation_id":
            return keys.donation_ids["other_artist"]
        if kind == "uuid":
            return str(uuid.uuid4())
        if kind == "int":
            return "0"
        if kind == "path":
            return "museum.css" if path.startswith("/static") else "swagger-ui.css"
        return "placeholder"

    return re.sub(r"\{(\w+)(?::(\w+))?\}", fill, path)


def expected_allowed(principal: str, rule: Rule) -> bool:
    role = "artist" if principal in ("artist", "member", "founder") else principal
    if role not in rule.roles:
        return False
    if rule.founders_only and principal in ("artist", "member"):
        return False
    return not (rule.members_only and principal == "artist")


def is_page(path: str) -> bool:
    return not path.startswith("/api/")


def refused_as_matrix_says(principal: str, path: str, method: str, status: int, where: str) -> bool:
    """A page sends a visitor to sign in (303) on GET; anything else refuses as the API does."""
    if principal == "visitor" and is_page(path) and method in ("GET", "HEAD"):
        return status == 303 and where.startswith("/sign-in?next=")
    return status == (401 if principal == "visitor" else 403)


def test_every_role_on_every_route(sqlite_client: TestClient[Litestar], keys: Keys) -> None:
    wrong: list[str] = []
    pages = sorted((k, r) for k, r in all_rules().items() if is_page(k[1]))
    api = sorted((k, r) for k, r in all_rules().items() if not is_page(k[1]))
    for (method, path), rule in api:
        url = concrete(path, keys)
        for principal in PRINCIPALS:
            body = {} if method in ("POST", "PUT", "PATCH") else None
            response = sqlite_client.request(method, url, headers=keys[principal], json=body)
            status = response.status_code
            if status >= 500:
                wrong.append(f"{principal} {method} {url}: {status} {response.text[:200]}")
            elif expected_allowed(principal, rule):
                if status in (401, 403):
                    wrong.append(f"{principal} {method} {path}: refused ({status}), matrix allows")
            else:
                want = 401 if principal == "visitor" else 403
                if status != want:
                    wrong.append(f"{principal} {method} {path}: {status}, matrix says {want}")
    for principal in PRINCIPALS:
        client = signed_in(sqlite_client, keys, principal)
        for (method, path), rule in pages:
            url = concrete(path, keys)
            data = {"_csrf_token": form_token(client)} if method == "POST" else None
            response = client.request(method, url, data=data, follow_redirects=False)
            status, where = response.status_code, response.headers.get("location", "")
            if status >= 500:
                wrong.append(f"{principal} {method} {url}: {status} {response.text[:200]}")
            elif expected_allowed(principal, rule):
                if status in (401, 403) or where.startswith("/sign-in?next="):
                    wrong.append(f"{principal} {method} {path}: refused ({status}), matrix allows")
            elif not refused_as_matrix_says(principal, path, method, status, where):
                wrong.append(f"{principal} {method} {path}: {status}, matrix refuses")
            if path == "/sign-out" and principal != "visitor":
                client = signed_in(sqlite_client, keys, principal)  # it signed itself out
    assert not wrong, "\n".join(wrong)


def test_refusals_are_problem_details(sqlite_client: TestClient[Litestar], keys: Keys) -> None:
    response = sqlite_client.get("/api/v1/nowhere")
    assert response.status_code == 404
    assert response.headers["content-type"].startswith("application/problem+json")
    assert response.json()["status"] == 404
    bad = sqlite_client.get("/api/v1/health", headers={"Authorization": "Bearer museum_nope"})
    assert bad.status_code == 401
    assert bad.json()["title"] == "API key needed"
    assert "WWW-Authenticate" in bad.headers


@pytest.mark.parametrize("role", [r for r in ROLES if r != "visitor"])
def test_a_revoked_key_is_refused_at_once(
    sqlite_client: TestClient[Litestar], keys: Keys, role: str
) -> None:
    museum = sqlite_client.app.state.museum
    issued = museum.keys.create(
        role,
        f"short-lived {role}",
        None if role != "artist" else uuid.UUID(keys.artist_ids["member"]),
    )
    headers = {"Authorization": f"Bearer {issued.secret}"}
    assert sqlite_client.get("/api/v1/health", headers=headers).status_code == 200
    museum.keys.revoke(issued.key.key_id)
    assert sqlite_client.get("/api/v1/health", headers=headers).status_code == 401
