"""`/metrics` in the Prometheus text format, computed from the database at scrape time.

Why from the database and not from counters in memory: the web app runs as several
gunicorn processes and the work happens in Celery processes, so no one process has the
counts; per-process counters would need prometheus_client's multiprocess mode and its
files. The rows are the truth already (docs/architecture.md), every process sees them alike, and
the dashboard and API read the same numbers.

So nearly everything is a gauge over a stated window (its HELP says which):
- `stocksync_webhook_requests_total` (counter): every request that reached the
  database, read from the webhook_log id sequence, so it survives the log's purge.
- `stocksync_webhooks_last_24h{provider,status}`, `stocksync_webhook_duplicates_last_24h`
  (dedupe drops), `stocksync_webhook_retried_last_24h` (attempts > 1): gauges.
- `stocksync_event_latency_seconds` (gauge histogram): receipt to processed, for events
  received in the last hour.
- `stocksync_sync_run_duration_seconds{kind}` (gauge histogram): runs finished in 24 h.
- `stocksync_sync_runs{status}`, `stocksync_sync_batches{status}`,
  `stocksync_sync_batches_retried`: gauges (live ones, and those finished in 24 h).
- `stocksync_queue_depth{queue}`, `stocksync_queue_unacked`: gauges read from Redis.
- `stocksync_metrics_source_up{source}`: 0 when PostgreSQL or Redis could not be read.

Results are cached for a few seconds, so several scrapers cost one set of queries.
Protected like the admin API (Bearer ADMIN_TOKEN).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterable, Iterator, Sequence
from typing import Any

from flask import Flask, Response, current_app
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest
from prometheus_client.core import (
    CounterMetricFamily,
    GaugeHistogramMetricFamily,
    GaugeMetricFamily,
    Metric,
)
from prometheus_client.registry import Collector
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from api.admin.http import admin_blueprint
from api.resources import Resources
from sync.errors import Unavailable
from sync.stats import BATCH_COUNTS

log = logging.getLogger(__name__)
metrics = admin_blueprint("metrics")

CACHE_SECONDS = 5.0
LATENCY_BUCKETS = (1.0, 2.5, 5.0, 7.5, 10.0, 15.0, 30.0, 60.0, 120.0, 300.0, 600.0, 1800.0)
DURATION_BUCKETS = (10.0, 30.0, 60.0, 120.0, 300.0, 600.0, 1200.0, 1800.0, 3600.0, 7200.0)

_WEBHOOKS = text(
    """
    SELECT provider, status, count(*) AS n, count(*) FILTER (WHERE attempts > 1) AS retried
    FROM webhook_log WHERE received_at > now() - interval '24 hours'
    GROUP BY provider, status
    """
)
_REQUESTS = text(
    "SELECT coalesce(pg_sequence_last_value("
    "pg_get_serial_sequence('webhook_log', 'id')::regclass), 0)"
)
_LATENCIES = text(
    """
    SELECT extract(epoch FROM processed_at - received_at) FROM webhook_log
    WHERE status = 'processed' AND received_at > now() - interval '1 hour'
    """
)
_DURATIONS = text(
    """
    SELECT kind, extract(epoch FROM finished_at - started_at) FROM sync_runs
    WHERE finished_at > now() - interval '24 hours' AND started_at IS NOT NULL
    """
)
_RUNS = text(
    """
    SELECT status, count(*) FROM sync_runs
    WHERE finished_at IS NULL OR finished_at > now() - interval '24 hours'
    GROUP BY status
    """
)
_BATCHES_RETRIED = text(
    """
    SELECT count(*) FROM sync_batches WHERE attempts > 1
    AND (status IN ('queued', 'processing') OR finished_at > now() - interval '24 hours')
    """
)


def histogram(
    name: str,
    documentation: str,
    values: Iterable[float],
    bounds: Sequence[float],
    labels: dict[str, str] | None = None,
) -> GaugeHistogramMetricFamily:
    """A gauge histogram of `values`: cumulative bucket counts and their sum."""
    values = list(values)
    buckets = [(str(bound), sum(1 for v in values if v <= bound)) for bound in bounds]
    buckets.append(("+Inf", len(values)))
    family = GaugeHistogramMetricFamily(name, documentation, labels=list(labels or {}))
    family.add_metric(list((labels or {}).values()), buckets, gsum_value=sum(values))
    return family


def database_metrics(session: Session) -> Iterator[Metric]:
    yield CounterMetricFamily(
        "stocksync_webhook_requests",
        "Webhook requests that reached the database (accepted or refused), from the "
        "webhook_log id sequence.",
        value=session.execute(_REQUESTS).scalar_one(),
    )
    received = GaugeMetricFamily(
        "stocksync_webhooks_last_24h",
        "Webhook log rows received in the last 24 hours, by provider and status.",
        labels=["provider", "status"],
    )
    duplicates = GaugeMetricFamily(
        "stocksync_webhook_duplicates_last_24h",
        "Events dropped as duplicates (delivery seen, or coalesced into an open window) "
        "in the last 24 hours.",
        labels=["provider"],
    )
    retried = GaugeMetricFamily(
        "stocksync_webhook_retried_last_24h",
        "Events of the last 24 hours that needed more than one attempt.",
        labels=["provider"],
    )
    dup_by: dict[str, int] = {}
    retry_by: dict[str, int] = {}
    for row in session.execute(_WEBHOOKS):
        received.add_metric([row.provider, row.status], row.n)
        if row.status == "duplicate":
            dup_by[row.provider] = dup_by.get(row.provider, 0) + row.n
        retry_by[row.provider] = retry_by.get(row.provider, 0) + row.retried
    for provider, n in sorted(dup_by.items()):
        duplicates.add_metric([provider], n)
    for provider, n in sorted(retry_by.items()):
        retried.add_metric([provider], n)
    yield from (received, duplicates, retried)
    yield histogram(
        "stocksync_event_latency_seconds",
        "Receipt to processed, of webhook events received in the last hour (the dedupe "
        "window is part of it).",
        (float(v) for (v,) in session.execute(_LATENCIES)),
        LATENCY_BUCKETS,
    )
    by_kind: dict[str, list[float]] = {}
    for kind, seconds in session.execute(_DURATIONS):
        by_kind.setdefault(kind, []).append(float(seconds))
    for kind, durations in sorted(by_kind.items()):
        yield histogram(
            "stocksync_sync_run_duration_seconds",
            "Duration of sync runs finished in the last 24 hours.",
            durations,
            DURATION_BUCKETS,
            {"kind": kind},
        )
    runs = GaugeMetricFamily(
        "stocksync_sync_runs", "Sync runs live or finished in the last 24 hours.", labels=["status"]
    )
    for status, n in session.execute(_RUNS):
        runs.add_metric([status], n)
    batches = GaugeMetricFamily(
        "stocksync_sync_batches",
        "Full-sync batches queued or processing, and those finished in the last 24 hours.",
        labels=["status"],
    )
    for status, n in session.execute(BATCH_COUNTS):
        batches.add_metric([status], n)
    yield from (runs, batches)
    yield GaugeMetricFamily(
        "stocksync_sync_batches_retried",
        "Batches (live or finished in 24 hours) that needed more than one attempt.",
        value=session.execute(_BATCHES_RETRIED).scalar_one(),
    )


def broker_metrics(depths: dict[str, Any]) -> Iterator[Metric]:
    depth = GaugeMetricFamily(
        "stocksync_queue_depth", "Messages waiting in the broker, per queue.", labels=["queue"]
    )
    for queue, n in depths["queues"].items():
        depth.add_metric([queue], n)
    yield depth
    yield GaugeMetricFamily(
        "stocksync_queue_unacked",
        "Messages handed to workers and not acknowledged yet (incl. countdowns).",
        value=depths["unacked"],
    )


class StocksyncCollector(Collector):
    """Everything above, read at scrape time and cached for CACHE_SECONDS."""

    def __init__(self, res: Resources, cache_seconds: float = CACHE_SECONDS) -> None:
        self.res = res
        self.cache_seconds = cache_seconds
        self._lock = threading.Lock()
        self._cached: tuple[float, list[Metric]] | None = None

    def collect(self) -> Iterable[Metric]:
        with self._lock:
            if self._cached is None or time.monotonic() - self._cached[0] > self.cache_seconds:
                self._cached = (time.monotonic(), self._read())
            return list(self._cached[1])

    def _read(self) -> list[Metric]:
        found: list[Metric] = []
        up = GaugeMetricFamily(
            "stocksync_metrics_source_up", "1 if the source could be read.", labels=["source"]
        )
        try:
            with self.res.ctx.sessions.begin() as session:
                found += list(database_metrics(session))
            up.add_metric(["postgresql"], 1)
        except SQLAlchemyError as exc:
            # Scrapes go on during an outage: report it as a metric rather than a 500.
            log.warning("metrics.database_unavailable", extra={"error": type(exc).__name__})
            up.add_metric(["postgresql"], 0)
        try:
            found += list(broker_metrics(self.res.ctx.broker.depths()))
            up.add_metric(["redis"], 1)
        except Unavailable as exc:
            # Same: the database half is still worth serving.
            log.warning("metrics.redis_unavailable", extra={"error": exc.message})
            up.add_metric(["redis"], 0)
        return [*found, up]


def init_metrics(app: Flask, res: Resources) -> None:
    """A registry per app (tests build many apps), with our collector."""
    registry = CollectorRegistry(auto_describe=False)
    registry.register(StocksyncCollector(res))
    app.extensions["stocksync_metrics"] = registry
    app.register_blueprint(metrics)


@metrics.get("/metrics")
def scrape() -> Response:
    registry: CollectorRegistry = current_app.extensions["stocksync_metrics"]
    return Response(generate_latest(registry), content_type=CONTENT_TYPE_LATEST)
