"""Signing in to the pages: a server-side session that holds the key id, never the secret.

A sign-in (with an API key, or a one-time link) stores `{"key_id": …}` under a fresh random
session id in the `sessions` store (a directory under MUSEUM_HOME when embedded, Redis when
configured) and sets the id as an HttpOnly, SameSite=Lax cookie (Secure with
`MUSEUM_HTTP_SECURE_COOKIES=1`). Every page request reads the key id back and asks the key store
for its principal, so a revoked key ends its sessions at once (within the key cache's seconds on
other processes). Sign-out deletes the stored session.

Unlike Litestar's stock server-side backend, this one writes only when a sign-in or sign-out
changed the session (a visitor's request stores nothing and sets no cookie), and gives each
sign-in a new session id (a session id planted before sign-in is worth nothing after it). Change
the session only through `sign_in` and `sign_out`.

The JSON API never reads this cookie: the session middleware runs on the pages' router alone,
and /api/v1 takes Bearer keys only.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from litestar.connection import ASGIConnection
from litestar.datastructures import Cookie, MutableScopeHeaders
from litestar.middleware import ASGIMiddleware
from litestar.middleware.session.server_side import (
    ServerSideSessionBackend,
    ServerSideSessionConfig,
)
from litestar.types import ASGIApp, Message, Receive, Scope, ScopeSession, Send
from litestar.types.empty import Empty
from litestar.utils.dataclass import extract_dataclass_items

from api.http.auth.access import enforce_access
from api.http.auth.principal import VISITOR, Principal

COOKIE = "museum_session"
STORE = "sessions"
KEY_ID = "key_id"
# Set in the request's state by `sign_in` / `sign_out`: the session is to be written.
CHANGED = "museum_session_changed"


def _changed(connection: ASGIConnection[Any, Any, Any, Any]) -> bool:
    return bool(connection.scope.get("state", {}).get(CHANGED))


def _mark_changed(connection: ASGIConnection[Any, Any, Any, Any]) -> None:
    connection.scope.setdefault("state", {})[CHANGED] = True


class PageSessionBackend(ServerSideSessionBackend):
    """Stores a session only when it changed, under a new id at each sign-in."""

    async def store_in_message(
        self,
        scope_session: ScopeSession,
        message: Message,
        connection: ASGIConnection[Any, Any, Any, Any],
    ) -> None:
        if not _changed(connection):
            return
        store = self.config.get_store_from_app(connection.scope["app"])
        headers = MutableScopeHeaders.from_message(message)
        cookie_params = dict(
            extract_dataclass_items(self.config, exclude_none=True, include=Cookie.__dict__.keys())
        )
        previous = connection.cookies.get(self.config.key)
        if previous:
            await self.delete(previous, store=store)
        if scope_session is Empty or not scope_session:
            cookie = Cookie(value="", key=self.config.key, expires=0, **cookie_params)
        else:
            session_id = self.generate_session_id()
            await self.set(session_id, self.serialize_data(scope_session, connection.scope), store)
            cookie = Cookie(value=session_id, key=self.config.key, **cookie_params)
        headers.add("Set-Cookie", cookie.to_header(header=""))


@dataclass
class PageSessionConfig(ServerSideSessionConfig):
    _backend_class = PageSessionBackend


def session_config(hours: float, secure: bool) -> PageSessionConfig:
    return PageSessionConfig(
        key=COOKIE,
        max_age=max(1, int(hours * 3600)),
        httponly=True,
        samesite="lax",
        secure=secure,
        store=STORE,
        scopes={"http"},  # type: ignore[arg-type]  # ScopeType values are these strings
    )


def sign_in(connection: ASGIConnection[Any, Any, Any, Any], principal: Principal) -> None:
    """Start a session for `principal` (a new session id; the old session is deleted)."""
    connection.set_session({KEY_ID: principal.key_id})
    _mark_changed(connection)


def sign_out(connection: ASGIConnection[Any, Any, Any, Any]) -> None:
    connection.clear_session()
    _mark_changed(connection)


class PagePrincipal(ASGIMiddleware):
    """The caller of a page: the principal of the session's key, or a visitor. Runs after the
    session middleware; checks the page's access rule at once, so that a refused caller's
    request body is never read (the CSRF check would parse a form before the guard runs)."""

    scopes = ("http",)  # type: ignore[assignment]

    async def handle(self, scope: Scope, receive: Receive, send: Send, next_app: ASGIApp) -> None:
        connection: ASGIConnection[Any, Any, Any, Any] = ASGIConnection(scope, receive, send)
        principal = VISITOR
        session = scope.get("session")
        key_id = session.get(KEY_ID) if isinstance(session, dict) else None
        if isinstance(key_id, str):
            found = await scope["app"].state.museum.principal_of_key(key_id)
            if found is None:  # revoked (or gone): the session ends here
                await scope["app"].stores.get(STORE).delete(connection.cookies.get(COOKIE, ""))
                sign_out(connection)
            else:
                principal = found
        scope["user"] = principal
        enforce_access(connection, scope["route_handler"])
        await next_app(scope, receive, send)
