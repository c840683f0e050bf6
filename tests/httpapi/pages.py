"""Helpers of the page tests: signing a test client in as a key, the CSRF token of its session,
and the links a page makes (every one must be served by the museum itself).

A page test signs in the way a browser does: GET the sign-in form (which sets the CSRF cookie),
POST the key with the form's token, keep the session cookie. `signed_in(client, keys, "member")`
does that for one of the `keys` fixture's principals; `form_token(client)` is the token a form
posted by that client must carry (`_csrf_token`).
"""

from __future__ import annotations

import re
from html.parser import HTMLParser

from litestar import Litestar
from litestar.testing import TestClient

from api.web.frame import CSRF_COOKIE
from api.web.sessions import COOKIE
from httpapi.conftest import Keys

Client = TestClient[Litestar]


def secret_of(keys: Keys, name: str) -> str:
    return keys[name]["Authorization"].removeprefix("Bearer ")


def form_token(client: Client) -> str:
    """The CSRF token for the next form post (a GET of any page sets the cookie first)."""
    if CSRF_COOKIE not in client.cookies:
        client.get("/sign-in")
    return str(client.cookies[CSRF_COOKIE])


def sign_in_with(client: Client, secret: str, next_path: str = "/") -> int:
    """Sign in with a key through the form; the status of the answer (303 when it worked)."""
    response = client.post(
        "/sign-in",
        data={"key": secret, "next": next_path, "_csrf_token": form_token(client)},
        follow_redirects=False,
    )
    return response.status_code


def signed_in(client: Client, keys: Keys, name: str) -> Client:
    """`client` with fresh cookies, signed in as the principal `name` (a visitor stays out)."""
    client.cookies.clear()
    if name != "visitor":
        status = sign_in_with(client, secret_of(keys, name))
        assert status == 303, f"signing in as {name} answered {status}"
        assert COOKIE in client.cookies
    return client


class _Links(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.found: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        for name, value in attrs:
            if name in ("src", "href", "action", "hx-get", "hx-post") and value:
                self.found.append(value)


def links_of(html: str) -> list[str]:
    """Every URL a page names in src, href, action or an htmx attribute."""
    parser = _Links()
    parser.feed(html)
    return parser.found


def csrf_field(html: str) -> str | None:
    found = re.search(r'name="_csrf_token" value="([^"]+)"', html)
    return None if found is None else found.group(1)
