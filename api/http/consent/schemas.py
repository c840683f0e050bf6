"""The body of a consent change."""

from __future__ import annotations

from typing import Annotated

import msgspec


class ConsentChange(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """Grant (`granted: true`) or revoke (`false`) one purpose: exhibit, train, commercial or
    research."""

    purpose: Annotated[str, msgspec.Meta(max_length=32)]
    granted: bool
