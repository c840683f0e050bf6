"""Request bodies and answers of the artists' routes."""

from __future__ import annotations

from typing import Annotated

import msgspec

from api.http.auth.keys import IssuedKey
from ledger.views import ArtistRead, View


class ArtistRegister(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """A new donor. The pseudonym is public (unless `anonymous`); legal name and contact are
    sealed with the artist's own key and shown only to them and to compliance."""

    pseudonym: Annotated[str, msgspec.Meta(min_length=1, max_length=64)]
    legal_name: Annotated[str, msgspec.Meta(min_length=1, max_length=200)]
    contact: Annotated[str, msgspec.Meta(min_length=1, max_length=320)]
    anonymous: bool = False


class FoundingGrant(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """Why a curator grants founding status (kept in the ledger with the curator's name)."""

    note: Annotated[str, msgspec.Meta(max_length=2000)] = ""


class RegisteredRead(View, frozen=True, kw_only=True):
    """The new artist, and their API key: its `secret` is in this answer and nowhere else."""

    artist: ArtistRead
    key: IssuedKey
