"""API keys: one per principal, shown once, stored only as a SHA-256 digest, revocable.

A key reads `museum_<key id>_<secret>`: the key id (public, in `museum keys list`) finds the row,
the 256-bit random secret is compared by digest in constant time. A revoked key is kept (with its
revocation time) so that the list stays a record of who could call the museum. Rotating a key
issues its successor (same holder, role and artist) at once and lets the old one work on until
its expiry, so a caller can deploy the new secret before the old one stops. The table's schema
lives in `migrations/` (0006, expiry and successor 0009).
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
import threading
import time
from datetime import UTC, datetime, timedelta
from uuid import UUID

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from api.http.auth.principal import KEY_ROLES, Principal, Role
from ledger import validation
from ledger.errors import Conflict, InvalidInput, NotFound
from ledger.views import View

metadata = sa.MetaData()
api_keys = sa.Table(
    "api_keys",
    metadata,
    sa.Column("key_id", sa.String(24), primary_key=True),
    sa.Column("name", sa.String(200), nullable=False),
    sa.Column("role", sa.String(16), nullable=False),
    sa.Column("artist_id", sa.String(32), nullable=True),
    sa.Column("secret_sha256", sa.LargeBinary, nullable=False),
    sa.Column("created_at_ms", sa.BigInteger, nullable=False),
    sa.Column("revoked_at_ms", sa.BigInteger, nullable=True),
    sa.Column("expires_at_ms", sa.BigInteger, nullable=True),
    sa.Column("replaced_by", sa.String(24), nullable=True),
)

PREFIX = "museum_"
_KEY = re.compile(r"museum_([0-9a-f]{16})_([A-Za-z0-9_-]{43})")


class KeyRead(View, frozen=True, kw_only=True):
    """A key as `museum keys list` shows it: never its secret."""

    key_id: str
    name: str
    role: str
    artist_id: str | None
    created_at: str
    revoked_at: str | None
    expires_at: str | None = None  # a rotated key works until then
    replaced_by: str | None = None  # the key id of its successor


class IssuedKey(View, frozen=True, kw_only=True):
    """A new key: the secret is in this answer and nowhere else, ever."""

    key: KeyRead
    secret: str


class RotatedKey(View, frozen=True, kw_only=True):
    """A rotation: the successor with its secret (shown once), and the old key with its expiry."""

    issued: IssuedKey
    old: KeyRead


DEFAULT_OVERLAP = timedelta(days=1)
MAX_OVERLAP = timedelta(days=90)


def _digest(secret: str) -> bytes:
    return hashlib.sha256(secret.encode("ascii")).digest()


def _now_ms() -> int:
    return time.time_ns() // 1_000_000


def _iso(ms: int | None) -> str | None:
    return None if ms is None else datetime.fromtimestamp(ms / 1000, UTC).isoformat()


def _read(row: sa.Row[tuple[object, ...]]) -> KeyRead:
    return KeyRead(
        key_id=str(row.key_id),
        name=str(row.name),
        role=str(row.role),
        artist_id=None if row.artist_id is None else str(UUID(hex=str(row.artist_id))),
        created_at=str(_iso(int(str(row.created_at_ms)))),
        revoked_at=_iso(None if row.revoked_at_ms is None else int(str(row.revoked_at_ms))),
        expires_at=_iso(None if row.expires_at_ms is None else int(str(row.expires_at_ms))),
        replaced_by=None if row.replaced_by is None else str(row.replaced_by),
    )


def _live(row: sa.Row[tuple[object, ...]], now_ms: int) -> bool:
    """Neither revoked nor past the expiry a rotation gave it."""
    return row.revoked_at_ms is None and (
        row.expires_at_ms is None or now_ms < int(str(row.expires_at_ms))
    )


class KeyStore:
    """Issue, list, revoke and check keys, on the ledger's database."""

    def __init__(self, engine: Engine, cache_seconds: float = 5.0) -> None:
        self.engine = engine
        self.cache_seconds = cache_seconds
        self._checked: dict[str, tuple[float, Principal]] = {}
        self._by_id: dict[str, tuple[float, Principal]] = {}
        self._lock = threading.Lock()

    def create(self, role: str, name: str, artist_id: UUID | None = None) -> IssuedKey:
        """A new key for `role`; an artist key speaks for exactly one artist."""
        try:
            kind = Role(role)
        except ValueError:
            raise InvalidInput(
                f"unknown role {role!r}; expected one of: {', '.join(KEY_ROLES)}"
            ) from None
        if kind is Role.VISITOR:
            raise InvalidInput("visitors hold no key; expected one of: " + ", ".join(KEY_ROLES))
        if (kind is Role.ARTIST) != (artist_id is not None):
            raise InvalidInput(
                "an artist key needs the artist's id, and only an artist key has one"
            )
        label = validation.text(name, "key name", limit=200)
        with self.engine.begin() as connection:
            return _issue(connection, kind, label, artist_id)

    def rotate(self, key_id: str, overlap: timedelta = DEFAULT_OVERLAP) -> RotatedKey:
        """Issue the successor of a live key; the old one works for `overlap` more, then
        stops (0: at once). A key already replaced, revoked or expired is refused."""
        if not timedelta(0) <= overlap <= MAX_OVERLAP:
            raise InvalidInput(f"the overlap must lie between 0 and {MAX_OVERLAP.days} days")
        now = _now_ms()
        with self.engine.begin() as connection:
            row = connection.execute(
                api_keys.select().where(api_keys.c.key_id == key_id).with_for_update()
            ).one_or_none()
            if row is None:
                raise NotFound(f"no key {key_id!r}")
            if row.replaced_by is not None:
                raise Conflict(
                    f"key {key_id} was already rotated; its successor is {row.replaced_by}"
                )
            if not _live(row, now):
                raise Conflict(f"key {key_id} is revoked or expired; issue a new one instead")
            artist = None if row.artist_id is None else UUID(hex=str(row.artist_id))
            issued = _issue(connection, Role(str(row.role)), str(row.name), artist)
            expires = now + int(overlap.total_seconds() * 1000)
            connection.execute(
                api_keys.update()
                .where(api_keys.c.key_id == key_id)
                .values(expires_at_ms=expires, replaced_by=issued.key.key_id)
            )
            old = connection.execute(api_keys.select().where(api_keys.c.key_id == key_id)).one()
        self._forget(key_id)
        return RotatedKey(issued=issued, old=_read(old))

    def list(self) -> list[KeyRead]:
        with self.engine.connect() as connection:
            rows = connection.execute(
                api_keys.select().order_by(api_keys.c.created_at_ms, api_keys.c.key_id)
            ).all()
        return [_read(row) for row in rows]

    def key(self, key_id: str) -> KeyRead:
        """One key as listed (NotFound for an id that names none)."""
        with self.engine.connect() as connection:
            row = connection.execute(
                api_keys.select().where(api_keys.c.key_id == key_id)
            ).one_or_none()
        if row is None:
            raise NotFound(f"no key {key_id!r}")
        return _read(row)

    def revoke(self, key_id: str) -> KeyRead:
        """Revoke a key for good; revoking it again is refused (it says when it was)."""
        with self.engine.begin() as connection:
            row = connection.execute(
                api_keys.select().where(api_keys.c.key_id == key_id)
            ).one_or_none()
            if row is None:
                raise NotFound(f"no key {key_id!r}")
            if row.revoked_at_ms is not None:
                raise Conflict(f"key {key_id} was revoked at {_iso(int(row.revoked_at_ms))}")
            connection.execute(
                api_keys.update().where(api_keys.c.key_id == key_id).values(revoked_at_ms=_now_ms())
            )
            row = connection.execute(api_keys.select().where(api_keys.c.key_id == key_id)).one()
        self._forget(key_id)
        return _read(row)

    def _forget(self, key_id: str) -> None:
        with self._lock:
            self._checked = {s: p for s, p in self._checked.items() if p[1].key_id != key_id}
            self._by_id.pop(key_id, None)

    def authenticate(self, secret: str) -> Principal | None:
        """The principal of a live key, or None for a key that is malformed, unknown or revoked."""
        now = time.monotonic()
        with self._lock:
            cached = self._checked.get(secret)
        if cached is not None and now - cached[0] < self.cache_seconds:
            return cached[1]
        found = _KEY.fullmatch(secret)
        if found is None:
            return None
        with self.engine.connect() as connection:
            row = connection.execute(
                api_keys.select().where(api_keys.c.key_id == found.group(1))
            ).one_or_none()
        if (
            row is None
            or not _live(row, _now_ms())
            or not hmac.compare_digest(bytes(row.secret_sha256), _digest(secret))
        ):
            return None
        principal = _principal(row)
        with self._lock:
            if len(self._checked) > 10_000:
                self._checked.clear()
            if row.expires_at_ms is None:  # a key that expires is checked every time
                self._checked[secret] = (now, principal)
        return principal

    def principal_of_key(self, key_id: str) -> Principal | None:
        """The principal of a live key named by its id (what a page's session holds, never the
        secret), or None once it is revoked or if it never existed; trusted for
        `cache_seconds` like a checked secret."""
        now = time.monotonic()
        with self._lock:
            cached = self._by_id.get(key_id)
        if cached is not None and now - cached[0] < self.cache_seconds:
            return cached[1]
        with self.engine.connect() as connection:
            row = connection.execute(
                api_keys.select().where(api_keys.c.key_id == key_id)
            ).one_or_none()
        if row is None or not _live(row, _now_ms()):
            with self._lock:
                self._by_id.pop(key_id, None)
            return None
        principal = _principal(row)
        with self._lock:
            if len(self._by_id) > 10_000:
                self._by_id.clear()
            if row.expires_at_ms is None:
                self._by_id[key_id] = (now, principal)
        return principal


def _issue(connection: sa.Connection, kind: Role, label: str, artist_id: UUID | None) -> IssuedKey:
    key_id = secrets.token_hex(8)
    secret = f"{PREFIX}{key_id}_{secrets.token_urlsafe(32)}"
    row = {
        "key_id": key_id,
        "name": label,
        "role": kind.value,
        "artist_id": None if artist_id is None else artist_id.hex,
        "secret_sha256": _digest(secret),
        "created_at_ms": _now_ms(),
        "revoked_at_ms": None,
    }
    connection.execute(api_keys.insert().values(**row))
    stored = connection.execute(api_keys.select().where(api_keys.c.key_id == key_id)).one()
    return IssuedKey(key=_read(stored), secret=secret)


def _principal(row: sa.Row[tuple[object, ...]]) -> Principal:
    return Principal(
        role=Role(str(row.role)),
        key_id=str(row.key_id),
        name=str(row.name),
        artist_id=None if row.artist_id is None else UUID(hex=str(row.artist_id)),
    )
