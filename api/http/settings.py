"""Settings of the HTTP service (`MUSEUM_HTTP_*`), read and checked once at start-up."""

from __future__ import annotations

import re
from functools import cache
from typing import Annotated, Literal

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from ledger.settings import load_settings

Unit = Literal["second", "minute", "hour", "day"]
_RATE = re.compile(r"([1-9][0-9]{0,8})/(second|minute|hour|day)")
_PUBLIC_URL = re.compile(r"https?://[A-Za-z0-9.\-\[\]:]+(/[A-Za-z0-9._~\-/]*)?")


class HttpSettings(BaseSettings):
    """How the API limits its callers. The rate applies to each integrator key (and each
    artist key below founding tier) on its own; founding artists and staff are not limited."""

    model_config = SettingsConfigDict(env_prefix="MUSEUM_HTTP_", frozen=True, extra="ignore")

    rate_limit: str = "600/minute"
    # How long a checked key is trusted before the key table is read again (revocation reaches
    # other server processes within this time; the process that revokes forgets at once).
    key_cache_seconds: Annotated[float, Field(ge=0, le=300)] = 5.0
    page_size: Annotated[int, Field(ge=1, le=1000)] = 50
    # The pages' session cookie (and the CSRF cookie): `Secure` behind HTTPS; how long a
    # sign-in lasts; where the site is reached (the sign-in links the CLI prints start here).
    secure_cookies: bool = False
    session_hours: Annotated[float, Field(gt=0, le=24 * 30)] = 12.0
    public_url: str = "http://127.0.0.1:8000"
    # How long one server-sent event stream (the Atelier's) stays open; the browser then
    # reconnects from the last event it had, so no server process holds a watcher for ever.
    stream_seconds: Annotated[float, Field(gt=0, le=3600)] = 300.0

    @field_validator("rate_limit")
    @classmethod
    def _rate(cls, value: str) -> str:
        if _RATE.fullmatch(value) is None:
            raise ValueError(
                "expected COUNT/UNIT, e.g. 600/minute (unit: second, minute, hour, day)"
            )
        return value

    @field_validator("public_url")
    @classmethod
    def _public_url(cls, value: str) -> str:
        if _PUBLIC_URL.fullmatch(value) is None:
            raise ValueError("expected an http(s) URL without query, e.g. https://museum.example")
        return value.rstrip("/")

    @property
    def rate(self) -> tuple[Unit, int]:
        """The rate as Litestar's `RateLimitConfig` takes it: (unit, requests)."""
        found = _RATE.fullmatch(self.rate_limit)
        if found is None:  # checked on load; kept for the type checker
            raise ValueError(self.rate_limit)
        unit: Unit = found.group(2)  # type: ignore[assignment]
        return unit, int(found.group(1))


@cache
def get_http_settings() -> HttpSettings:
    return load_settings(HttpSettings)
