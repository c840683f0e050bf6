"""Authentication: `Authorization: Bearer museum_…` → the key's principal; no header → visitor.

Only the header carries a key (never the query string, so keys stay out of access logs and
proxies' URLs); a key that is malformed, unknown or revoked is a 401, never a visitor.
"""

from __future__ import annotations

from typing import Any

from litestar.connection import ASGIConnection
from litestar.exceptions import NotAuthorizedException
from litestar.middleware import AbstractAuthenticationMiddleware, AuthenticationResult

from api.http.auth.principal import VISITOR

SCHEME = "bearer"


class ApiKeyMiddleware(AbstractAuthenticationMiddleware):
    async def authenticate_request(
        self, connection: ASGIConnection[Any, Any, Any, Any]
    ) -> AuthenticationResult:
        header = connection.headers.get("authorization")
        if header is None:
            return AuthenticationResult(user=VISITOR, auth=None)
        scheme, _, secret = header.partition(" ")
        if scheme.lower() != SCHEME or not secret.strip():
            raise NotAuthorizedException(
                "the Authorization header must read `Bearer museum_…`",
                headers={"WWW-Authenticate": 'Bearer realm="museum"'},
            )
        museum = connection.app.state.museum
        principal = await museum.authenticate(secret.strip())
        if principal is None:
            raise NotAuthorizedException(
                "this API key is not valid (unknown, revoked or mistyped)",
                headers={"WWW-Authenticate": 'Bearer realm="museum", error="invalid_token"'},
            )
        return AuthenticationResult(user=principal, auth=principal.key_id)
