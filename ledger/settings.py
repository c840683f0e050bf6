"""Typed settings, read from the environment once; a wrong variable is named with the reason."""

from __future__ import annotations

import os
import re
from functools import cache
from pathlib import Path
from typing import Annotated, TypeVar

from pydantic import Field, SecretStr, ValidationError, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict
from pydantic_settings.exceptions import SettingsError
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

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
    # 0 turns heads at intervals off; more than a billion would never sign one.
    head_every_events: Annotated[int, Field(ge=0, le=10**9)] = 1000

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
