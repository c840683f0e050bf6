"""Typed settings, read from the environment once."""

from __future__ import annotations

from functools import cache
from pathlib import Path

from pydantic import SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    """`MUSEUM_*` environment variables. No database URL means the embedded SQLite ledger."""

    model_config = SettingsConfigDict(env_prefix="MUSEUM_", frozen=True, extra="ignore")

    home: Path = Path("./var")
    database_url: str | None = None
    master_key: SecretStr | None = None
    master_key_file: Path | None = None
    redis_url: str | None = None
    head_every_events: int = 1000

    @property
    def embedded(self) -> bool:
        return not self.database_url

    @property
    def blob_dir(self) -> Path:
        return self.home / "blobs"

    @property
    def sqlite_path(self) -> Path:
        return self.home / "ledger.sqlite3"


@cache
def get_settings() -> Settings:
    return Settings()
