"""Maintenance tasks run by beat: due nightly runs, recovery of batches and runs, the
outbox and log retention.

Each calls one function of `sync/` or `schedules/` and publishes what it returned
after its transaction committed. Their names are the strings schedules/beat.py uses.
"""

from __future__ import annotations

import logging
import time
from datetime import UTC, datetime

import redis
from celery import shared_task
from celery.app.task import Task

from models.db import transaction
from schedules.due import start_due_runs
from sync.batches import publish
from sync.erp_reads import purge_reads
from sync.outbox import sweep
from sync.recovery import fail_stuck_runs, fill_windows, return_stuck_batches
from sync.retention import purge_delivery_memory, purge_webhook_log
from workers import presets
from workers.context import get_context
from workers.stranded import forget, stranded_batches

log = logging.getLogger(__name__)

START_DUE_SYNCS = "workers.maintenance.start_due_syncs"
RETURN_STUCK_BATCHES = "workers.maintenance.return_stuck_batches"
FAIL_STUCK_RUNS = "workers.maintenance.fail_stuck_runs"
PURGE_WEBHOOK_LOG = "workers.maintenance.purge_webhook_log"
OUTBOX_SWEEP = "workers.maintenance.outbox_sweep"


@shared_task(name=START_DUE_SYNCS, bind=True, **presets.MAINTENANCE)
def start_due_syncs(self: Task) -> int:
    """Start the full sync of every site past its local sync hour without one today."""
    return len(start_due_runs(get_context(self.app), datetime.now(UTC)))


@shared_task(name=RETURN_STUCK_BATCHES, bind=True, **presets.MAINTENANCE)
def return_stuck_batches_task(self: Task) -> int:
    """Return batches whose lease lapsed, republish lost `queued` ones and lost start
    tasks, and fill runs' windows left short (sync/recovery.py)."""
    ctx = get_context(self.app)
    client = redis.Redis.from_url(self.app.conf.broker_url, socket_timeout=10)
    try:
        # kombu's clock, the delivering host's: a host far behind costs a duplicate
        # message, which claims nothing.
        taken = stranded_batches(client, time.time() - ctx.settings.batch_lease_seconds)
        with transaction(ctx.sessions) as session:
            returned = return_stuck_batches(
                session, ctx.settings.stuck_batch_minutes, set(taken.values())
            )
        for batch_id, kind in returned.batches:
            ctx.broker.queue_batches([batch_id], kind)
        # Only once published again: killed before this, the next sweep finds them.
        republished = {batch_id for batch_id, _ in returned.batches}
        forget(client, [tag for tag, batch_id in taken.items() if batch_id in republished])
    finally:
        client.close()
    with transaction(ctx.sessions) as session:
        filled, deliveries = fill_windows(session, ctx.settings)
    ctx.broker.queue_deliveries(deliveries)
    publish(ctx, filled)
    for run_id, kind in returned.starts:
        ctx.broker.queue_start(run_id, kind)
    if returned.batches or returned.held or returned.starts or filled:
        log.warning(
            "sync.batches.returned",
            extra={
                "published": len(returned.batches),
                "windows_filled": len(filled),
                "held": returned.held,
                "starts": [run_id for run_id, _ in returned.starts],
                "stranded": len(republished & set(taken.values())),
            },
        )
    return len(returned.batches) + len(returned.starts) + len(filled)


@shared_task(name=FAIL_STUCK_RUNS, bind=True, **presets.MAINTENANCE)
def fail_stuck_runs_task(self: Task) -> int:
    """Fail runs without progress for STUCK_RUN_MINUTES, and report them."""
    ctx = get_context(self.app)
    with transaction(ctx.sessions) as session:
        runs, deliveries = fail_stuck_runs(
            session, datetime.now(UTC), ctx.settings.stuck_run_minutes
        )
    ctx.broker.queue_deliveries(deliveries)
    for run_id in runs:
        log.error(
            "sync.run.stuck", extra={"run": run_id, "minutes": ctx.settings.stuck_run_minutes}
        )
    return len(runs)


@shared_task(name=OUTBOX_SWEEP, bind=True, **presets.MAINTENANCE)
def outbox_sweep(self: Task) -> int:
    """Publish webhook rows left `queued` without a live message (sync/outbox.py)."""
    return sweep(get_context(self.app))


@shared_task(name=PURGE_WEBHOOK_LOG, bind=True, **presets.MAINTENANCE)
def purge_webhook_log_task(self: Task) -> int:
    """Delete webhook-log rows past WEBHOOK_LOG_RETENTION_DAYS, forget delivery ids
    past IDEMPOTENCY_TTL_SECONDS, and delete the sources' shared reads of the ERP past
    their `KEEP_DAYS` (sync/erp_reads.py)."""
    ctx = get_context(self.app)
    now = datetime.now(UTC)
    deleted = purge_webhook_log(ctx.sessions, now, ctx.settings.webhook_log_retention_days)
    forgotten = purge_delivery_memory(ctx.sessions, now, ctx.settings.idempotency_ttl_seconds)
    with transaction(ctx.sessions) as session:
        reads = purge_reads(session)
    log.info(
        "webhook_log.purged", extra={"rows": deleted, "delivery_ids": forgotten, "erp_reads": reads}
    )
    return deleted
