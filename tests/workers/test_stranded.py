"""A batch message a dead worker took before claiming its batch is published again by
the lease sweep, not half an hour later (workers/stranded.py)."""

from __future__ import annotations

import time

import redis
from celery import Celery
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from models import BatchStatus, RunStatus, SyncBatch
from models.crypto import Vault
from models.db import transaction
from sync.batches import claim_batch, release_batch
from sync.context import Context
from sync.recovery import return_stuck_batches
from tests.support.stack import finished, prepared_run, run_row, sandbox_stack, wait_for, workers
from workers.broker import UNACKED_INDEX_KEY, UNACKED_KEY
from workers.maintenance import RETURN_STUCK_BATCHES
from workers.stranded import forget, stranded_batches


def _take_and_die(app: Celery, client: redis.Redis, seconds_ago: float) -> str:
    """Take the next `sync` message as a worker does (kombu files it as unacked), then
    die: no acknowledgement, and no restoring it at shutdown as a worker that stops
    cleanly would. Dated `seconds_ago`."""
    with app.connection_for_read() as connection:
        channel = connection.default_channel
        message = channel.basic_get("sync", no_ack=False)
        assert message is not None
        tag = str(message.delivery_tag)
        channel.qos.restore_at_shutdown = False  # SIGKILL: it never gets to
    assert client.hexists(UNACKED_KEY, tag)
    client.zadd(UNACKED_INDEX_KEY, {tag: time.time() - seconds_ago})
    return tag


def test_a_batch_taken_by_a_worker_that_died_before_claiming_it_is_published_again(
    sync_ctx: Context,
    celery_app: Celery,
    db: sessionmaker[Session],
    vault: Vault,
    redis_client: redis.Redis,
) -> None:
    with sandbox_stack(db, vault, "shopify", items=1200) as stack:
        drifted = stack.differing()
        run_id, batch_ids = prepared_run(sync_ctx, stack.site_id)
        sync_ctx.broker.queue_batches(batch_ids, "manual")
        tag = _take_and_die(celery_app, redis_client, seconds_ago=61)
        with workers(celery_app):
            celery_app.send_task(RETURN_STUCK_BATCHES, queue="maintenance")
            wait_for(lambda: finished(db, run_id), what="the run")
        assert stack.differing() == set()

    run = run_row(db, run_id)
    assert (run.status, run.synced, run.failed) == (RunStatus.COMPLETED, len(drifted), 0)
    # The dead worker's copy is gone: kombu will not hand it out again in an hour.
    assert not redis_client.hexists(UNACKED_KEY, tag)


def test_only_old_batch_messages_count_as_stranded(
    sync_ctx: Context,
    celery_app: Celery,
    db: sessionmaker[Session],
    vault: Vault,
    redis_client: redis.Redis,
) -> None:
    """A message taken a moment ago is a live worker's, about to claim its batch; other
    tasks' messages (countdowns, deliveries) are kombu's business."""
    with sandbox_stack(db, vault, "shopify", items=1000) as stack:
        _, (old, fresh) = prepared_run(sync_ctx, stack.site_id)
    sync_ctx.broker.queue_batches([old], "manual")
    old_tag = _take_and_die(celery_app, redis_client, seconds_ago=61)
    sync_ctx.broker.queue_batches([fresh], "manual")
    _take_and_die(celery_app, redis_client, seconds_ago=1)
    sync_ctx.broker.queue_start(12345, "manual")
    _take_and_die(celery_app, redis_client, seconds_ago=600)

    assert stranded_batches(redis_client, time.time() - 60) == {old_tag: old}
    forget(redis_client, [old_tag])
    assert stranded_batches(redis_client, time.time() - 60) == {}


def test_a_stranded_batch_is_republished_only_while_queued_with_no_retry_pending(
    sync_ctx: Context, db: sessionmaker[Session], vault: Vault
) -> None:
    """A batch waiting for its retry has a lease and its message is held on purpose
    (the countdown); a claimed batch is a live worker's."""
    with sandbox_stack(db, vault, "shopify", items=1500) as stack:
        _, (lost, retrying, claimed) = prepared_run(sync_ctx, stack.site_id)
    with transaction(db) as session:
        retry = claim_batch(session, retrying)
        claim_batch(session, claimed)
    assert retry is not None
    release_batch(db, retry, "TransientError: HTTP 429", retry_lease=70)

    with transaction(db) as session:
        returned = return_stuck_batches(session, 30, {lost, retrying, claimed})
    assert returned.batches == [(lost, "manual")]
    with db() as session:
        rows = session.execute(
            select(SyncBatch.id, SyncBatch.status).where(
                SyncBatch.id.in_([lost, retrying, claimed])
            )
        )
        statuses = {batch_id: status for batch_id, status in rows}
    assert statuses == {
        lost: BatchStatus.QUEUED,
        retrying: BatchStatus.QUEUED,
        claimed: BatchStatus.PROCESSING,
    }
