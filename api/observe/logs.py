"""Structured logs: one JSON object per line on stderr, with the current request id."""

from __future__ import annotations

import logging
import logging.config
from typing import Any

from api.observe.context import request_id

FIELDS = "%(asctime)s %(levelname)s %(name)s %(message)s"


class RequestIdFilter(logging.Filter):
    """Adds `request_id` (None outside a request or a job) to every record."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = request_id.get()
        return True


def json_log_config(level: str = "INFO", *, requests: bool = True) -> dict[str, Any]:
    """A `logging.config.dictConfig` that writes every logger (ours, uvicorn's, arq's) as JSON;
    `requests=False` leaves out the line per HTTP request."""
    quiet = {"museum.http.requests": {"handlers": [], "propagate": True, "level": "WARNING"}}
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "filters": {"request_id": {"()": RequestIdFilter}},
        "formatters": {
            "json": {
                "()": "pythonjsonlogger.json.JsonFormatter",
                "fmt": FIELDS,
                "rename_fields": {"asctime": "time", "levelname": "level", "name": "logger"},
            }
        },
        "handlers": {
            "stderr": {
                "class": "logging.StreamHandler",
                "stream": "ext://sys.stderr",
                "formatter": "json",
                "filters": ["request_id"],
            }
        },
        "root": {"handlers": ["stderr"], "level": level},
        "loggers": {
            name: {"handlers": [], "propagate": True, "level": level}
            for name in ("uvicorn", "uvicorn.error", "arq", "museum")
        }
        # uvicorn's access log names the concrete path and query (a sign-in link's token):
        # the app logs each request itself, by route template.
        | {"uvicorn.access": {"handlers": [], "propagate": False, "level": "WARNING"}}
        | ({} if requests else quiet),
    }


def configure_json_logging(level: str = "INFO") -> None:
    logging.config.dictConfig(json_log_config(level))
