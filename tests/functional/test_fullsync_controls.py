"""Pause at about 30 %, resume, cancel: checked on the store's write log.

One worker and a store answering in 20 ms make the run slow enough to act in the
middle of it. BigCommerce takes a batch's changes in one write, so the write log says
exactly which SKUs were written, and how often.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import redis
from celery import Celery
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from models import BatchStatus, RunStatus, SyncBatch
from models.crypto import Vault
from settings import Settings
from sync import controls
from sync.context import Context
from sync.progress import Progress, run_progress
from sync.runs import start_run
from tests.support.stack import (
    FAST,
    Stack,
    finished,
    installed_context,
    run_row,
    sandbox_stack,
    wait_for,
    workers,
)
from workers.app import make_celery
from workers.context import get_context

ITEMS = 10_000


@pytest.fixture
def ctx(settings: Settings, redis_client: redis.Redis) -> Iterator[Context]:
    with installed_context(settings, **FAST) as context:
        yield context


@pytest.fixture
def app(settings: Settings, ctx: Context) -> Celery:
    return make_celery(settings)


def _progress(db: sessionmaker[Session], run_id: int) -> Progress:
    with db() as session:
        return run_progress(session, run_id)


@pytest.fixture
def stack(db: sessionmaker[Session], vault: Vault) -> Iterator[Stack]:
    with sandbox_stack(
        db, vault, "bigcommerce", items=ITEMS, drift=0.1, store={"latency_ms": 20}
    ) as stack:
        yield stack


def _started_and_30_percent_done(app: Celery, db: sessionmaker[Session], stack: Stack) -> int:
    run_id = start_run(get_context(app), stack.site_id)
    wait_for(lambda: _progress(db, run_id).percent >= 30, what="30 %")
    return run_id


def _batches(db: sessionmaker[Session], run_id: int) -> dict[BatchStatus, list[list[str]]]:
    by_status: dict[BatchStatus, list[list[str]]] = {}
    with db() as session:
        for status, skus in session.execute(
            select(SyncBatch.status, SyncBatch.skus).where(SyncBatch.run_id == run_id)
        ):
            by_status.setdefault(status, []).append(skus)
    return by_status


def _queued_ids(db: sessionmaker[Session], run_id: int) -> list[int]:
    with db() as session:
        return list(
            session.scalars(
                select(SyncBatch.id).where(
                    SyncBatch.run_id == run_id, SyncBatch.status == BatchStatus.QUEUED
                )
            )
        )


def _quiet(db: sessionmaker[Session], run_id: int, client: redis.Redis) -> bool:
    """No batch processing and no batch message left in the queue."""
    queued = sum(
        client.llen(key) for key in client.scan_iter("sync*") if client.type(key) == b"list"
    )
    return queued == 0 and BatchStatus.PROCESSING not in _batches(db, run_id)


def _written(stack: Stack) -> int:
    """SKUs written so far (BigCommerce: one write per batch, its changed SKUs)."""
    return sum(write.items for write in stack.store.writes)


@pytest.mark.slow
def test_pause_holds_the_rest_and_resume_syncs_it_once(
    app: Celery, stack: Stack, db: sessionmaker[Session], redis_client: redis.Redis
) -> None:
    drifted = stack.differing()
    with workers(app):
        run_id = _started_and_30_percent_done(app, db, stack)
        controls.pause(get_context(app), run_id)
        wait_for(lambda: _quiet(db, run_id, redis_client), what="the worker to settle")
        paused = _progress(db, run_id)
        written = len(stack.store.writes)
        # Messages arriving now (a duplicate, a retry) find the run paused.
        queued = _batches(db, run_id)[BatchStatus.QUEUED]
        get_context(app).broker.queue_batches(_queued_ids(db, run_id), "manual")
        wait_for(lambda: _quiet(db, run_id, redis_client), what="the duplicates to drain")

        assert paused.status == RunStatus.PAUSED and 30 <= paused.percent < 70
        assert paused.pending == sum(len(skus) for skus in queued) > 0
        assert len(stack.store.writes) == written
        assert stack.differing()  # the rest is not synced yet

        controls.resume(get_context(app), run_id)
        wait_for(lambda: finished(db, run_id), what="the run")

    run = run_row(db, run_id)
    assert stack.differing() == set()
    assert (run.status, run.synced, run.unchanged) == (
        RunStatus.COMPLETED,
        len(drifted),
        ITEMS - len(drifted),
    )
    assert _written(stack) == len(drifted)  # every changed SKU written once, none twice
    done = _progress(db, run_id)
    assert (done.percent, done.pending, done.eta_seconds) == (100.0, 0, None)


@pytest.mark.slow
def test_cancel_stops_the_rest_and_keeps_what_was_synced(
    app: Celery, stack: Stack, db: sessionmaker[Session], redis_client: redis.Redis
) -> None:
    drifted = stack.differing()
    with workers(app):
        run_id = _started_and_30_percent_done(app, db, stack)
        moving = _progress(db, run_id)
        controls.cancel(get_context(app), run_id)
        wait_for(lambda: finished(db, run_id), what="the run to close")
        wait_for(lambda: _quiet(db, run_id, redis_client), what="the worker to settle")

    run = run_row(db, run_id)
    batches = _batches(db, run_id)
    done = {sku for skus in batches[BatchStatus.COMPLETED] for sku in skus}
    left = {sku for skus in batches[BatchStatus.CANCELLED] for sku in skus}
    assert moving.rate and moving.eta_seconds and moving.pending > 0
    assert run.status == RunStatus.CANCELLED and run.error == "cancelled by an operator"
    assert (run.skipped, run.synced + run.unchanged) == (len(left), len(done))
    assert len(left) > ITEMS / 4
    # What was synced stays synced; nothing of the cancelled batches was written.
    assert stack.differing() == drifted & left
    assert _written(stack) == run.synced == len(drifted & done)
    assert _progress(db, run_id).pending == 0
