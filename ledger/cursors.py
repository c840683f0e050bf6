"""Keyset cursors of paginated lists: the last row's sort key, opaque and URL-safe.

A list hands out the key of its last row; the next page starts after it. Callers never read a
cursor; one that this module cannot read back is an `InvalidInput` (a 422 over HTTP).
"""

from __future__ import annotations

import base64
import json

from ledger.errors import InvalidInput

Key = tuple[str | int, ...]


def encode_cursor(key: Key) -> str:
    raw = json.dumps(list(key), separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode("ascii")


def decode_cursor(cursor: str | None, arity: int) -> Key | None:
    """The key a cursor carries (None for the first page), refused unless it has `arity`
    strings or integers."""
    if cursor is None:
        return None
    try:
        key = json.loads(base64.urlsafe_b64decode(cursor.encode("ascii")))
    except (ValueError, UnicodeError):
        key = None
    if (
        isinstance(key, list)
        and len(key) == arity
        and all(isinstance(part, str | int) and not isinstance(part, bool) for part in key)
    ):
        return tuple(key)
    raise InvalidInput("the cursor is not one this list handed out; start again without it")
