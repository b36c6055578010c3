"""Batches: retries, giving up, per-item failures, and never counting a SKU twice."""

from __future__ import annotations

from dataclasses import replace

import pytest
from celery import Celery
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from models import BatchStatus, RunStatus, SyncBatch
from models.crypto import Vault
from models.db import transaction
from settings import Settings
from sync.batches import Claim, StaleClaim, claim_batch, fail_batch, sync_batch
from sync.context import Context
from sync.push import NEVER_IN_ERP
from sync.retry import BACKOFF_CAP_SECONDS
from tests.support.stack import (
    FAST,
    Stack,
    finished,
    installed_context,
    prepared_run,
    run_row,
    sandbox_stack,
    sweep_batches,
    wait_for,
    workers,
)
from workers import presets
from workers.app import make_celery

#: The Celery task id of the message the tests' claims come from.
DELIVERY = "task-1"


def _batches(db: sessionmaker[Session], run_id: int) -> list[SyncBatch]:
    with db() as session:
        return list(
            session.scalars(select(SyncBatch).where(SyncBatch.run_id == run_id).order_by("seq"))
        )


def _claim(db: sessionmaker[Session], batch_id: int) -> Claim:
    with transaction(db) as session:
        claim = claim_batch(session, batch_id, delivery=DELIVERY)
    assert claim is not None
    return claim


def _stack(db: sessionmaker[Session], vault: Vault, items: int, **kwargs: object) -> Stack:
    return sandbox_stack(db, vault, "bigcommerce", items=items, **kwargs)  # type: ignore[return-value]


def test_transient_failures_are_retried_until_the_store_recovers(
    sync_ctx: Context, celery_app: Celery, db: sessionmaker[Session], vault: Vault
) -> None:
    with _stack(db, vault, 1000) as stack:
        drifted = stack.differing()
        run_id, batch_ids = prepared_run(sync_ctx, stack.site_id)
        stack.store.set_faults(share_5xx=1.0)
        sync_ctx.broker.queue_batches(batch_ids, "manual")
        with workers(celery_app):
            wait_for(lambda: all(b.attempts >= 2 for b in _batches(db, run_id)), what="retries")
            stack.store.set_faults(share_5xx=0.0)
            wait_for(lambda: finished(db, run_id), what="the run")
        assert stack.differing() == set()

    run = run_row(db, run_id)
    assert (run.status, run.synced, run.failed) == (RunStatus.COMPLETED, len(drifted), 0)
    assert all("HTTP 503" in (b.error or "") for b in _batches(db, run_id))


def test_a_batch_that_keeps_failing_fails_with_its_error_and_so_does_its_run(
    sync_ctx: Context, celery_app: Celery, db: sessionmaker[Session], vault: Vault
) -> None:
    with _stack(db, vault, 400) as stack:
        run_id, batch_ids = prepared_run(sync_ctx, stack.site_id)
        stack.store.set_faults(share_5xx=1.0)
        sync_ctx.broker.queue_batches(batch_ids, "manual")
        with workers(celery_app):
            wait_for(lambda: finished(db, run_id), what="the run to give up")

    [batch] = _batches(db, run_id)
    assert batch.status == BatchStatus.FAILED
    assert batch.attempts == presets.SYNC["max_retries"] + 1
    assert "HTTP 503" in (batch.error or "")
    run = run_row(db, run_id)
    assert (run.status, run.failed, run.synced) == (RunStatus.FAILED, 400, 0)
    assert run.error is not None and run.error.startswith("1 of 1 batches failed")


def test_a_failed_batch_does_not_stop_the_others(
    sync_ctx: Context, db: sessionmaker[Session], vault: Vault
) -> None:
    with _stack(db, vault, 1000) as stack:
        run_id, (first, second) = prepared_run(sync_ctx, stack.site_id)
        fail_batch(db, _claim(db, first), "TransientError: gave up")
        sync_batch(sync_ctx, _claim(db, second))

    run = run_row(db, run_id)
    assert (run.status, run.batches_pending) == (RunStatus.FAILED, 0)
    assert run.failed == 500 and run.synced + run.unchanged == 500
    assert run.error == "1 of 2 batches failed; first: TransientError: gave up"


def test_a_redelivered_batch_is_never_counted_twice(
    sync_ctx: Context, db: sessionmaker[Session], vault: Vault
) -> None:
    with _stack(db, vault, 600) as stack:
        run_id, (first, second) = prepared_run(sync_ctx, stack.site_id)
        dead = _claim(db, first)
        with transaction(db) as session:
            # Not redelivered: the batch is held, this message has nothing to do.
            assert claim_batch(session, first) is None
            # Redelivered (its worker was lost): it takes the batch over from its own
            # earlier delivery.
            alive = claim_batch(session, first, delivery=DELIVERY, redelivered=True)
        assert alive is not None and alive.attempt == dead.attempt + 1
        with pytest.raises(StaleClaim):
            sync_batch(sync_ctx, dead)  # the "dead" delivery wakes up: it records nothing
        sync_batch(sync_ctx, alive)
        with transaction(db) as session:
            # The batch finished: neither a duplicate nor a redelivery claims it again.
            assert claim_batch(session, first) is None
            assert claim_batch(session, first, redelivered=True) is None
        sync_batch(sync_ctx, _claim(db, second))
        drifted_left = stack.differing()

    run = run_row(db, run_id)
    assert drifted_left == set()
    assert (run.status, run.synced + run.unchanged + run.failed) == (RunStatus.COMPLETED, 600)


def test_a_slow_live_worker_keeps_its_batches_while_the_sweep_runs(
    settings: Settings, db: sessionmaker[Session], vault: Vault
) -> None:
    """A batch whose work outlasts its lease many times over (here an ERP answering in
    a second per request, ten requests a batch, against a 3 s lease) is never handed to
    a second delivery while its worker is alive: the worker's heartbeat renews the
    lease, and the sweep, run all along, returns nothing."""
    short = replace(settings, batch_lease_seconds=3)
    app = make_celery(short)
    with installed_context(short, **FAST) as ctx, _stack(db, vault, 1000) as stack:
        stack.erp.set_faults(latency_ms=1000)
        drifted = stack.differing()
        run_id, batch_ids = prepared_run(ctx, stack.site_id)
        ctx.broker.queue_batches(batch_ids, "manual")
        returned: list[tuple[int, str]] = []

        def swept_until_finished() -> bool:
            returned.extend(sweep_batches(db))
            return bool(returned) or finished(db, run_id)

        with workers(app, concurrency=2):
            wait_for(swept_until_finished, what="the run")
        assert returned == []
        assert stack.differing() == set()

    assert [(b.attempts, b.error) for b in _batches(db, run_id)] == [(1, None), (1, None)]
    run = run_row(db, run_id)
    assert (run.status, run.synced, run.unchanged) == (
        RunStatus.COMPLETED,
        len(drifted),
        1000 - len(drifted),
    )


def test_skus_the_erp_does_not_know_fail_alone(
    sync_ctx: Context, celery_app: Celery, db: sessionmaker[Session], vault: Vault
) -> None:
    with _stack(db, vault, 300) as stack:
        stack.delete_in_erp("SKU-000007")
        run_id, batch_ids = prepared_run(sync_ctx, stack.site_id)
        sync_ctx.broker.queue_batches(batch_ids, "manual")
        with workers(celery_app):
            wait_for(lambda: finished(db, run_id), what="the run")

    run = run_row(db, run_id)
    assert (run.status, run.failed, run.synced + run.unchanged) == (RunStatus.COMPLETED, 1, 299)
    [batch] = _batches(db, run_id)
    assert batch.failures == {"SKU-000007": NEVER_IN_ERP}


def test_a_retry_waits_at_least_what_the_platform_asked(sync_ctx: Context) -> None:
    assert sync_ctx.backoff(0, 30.0) >= 30.0
    assert sync_ctx.backoff(0, None) <= sync_ctx.backoff_base_seconds
    assert sync_ctx.backoff(40, 10_000.0) == BACKOFF_CAP_SECONDS
