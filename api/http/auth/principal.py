"""The caller of a request: a role, and for an artist key the artist it speaks for."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from uuid import UUID

from ledger.errors import NotFound


class Role(StrEnum):
    """The museum's kinds of caller. A visitor holds no key."""

    VISITOR = "visitor"
    ARTIST = "artist"
    COMPLIANCE = "compliance"
    INTEGRATOR = "integrator"
    CURATOR = "curator"


KEY_ROLES = tuple(role for role in Role if role is not Role.VISITOR)


@dataclass(frozen=True)
class Principal:
    """Who a request acts for. `artist_id` is set exactly for artist keys."""

    role: Role
    key_id: str | None = None
    name: str = "visitor"
    artist_id: UUID | None = None

    @property
    def sees_personal_data(self) -> bool:
        """Compliance reads everyone's; an artist only their own (see `may_see_artist`)."""
        return self.role is Role.COMPLIANCE

    def may_see_artist(self, artist_id: UUID) -> bool:
        """An artist's own records, or compliance's view of anyone's."""
        return self.role is Role.COMPLIANCE or (
            self.role is Role.ARTIST and self.artist_id == artist_id
        )

    def require_artist(self, artist_id: UUID, what: str = "artist") -> None:
        """Another artist's records answer as if they did not exist: a 404, never a leak."""
        if not self.may_see_artist(artist_id):
            raise NotFound(f"no {what} {artist_id}")


VISITOR = Principal(Role.VISITOR)
