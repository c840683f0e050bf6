"""One access rule per route, checked by one guard for the whole app.

A handler names who may call it with `opt=allow(...)`; a route without a rule is refused to
everyone (and fails the role × route test), so a new endpoint cannot ship without its rule.
Rules say which roles may call a route; which *records* an artist may see (only their own) is
checked where the record is read (`Principal.require_artist`), as a 404.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from litestar.connection import ASGIConnection
from litestar.exceptions import NotAuthorizedException, PermissionDeniedException
from litestar.handlers.base import BaseRouteHandler

from api.http.auth.principal import VISITOR, Principal, Role

ACCESS = "access"


@dataclass(frozen=True)
class Access:
    """Who may call a route. `members_only`: an artist needs a donation on record (the
    charter's full membership; founding artists always have it). `founders_only`: an artist
    must be a founding artist (the Atelier)."""

    roles: frozenset[Role]
    members_only: bool = False
    founders_only: bool = False

    @property
    def public(self) -> bool:
        return Role.VISITOR in self.roles


def allow(*roles: Role, members_only: bool = False, founders_only: bool = False) -> dict[str, Any]:
    """The `opt` of a route handler: `@get(..., opt=allow(Role.ARTIST, Role.COMPLIANCE))`."""
    if not roles:
        raise ValueError("a rule names at least one role")
    return {ACCESS: Access(frozenset(roles), members_only, founders_only)}


EVERYONE = tuple(Role)
STAFF = (Role.COMPLIANCE, Role.CURATOR)


def rule_of(opt: Mapping[str, Any]) -> Access | None:
    found = opt.get(ACCESS)
    return found if isinstance(found, Access) else None


def principal_of(connection: ASGIConnection[Any, Any, Any, Any]) -> Principal:
    user = connection.scope.get("user")
    return user if isinstance(user, Principal) else VISITOR


def enforce_access(
    connection: ASGIConnection[Any, Any, Any, Any], handler: BaseRouteHandler
) -> None:
    """The app's one guard: 401 for a visitor where a key is needed, 403 for a role the rule
    does not name, and for a route that has no rule."""
    if connection.scope.get("method") == "OPTIONS":
        return  # Litestar's own answer: the methods of a path, and nothing else
    rule = rule_of(handler.opt)
    principal = principal_of(connection)
    if rule is None:
        raise PermissionDeniedException("this route has no access rule; it is closed to everyone")
    if principal.role not in rule.roles:
        if principal.role is Role.VISITOR:
            raise NotAuthorizedException(
                "this needs an API key: send it as `Authorization: Bearer museum_…`",
                headers={"WWW-Authenticate": 'Bearer realm="museum"'},
            )
        allowed = ", ".join(sorted(role.value for role in rule.roles))
        raise PermissionDeniedException(
            f"a {principal.role.value} key may not do this; it is for: {allowed}"
        )
    membership = connection.app.state.museum.membership
    if (
        rule.founders_only
        and principal.role is Role.ARTIST
        and not membership.is_founding(principal)
    ):
        raise PermissionDeniedException("this is for the museum's founding artists (and curators)")
    if rule.members_only and principal.role is Role.ARTIST and not membership.is_member(principal):
        raise PermissionDeniedException(
            "this is for members: donate a process series first (the charter's full "
            "membership needs a donation on record)"
        )
