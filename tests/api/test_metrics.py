"""`/metrics`: Prometheus text computed from the rows, behind the admin token."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import redis
from flask import Flask
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy.orm import Session, sessionmaker

from api.app import create_app
from models import BatchStatus, RunStatus, SyncBatch, WebhookStatus
from settings import Settings
from tests.factories.sync import run_row
from tests.factories.webhook_log import log_row
from tests.support.admin_api import AUTH, Shop
from workers.app import make_celery


def _samples(app: Flask) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    response = app.test_client().get("/metrics", headers=AUTH)
    assert response.status_code == 200
    assert response.content_type.startswith("text/plain; version=")
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(response.get_data(as_text=True))
        for s in family.samples
    }


def test_metrics_from_rows_and_the_broker(
    app: Flask, shop: Shop, db: sessionmaker[Session], settings: Settings
) -> None:
    now = datetime.now(UTC)
    with db.begin() as session:
        for seconds in (6, 7, 40):
            log_row(
                session,
                site_id=shop.site_id,
                received_at=now - timedelta(seconds=seconds + 1),
                processed_at=now - timedelta(seconds=1),
                attempts=1 if seconds < 40 else 3,
            )
        log_row(session, provider="shopify", status=WebhookStatus.DUPLICATE)
        log_row(session, provider="shopify", status=WebhookStatus.DUPLICATE)
        log_row(session, status=WebhookStatus.FAILED, received_at=now - timedelta(days=3))
        run = run_row(
            session,
            shop.site_id,
            status=RunStatus.COMPLETED,
            started_at=now - timedelta(seconds=100),
            finished_at=now - timedelta(seconds=10),
        )
        run_row(session, shop.site_id, status=RunStatus.RUNNING)
        session.add(SyncBatch(run_id=run.id, seq=0, skus=["A"], status=BatchStatus.QUEUED))
        session.add(
            SyncBatch(
                run_id=run.id,
                seq=1,
                skus=["B"],
                status=BatchStatus.COMPLETED,
                attempts=2,
                finished_at=now,
            )
        )
    make_celery(settings).send_task("workers.batches.process", args=[1], queue="sync", priority=7)

    samples = _samples(app)

    def value(name: str, **labels: str) -> float:
        return samples[(name, tuple(sorted(labels.items())))]

    assert value("stocksync_webhook_requests_total") == 6
    assert value("stocksync_webhooks_last_24h", provider="woocommerce", status="processed") == 3
    assert (
        "stocksync_webhooks_last_24h",
        (("provider", "woocommerce"), ("status", "failed")),
    ) not in samples
    assert value("stocksync_webhook_duplicates_last_24h", provider="shopify") == 2
    assert value("stocksync_webhook_retried_last_24h", provider="woocommerce") == 1
    assert value("stocksync_event_latency_seconds_bucket", le="5.0") == 0
    assert value("stocksync_event_latency_seconds_bucket", le="7.5") == 2
    assert value("stocksync_event_latency_seconds_bucket", le="+Inf") == 3
    assert value("stocksync_event_latency_seconds_gcount") == 3
    assert 52 < value("stocksync_event_latency_seconds_gsum") < 54
    assert value("stocksync_sync_run_duration_seconds_bucket", kind="manual", le="60.0") == 0
    assert value("stocksync_sync_run_duration_seconds_bucket", kind="manual", le="120.0") == 1
    assert value("stocksync_sync_runs", status="running") == 1
    assert value("stocksync_sync_batches", status="queued") == 1
    assert value("stocksync_sync_batches_retried") == 1
    assert value("stocksync_queue_depth", queue="sync") == 1
    assert value("stocksync_queue_depth", queue="events") == 0
    assert value("stocksync_metrics_source_up", source="postgresql") == 1
    assert value("stocksync_metrics_source_up", source="redis") == 1


def test_a_redis_outage_is_a_metric_not_an_error(
    settings: Settings, redis_client: redis.Redis, db: sessionmaker[Session]
) -> None:
    app = create_app(replace(settings, redis_url="redis://127.0.0.1:1/0"))
    samples = _samples(app)
    assert samples[("stocksync_metrics_source_up", (("source", "redis"),))] == 0
    assert samples[("stocksync_metrics_source_up", (("source", "postgresql"),))] == 1


def test_metrics_need_the_admin_token(app: Flask) -> None:
    assert app.test_client().get("/metrics").status_code == 401


def test_a_postgresql_outage_is_a_metric_though_the_throttle_cannot_count(
    unreachable_settings: Settings,
) -> None:
    app = create_app(replace(unreachable_settings, redis_url="redis://127.0.0.1:1/0"))
    samples = _samples(app)
    assert samples[("stocksync_metrics_source_up", (("source", "postgresql"),))] == 0
    wrong = app.test_client().get("/metrics", headers={"Authorization": "Bearer " + "y" * 40})
    assert wrong.status_code == 401
