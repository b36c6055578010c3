"""Concurrency and outages on the real-time path (issue 4's checks), real parts only."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import requests
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from api.app import create_app
from models import Site, WebhookLog, WebhookStatus
from models.crypto import Vault
from models.db import transaction
from sandbox.server import running
from settings import Settings
from sync.catalog import refresh_catalog
from sync.outbox import QUEUED_TIMEOUT, sweep
from tests.factories import signed
from tests.support.relaying import relaying
from tests.support.stack import FAST, Stack, installed_context, sandbox_stack, wait_for, workers
from tests.support.stoppable_redis import StoppableRedis
from tests.support.worker_process import worker_process
from workers.app import make_celery


@pytest.fixture
def stack(db: sessionmaker[Session], vault: Vault) -> Iterator[Stack]:
    with sandbox_stack(db, vault, "woocommerce", items=80, drift=0.0) as stack:
        with transaction(db) as session:
            session.get_one(Site, stack.site_id).webhook_secret_sealed = vault.seal(
                signed.STANDARD_SECRET
            )
        yield stack


def _mirror(settings: Settings, stack: Stack) -> None:
    with installed_context(settings) as context, context.sessions() as session:
        site = session.get_one(Site, stack.site_id)
        refresh_catalog(context, site, context.storefront(site))


def _deliver(base: str, stack: Stack, sku: str, msg_id: str) -> int:
    request = signed.standard(sku=sku, msg_id=msg_id)
    return requests.post(
        f"{base}/webhooks/standard/{stack.site_id}",
        data=request.body,
        headers=request.headers,
        timeout=30,
    ).status_code


def _rows(db: sessionmaker[Session]) -> list[WebhookLog]:
    with db() as session:
        return list(session.scalars(select(WebhookLog).order_by(WebhookLog.id)))


def _waiting(db: sessionmaker[Session]) -> list[WebhookLog]:
    return [r for r in _rows(db) if r.status == WebhookStatus.RECEIVED]


def _change_erp(stack: Stack, skus: list[str]) -> dict[str, int]:
    changes = {sku: stack.erp_stock()[sku] + 11 for sku in skus}
    stack.erp.set_stock(changes)
    return changes


@pytest.mark.slow
def test_200_concurrent_deliveries_of_20_events_process_exactly_20(
    settings: Settings, db: sessionmaker[Session], stack: Stack, redis_client: object
) -> None:
    _mirror(settings, stack)
    skus = sorted(stack.erp_stock())[:20]
    changes = _change_erp(stack, skus)
    deliveries = [(sku, f"msg_{sku}") for sku in skus for _ in range(10)]  # each sent 10 times
    with (
        installed_context(settings, **FAST),
        running(create_app(settings)) as base,
        relaying(settings),
    ):
        with ThreadPoolExecutor(32) as pool:
            codes = list(pool.map(lambda d: _deliver(base, stack, *d), deliveries))
        assert codes == [200] * 200
        with workers(make_celery(settings), concurrency=4):
            wait_for(
                lambda: sum(r.status == WebhookStatus.PROCESSED for r in _rows(db)) >= 20,
                60,
                "20 processed",
            )
    statuses = [r.status for r in _rows(db)]
    assert len(statuses) == 200
    assert statuses.count(WebhookStatus.PROCESSED) == 20
    assert statuses.count(WebhookStatus.DUPLICATE) == 180
    assert {sku: stack.store_stock()[sku] for sku in skus} == changes


@pytest.mark.slow
def test_redis_stopped_mid_flood_loses_nothing_and_processes_nothing_twice(
    settings: Settings, db: sessionmaker[Session], stack: Stack, tmp_path: Path
) -> None:
    broker = StoppableRedis(tmp_path / "redis")
    broker.start()
    settings = replace(settings, redis_url=broker.url)
    _mirror(settings, stack)
    skus = sorted(stack.erp_stock())[:60]
    changes = _change_erp(stack, skus)
    try:
        with (
            installed_context(settings, **FAST) as ctx,
            running(create_app(settings)) as base,
            relaying(settings),
            worker_process(settings, settings.encryption_keys[0], tmp_path / "worker.log"),
        ):
            codes = [_deliver(base, stack, sku, uuid.uuid4().hex) for sku in skus[:20]]
            wait_for(lambda: not _waiting(db), 10, "the relay to queue the first 20")
            broker.stop()  # the worker and the relay lose their broker too
            codes += [_deliver(base, stack, sku, uuid.uuid4().hex) for sku in skus[20:40]]
            assert len(_waiting(db)) == 20  # accepted while Redis is down, kept in PostgreSQL
            broker.start()
            codes += [_deliver(base, stack, sku, uuid.uuid4().hex) for sku in skus[40:]]
            assert codes == [200] * 60
            wait_for(lambda: not _waiting(db), 30, "the relay to catch up")
            # The events published before the outage may sit in Redis's unacked set (a
            # worker held them when the broker went away) until the visibility
            # timeout; the sweeper republishes them sooner. Ten minutes on:
            later = datetime.now(UTC) + QUEUED_TIMEOUT + timedelta(seconds=1)
            sweep(ctx, now=later)
            wait_for(
                lambda: all(r.status == WebhookStatus.PROCESSED for r in _rows(db)),
                60,
                "every accepted event processed",
            )
    finally:
        broker.stop()
    rows = _rows(db)
    assert len(rows) == 60 and all(r.status == WebhookStatus.PROCESSED for r in rows)
    assert {sku: stack.store_stock()[sku] for sku in skus} == changes
    written = sum(call.items for call in stack.store.writes)
    assert written == 60  # each SKU written once: nothing processed twice
