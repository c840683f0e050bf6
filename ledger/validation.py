"""The input rules of the ledger, in one place: slugs, keys, method names, index hashes, free
text, moments that must carry a time zone, and seeds.

Every identifier is matched as a whole string (`re.fullmatch`) against ASCII-only classes
(`[a-z0-9]`, never `\\d` or `\\w`, which also match Arabic-Indic digits, fullwidth or Cyrillic
letters). Python's `$` matches before a final newline, so `re.match(r"^…$")` let `key\\n` through
as a second, different key; nothing here uses it.

Policy: identifiers are REFUSED, never normalised. A key, slug, method name or hash with
surrounding whitespace, a trailing newline, or a look-alike character (Cyrillic `а`, fullwidth
`Ａ`, Arabic-Indic `٣`) is an `InvalidInput`, so exactly one string names one booking, one run,
one tag. Normalising (stripping, NFKC) would make several strings name the same booking while
the caller believes they differ; refusing tells the caller at once.

Free text (labels, captions, names, reasons) is stripped of surrounding whitespace, then refused
if it is empty when required, longer than its limit, not encodable as UTF-8 (lone surrogates), or
holds control characters other than newline and tab. Line ends are normalised to `\n` first
(browsers send a form's text areas with `\r\n`), so the same text is sealed the same way.
Every function returns the validated value or raises `InvalidInput` naming the field; input
that is not a `str` is refused the same way.
"""

from __future__ import annotations

import re
import unicodedata
from datetime import UTC, datetime
from uuid import UUID

from ledger.errors import InvalidInput

SLUG = re.compile(r"[a-z0-9][a-z0-9-]{0,31}")
KEY = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:-]{0,127}")
INDEX_HASH = re.compile(r"[0-9a-f]{16,128}")
ALLOWED_CONTROLS = frozenset("\n\t")


def _whole(pattern: re.Pattern[str], value: object) -> str | None:
    """The value if it is a str that the pattern matches from first to last character."""
    return value if isinstance(value, str) and pattern.fullmatch(value) is not None else None


def _shown(value: object) -> str:
    """The refused value for a message: repr (so a trailing newline is visible), cut short."""
    shown = repr(value)
    return shown if len(shown) <= 80 else shown[:77] + "..."


def slug(value: object, what: str) -> str:
    """A lowercase tag: 1-32 of a-z, 0-9 and '-', not starting with '-'."""
    found = _whole(SLUG, value)
    if found is None:
        raise InvalidInput(
            f"{what} {_shown(value)} must be a lowercase slug (a-z, 0-9, '-'), 1-32 chars"
        )
    return found


def key(value: object, what: str) -> str:
    """An idempotency, run, release or job key: 1-128 ASCII letters, digits, '.', '_', ':', '-'."""
    found = _whole(KEY, value)
    if found is None:
        raise InvalidInput(
            f"{what} {_shown(value)} must be 1-128 ASCII letters, digits, '.', '_', ':' or '-', "
            "starting with a letter or digit, and nothing else (no spaces, newlines or look-alikes)"
        )
    return found


def method_name(value: object, what: str = "method") -> str:
    """An attribution method's name: a slug (e.g. trak, d-trak, tracin)."""
    found = _whole(SLUG, value)
    if found is None:
        raise InvalidInput(
            f"{what} {_shown(value)} must be a lowercase slug (e.g. trak, d-trak, tracin)"
        )
    return found


def index_hash(value: object, what: str = "index_hash") -> str:
    """The hash of an attribution index: 16-128 lowercase hex characters."""
    found = _whole(INDEX_HASH, value)
    if found is None:
        raise InvalidInput(f"{what} must be 16-128 lowercase hex characters, not {_shown(value)}")
    return found


def text(value: object, what: str, *, limit: int, required: bool = True) -> str:
    """Free text, stripped: required if asked, at most `limit` characters, UTF-8, no controls."""
    if not isinstance(value, str):
        raise InvalidInput(f"{what} must be text, not {type(value).__name__}")
    value = value.replace("\r\n", "\n").replace("\r", "\n").strip()
    if required and not value:
        raise InvalidInput(f"{what} is required")
    if len(value) > limit:
        raise InvalidInput(f"{what} is {len(value)} characters; the limit is {limit}")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise InvalidInput(
            f"{what} is not valid text: character {exc.start} is a lone surrogate "
            f"({value[exc.start]!r}), which UTF-8 cannot encode"
        ) from None
    for position, char in enumerate(value):
        if char not in ALLOWED_CONTROLS and unicodedata.category(char) == "Cc":
            raise InvalidInput(
                f"{what} holds a control character ({char!r} at {position}); only newline and "
                "tab are allowed"
            )
    return value


def seed(value: object, what: str = "seed") -> int:
    """A user's seed: a non-negative integer (bool refused). Here, the lowest layer, so the demo
    collection and the model (`generation.seeds`) check seeds by the same rule."""
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise InvalidInput(f"{what} must be a non-negative integer, got {_shown(value)}")
    return value


_UUID = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")


def identifier(value: object, what: str) -> UUID:
    """An id as the museum writes them (a UUID in its 8-4-4-4-12 form); other spellings that
    Python would accept (braces, `urn:uuid:`, bare hex) are refused, like any look-alike key."""
    found = _whole(_UUID, value)
    if found is None:
        raise InvalidInput(f"{what} must be an id such as 3f0c6e1a-…, got {_shown(value)}")
    return UUID(found)


def aware(moment: datetime, what: str) -> datetime:
    """A moment that carries a time zone, as UTC: a naive datetime is refused, never guessed
    (local time or UTC?), because ledger times are compared across machines."""
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise InvalidInput(f"{what} must carry a time zone (e.g. 2025-01-01T00:00:00+00:00)")
    return moment.astimezone(UTC)


_COUNT = re.compile(r"[0-9]{1,19}")


def event_reference(value: object, what: str = "event") -> int | tuple[UUID, int]:
    """An event as `museum ledger proof` takes it: a notification id, or ORIGINATOR_ID:VERSION
    (ASCII digits only; a number past 64 bits names no stored event and is refused here)."""
    if isinstance(value, str):
        originator, colon, version = value.partition(":")
        number = version if colon else originator
        if _whole(_COUNT, number) is not None and int(number) < 2**63:
            return (identifier(originator, what), int(number)) if colon else int(number)
    raise InvalidInput(
        f"{what} must be a notification id (a whole number) or ORIGINATOR_ID:VERSION, "
        f"got {_shown(value)}"
    )
