"""One-time sign-in links: `museum keys link KEY_ID` prints a URL that signs its holder into the
pages as that key, once, within `LINK_LIFETIME`.

The link carries a random 256-bit token; the table (`sign_in_links`, migration 0007) keeps only
its SHA-256 digest, the key it stands for, when it expires and when it was used. Redeeming is
one conditional UPDATE (unused and unexpired → used), so two processes can never both accept a
link. A link of a key revoked since it was issued signs nobody in.
"""

from __future__ import annotations

import hashlib
import secrets
import time
from datetime import UTC, datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from api.http.auth.keys import KeyStore, metadata
from api.http.auth.principal import Principal
from ledger.errors import Conflict, InvalidInput
from ledger.views import View

LINK_LIFETIME = timedelta(minutes=15)
MAX_LIFETIME = timedelta(hours=24)
# Used and expired links are kept this long (a record of who signed in how), then deleted.
KEPT_FOR = timedelta(days=30)
PATH = "/sign-in/link"

sign_in_links = sa.Table(
    "sign_in_links",
    metadata,
    sa.Column("token_sha256", sa.LargeBinary, primary_key=True),
    sa.Column("key_id", sa.String(24), nullable=False),
    sa.Column("created_at_ms", sa.BigInteger, nullable=False),
    sa.Column("expires_at_ms", sa.BigInteger, nullable=False),
    sa.Column("used_at_ms", sa.BigInteger, nullable=True),
)


class SignInLinkRead(View, frozen=True, kw_only=True):
    """A new sign-in link: the URL (with its token) is in this answer and nowhere else."""

    key_id: str
    name: str
    role: str
    url: str
    expires_at: str


def _digest(token: str) -> bytes:
    return hashlib.sha256(token.encode("utf-8", "surrogatepass")).digest()


def _now_ms() -> int:
    return time.time_ns() // 1_000_000


class SignInLinks:
    """Issue and redeem one-time links, on the ledger's database beside the keys."""

    def __init__(self, engine: Engine, keys: KeyStore) -> None:
        self.engine = engine
        self.keys = keys

    def issue(
        self, key_id: str, base_url: str, lifetime: timedelta = LINK_LIFETIME
    ) -> SignInLinkRead:
        """A link for a live key (NotFound for an unknown one, Conflict for a revoked one)."""
        if not timedelta(0) < lifetime <= MAX_LIFETIME:
            raise InvalidInput(f"a sign-in link lives between a moment and {MAX_LIFETIME}")
        key = self.keys.key(key_id)
        if key.revoked_at is not None:
            raise Conflict(f"key {key_id} was revoked at {key.revoked_at}; it signs nobody in")
        token = secrets.token_urlsafe(32)
        now = _now_ms()
        expires = now + int(lifetime.total_seconds() * 1000)
        with self.engine.begin() as connection:
            connection.execute(
                sign_in_links.delete().where(
                    sign_in_links.c.expires_at_ms < now - int(KEPT_FOR.total_seconds() * 1000)
                )
            )
            connection.execute(
                sign_in_links.insert().values(
                    token_sha256=_digest(token),
                    key_id=key_id,
                    created_at_ms=now,
                    expires_at_ms=expires,
                    used_at_ms=None,
                )
            )
        return SignInLinkRead(
            key_id=key.key_id,
            name=key.name,
            role=key.role,
            url=f"{base_url.rstrip('/')}{PATH}?token={token}",
            expires_at=datetime.fromtimestamp(expires / 1000, UTC).isoformat(),
        )

    @staticmethod
    def _live(token: str, now: int) -> sa.ColumnElement[bool]:
        return sa.and_(
            sign_in_links.c.token_sha256 == _digest(token),
            sign_in_links.c.used_at_ms.is_(None),
            sign_in_links.c.expires_at_ms > now,
        )

    def peek(self, token: str) -> Principal | None:
        """Whom an unused, unexpired link would sign in (nothing is used up), else None."""
        with self.engine.connect() as connection:
            row = connection.execute(
                sa.select(sign_in_links.c.key_id).where(self._live(token, _now_ms()))
            ).one_or_none()
        return None if row is None else self.keys.principal_of_key(str(row.key_id))

    def redeem(self, token: str) -> Principal | None:
        """Use the link up and return its key's principal; None for a link that is unknown,
        used, expired, or whose key has been revoked."""
        now = _now_ms()
        with self.engine.begin() as connection:
            live = self._live(token, now)
            row = connection.execute(sa.select(sign_in_links.c.key_id).where(live)).one_or_none()
            if row is None:
                return None
            used = connection.execute(sign_in_links.update().where(live).values(used_at_ms=now))
            if used.rowcount != 1:  # another process used it between the two statements
                return None
        return self.keys.principal_of_key(str(row.key_id))
