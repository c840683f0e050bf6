"""Typed settings, read from the environment once; a wrong variable is named with the reason."""

from __future__ import annotations

import os
import re
from datetime import timedelta
from functools import cache
from pathlib import Path
from typing import Annotated, TypeVar

from pydantic import (
    Field,
    SecretStr,
    TypeAdapter,
    ValidationError,
    field_validator,
    model_validator,
)
from pydantic_settings import BaseSettings, SettingsConfigDict
from pydantic_settings.exceptions import SettingsError
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

from ledger.domain.retraining import MAX_WINDOW
from ledger.errors import ConfigurationError

S = TypeVar("S", bound=BaseSettings)


class Settings(BaseSettings):
    """`MUSEUM_*` environment variables. No database URL means the embedded SQLite ledger."""

    model_config = SettingsConfigDict(env_prefix="MUSEUM_", frozen=True, extra="ignore")

    home: Path = Path("./var")
    database_url: str | None = None
    master_key: SecretStr | None = None
    master_key_file: Path | None = None
    redis_url: str | None = None
    # Where every shredding is noted (`ledger.shred_list`); keep it off the machine's own disk.
    shred_list: Path | None = None
    # 0 turns heads at intervals off; more than a billion would never sign one.
    head_every_events: Annotated[int, Field(ge=0, le=10**9)] = 1000
    # How long an erasure or a `train` consent change waits for others to share its retraining.
    retrain_window: timedelta = timedelta(hours=24)
    # The log's identity in its C2SP checkpoints (and their key name): the URL prefix its
    # tiles are served under, without the scheme. No spaces, no '+'.
    log_origin: Annotated[str, Field(min_length=1, max_length=255, pattern=r"^[^\s+]+$")] = (
        "failure-museum.example/api/v1/log"
    )

    # A deployer's own content-credentials signer (PEM chain, end entity first, and its PEM key)
    # in place of the museum's chain made under `credentials_dir`; and the roots that
    # verification trusts (by default the museum's root, or the top of the deployer's chain).
    c2pa_cert_chain: Path | None = None
    c2pa_key: Path | None = None
    c2pa_trust_anchors: Path | None = None

    @model_validator(mode="after")
    def _c2pa_pair(self) -> Settings:
        if (self.c2pa_cert_chain is None) != (self.c2pa_key is None):
            raise ValueError(
                "MUSEUM_C2PA_CERT_CHAIN and MUSEUM_C2PA_KEY are set together or not at all"
            )
        return self

    @field_validator("retrain_window", mode="before")
    @classmethod
    def _window(cls, value: object) -> timedelta:
        return retrain_window(value)

    @field_validator("database_url")
    @classmethod
    def _postgresql_url(cls, value: str | None) -> str | None:
        """Only PostgreSQL (or nothing, for the embedded SQLite ledger)."""
        if not value:
            return None
        try:
            url = make_url(value)
        except ArgumentError:
            raise ValueError("expected a URL such as postgresql://user@host:5432/museum") from None
        if not url.drivername.startswith("postgresql"):
            raise ValueError("must be a postgresql:// URL (or unset for SQLite)")
        if not url.database:
            raise ValueError("names no database")
        return value

    @property
    def embedded(self) -> bool:
        return not self.database_url

    @property
    def blob_dir(self) -> Path:
        return self.home / "blobs"

    @property
    def sqlite_path(self) -> Path:
        return self.home / "ledger.sqlite3"

    @property
    def credentials_dir(self) -> Path:
        """The museum's content-credentials chain, beside the development master key."""
        return self.home / "content-credentials"

    @property
    def shred_list_path(self) -> Path:
        """`MUSEUM_SHRED_LIST`, else `shred-list.jsonl` in the data directory."""
        return self.shred_list or self.home / "shred-list.jsonl"


_SECONDS = re.compile(r"[0-9]{1,12}(\.[0-9]{1,9})?")
# P, then days and/or a time part (hours, minutes, seconds): what a `timedelta` holds.
_ISO_DURATION = re.compile(
    r"P(?=[0-9T])([0-9]+D)?(T(?=[0-9])([0-9]+H)?([0-9]+M)?([0-9]+(\.[0-9]+)?S)?)?", re.IGNORECASE
)


def retrain_window(value: object) -> timedelta:
    """`MUSEUM_RETRAIN_WINDOW`: seconds (`86400`; `0` makes each request due at once) or an ISO
    8601 duration (`PT24H`, `P1D`), from 0 to `MAX_WINDOW` (half the erasure deadline, so that a
    batch leaves time to retrain)."""
    if isinstance(value, timedelta):
        window = value
    elif isinstance(value, int | float) and not isinstance(value, bool):
        seconds = float(value)
        window = timedelta(seconds=seconds) if 0 <= seconds <= 10**12 else timedelta(-1)
    elif isinstance(value, str) and _SECONDS.fullmatch(value.strip()):
        window = timedelta(seconds=float(value))
    elif isinstance(value, str) and _ISO_DURATION.fullmatch(value.strip()):
        window = TypeAdapter(timedelta).validate_python(value.strip().upper())
    else:
        raise ValueError("expected seconds (e.g. 86400) or an ISO 8601 duration (e.g. PT24H, P1D)")
    if not timedelta(0) <= window <= MAX_WINDOW:
        raise ValueError(f"must lie between 0 and {MAX_WINDOW.days} days")
    return window


# "scheme://user:password@host" in a value or argument: the password is never repeated.
_URL_PASSWORD = re.compile(r"(://[^:/@\s]*:)[^\s/]*@")


def hide_passwords(text: str) -> str:
    """`text` with the password of every URL in it replaced by ***."""
    return _URL_PASSWORD.sub(r"\1***@", text)


def _shown(value: object) -> str:
    text = hide_passwords(repr(value))
    return text if len(text) <= 60 else text[:57] + "…"


def load_settings(cls: type[S]) -> S:
    """Read `cls` from the environment; any wrong variable becomes one ConfigurationError that
    names each variable and why (a secret's value is never repeated)."""
    prefix = str(cls.model_config.get("env_prefix", ""))
    for name, value in sorted(os.environ.items()):
        if name.upper().startswith(prefix):
            try:
                value.encode("utf-8")
            except UnicodeEncodeError:
                raise ConfigurationError(f"{name}: the value is not valid UTF-8 text") from None
    try:
        return cls()
    except ValidationError as exc:
        secret = {
            name for name, field in cls.model_fields.items() if "SecretStr" in str(field.annotation)
        }
        problems = []
        for error in exc.errors():
            if not error["loc"]:  # a rule over several variables names them in its message
                problems.append(str(error["msg"]).removeprefix("Value error, "))
                continue
            field, *inner = (str(part) for part in error["loc"])
            where = prefix + field.upper() + "".join(f"[{part}]" for part in inner)
            message = str(error["msg"]).removeprefix("Value error, ")
            message = message[:1].lower() + message[1:]
            if field not in secret and "input" in error:
                message += f", got {_shown(error['input'])}"
            problems.append(f"{where}: {message}")
        raise ConfigurationError("; ".join(problems)) from None
    except SettingsError as exc:  # a value pydantic-settings could not even decode
        cause = f": {exc.__cause__}" if exc.__cause__ else ""
        raise ConfigurationError(f"{exc}{cause}") from None


@cache
def get_settings() -> Settings:
    return load_settings(Settings)
