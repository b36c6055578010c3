"""Maintenance tasks run by beat: recovery of batches and runs, log retention.

Each loads nothing but settings, calls one function of `sync/`, and publishes what
that function returned after its transaction committed.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime

from celery import shared_task
from celery.app.task import Task

from models.db import transaction
from sync.recovery import fail_stuck_runs, return_stuck_batches
from sync.retention import purge_webhook_log
from workers import presets
from workers.context import get_context
from workers.lifecycle import publish_deliveries
from workers.runs import publish_batches

log = logging.getLogger(__name__)

RETURN_STUCK_BATCHES = "workers.maintenance.return_stuck_batches"
FAIL_STUCK_RUNS = "workers.maintenance.fail_stuck_runs"
PURGE_WEBHOOK_LOG = "workers.maintenance.purge_webhook_log"


@shared_task(name=RETURN_STUCK_BATCHES, bind=True, **presets.MAINTENANCE)
def return_stuck_batches_task(self: Task) -> int:
    """Return batches stuck in `processing` and republish lost `queued` ones."""
    ctx = get_context(self.app)
    with transaction(ctx.sessions) as session:
        returned = return_stuck_batches(
            session, datetime.now(UTC), ctx.settings.stuck_batch_minutes
        )
    for batch_id, kind in returned.batches:
        publish_batches(self.app, [batch_id], kind)
    if returned.batches or returned.held:
        log.warning(
            "sync.batches.returned published=%d held=%d", len(returned.batches), returned.held
        )
    return len(returned.batches)


@shared_task(name=FAIL_STUCK_RUNS, bind=True, **presets.MAINTENANCE)
def fail_stuck_runs_task(self: Task) -> int:
    """Fail runs without progress for STUCK_RUN_MINUTES, and report them."""
    ctx = get_context(self.app)
    with transaction(ctx.sessions) as session:
        runs, deliveries = fail_stuck_runs(
            session, datetime.now(UTC), ctx.settings.stuck_run_minutes
        )
    publish_deliveries(self.app, deliveries)
    for run_id in runs:
        log.error(
            "sync.run.stuck run=%d failed after %d minutes", run_id, ctx.settings.stuck_run_minutes
        )
    return len(runs)


@shared_task(name=PURGE_WEBHOOK_LOG, bind=True, **presets.MAINTENANCE)
def purge_webhook_log_task(self: Task) -> int:
    """Delete webhook-log rows past WEBHOOK_LOG_RETENTION_DAYS."""
    ctx = get_context(self.app)
    deleted = purge_webhook_log(
        ctx.sessions, datetime.now(UTC), ctx.settings.webhook_log_retention_days
    )
    log.info("webhook_log.purged rows=%d", deleted)
    return deleted
