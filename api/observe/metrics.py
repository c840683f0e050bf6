"""Prometheus metrics beyond the HTTP ones (Litestar's middleware counts requests and times
them by route template): job durations, and the ledger and queue as they stand at a scrape.

The ledger's figures are read from the database at each scrape, so every process reports the
same facts: events appended so far (a counter: its rate is the append rate of all writers),
seconds since the whole ledger last verified and since the latest signed head.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator

import sqlalchemy as sa
from prometheus_client import REGISTRY, CollectorRegistry, Histogram, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector
from redis import Redis
from redis.exceptions import RedisError
from sqlalchemy.engine import Engine

from ledger.checks import last_check
from ledger.tables import ledger_leaves, tree_heads

logger = logging.getLogger("museum.metrics")

JOB_SECONDS = Histogram(
    "museum_job_duration_seconds",
    "How long jobs ran, by kind and outcome.",
    ("job", "outcome"),
    buckets=(0.1, 0.5, 1, 5, 15, 60, 300, 900, 3600, 4 * 3600),
)


class LedgerCollector(Collector):
    """The ledger and the job queue, read when scraped (a failed read skips its metric)."""

    def __init__(self, engine: Engine, queue_depth: Callable[[], int | None]) -> None:
        self.engine = engine
        self.queue_depth = queue_depth

    def collect(self) -> Iterator[Metric]:
        now_ms = time.time() * 1000
        try:
            with self.engine.connect() as c:
                events = c.execute(sa.select(sa.func.count()).select_from(ledger_leaves)).scalar()
                head_ms = c.execute(sa.select(sa.func.max(tree_heads.c.timestamp_ms))).scalar()
            checked = last_check(self.engine)
        except sa.exc.SQLAlchemyError as exc:
            logger.warning("ledger metrics unavailable: %s", type(exc).__name__)
        else:
            yield CounterMetricFamily(
                "museum_ledger_events", "Events appended to the ledger.", value=int(events or 0)
            )
            if head_ms is not None:
                yield GaugeMetricFamily(
                    "museum_ledger_head_age_seconds",
                    "Seconds since the latest signed tree head.",
                    value=max(0.0, (now_ms - int(head_ms)) / 1000),
                )
            if checked is not None:
                yield GaugeMetricFamily(
                    "museum_ledger_verify_age_seconds",
                    "Seconds since `museum ledger verify` last passed over the whole ledger.",
                    value=max(0.0, (now_ms - checked.checked_at_ms) / 1000),
                )
        depth = self.queue_depth()
        if depth is not None:
            yield GaugeMetricFamily("museum_job_queue_depth", "Jobs waiting to run.", value=depth)


def redis_queue_depth(url: str, queue_name: str) -> int | None:
    """Jobs in arq's queue (a sorted set), or None when Redis does not answer."""
    client = Redis.from_url(url, socket_timeout=2.0, socket_connect_timeout=2.0)
    try:
        return int(client.zcard(queue_name))  # type: ignore[arg-type]
    except (RedisError, OSError):
        return None
    finally:
        client.close()


def exposition(collector: Collector) -> bytes:
    """The process's metrics (HTTP, jobs) and the ledger's, in Prometheus text format."""
    own = CollectorRegistry(auto_describe=False)
    own.register(collector)
    return generate_latest(REGISTRY) + generate_latest(own)
