"""The job queue's settings and the names every room of `api.jobs` shares; no I/O here."""

from __future__ import annotations

from functools import cache
from typing import Annotated, Any

from arq.connections import RedisSettings
from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from ledger.errors import ConfigurationError, LedgerError
from ledger.settings import Settings, get_settings

Ctx = dict[str, Any]


class JobSettings(BaseSettings):
    """`MUSEUM_*` settings of the job queue (beside `ledger.settings.Settings`)."""

    model_config = SettingsConfigDict(env_prefix="MUSEUM_", frozen=True, extra="ignore")

    queue_name: Annotated[str, Field(min_length=1)] = "museum:jobs"
    #: seconds a job may run
    job_timeout: Annotated[float, Field(gt=0)] = 6 * 3600.0
    #: seconds after which the job of a worker that died is taken up by another
    job_lease: Annotated[float, Field(gt=0)] = 30.0
    job_max_tries: Annotated[int, Field(ge=1, le=100)] = 3
    #: seconds a job's result (or error) is kept in Redis
    job_keep_result: Annotated[float, Field(gt=0)] = 7 * 86400.0
    worker_max_jobs: Annotated[int, Field(ge=1, le=100)] = 1


@cache
def job_settings() -> JobSettings:
    return JobSettings()


class JobFailed(LedgerError):
    """A job ended without a result: it crashed, timed out, or was given up after its tries."""


def redis_settings(settings: Settings | None = None) -> RedisSettings:
    """Where the queue is (parsed, not connected to); refused without `MUSEUM_REDIS_URL`."""
    settings = settings or get_settings()
    if not settings.redis_url:
        raise ConfigurationError(
            "no job queue: set MUSEUM_REDIS_URL (e.g. redis://127.0.0.1:6379/0); "
            "without it jobs run in-process"
        )
    try:
        return RedisSettings.from_dsn(settings.redis_url)
    except (RuntimeError, ValueError) as exc:
        raise ConfigurationError(f"MUSEUM_REDIS_URL is not a redis:// URL: {exc}") from None


def unreachable(settings: RedisSettings, exc: BaseException) -> ConfigurationError:
    """Name the server, never the URL: it may carry a password."""
    return ConfigurationError(f"cannot reach Redis at {settings.host}:{settings.port}: {exc}")
