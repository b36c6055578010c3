"""The full-sync batch task: claim, sync, record; retry transient failures.

Thin by design (docs/style.md rule 2): the batch's id in, `sync.batches` does the work,
and a finished batch queues its run's next one (`queue_next`). The task decides only
about retries: a transient error puts the batch back to `queued` and
retries it with backoff (honouring the platform's wait) up to the preset's limit; then,
or on a permanent error, the batch is `failed` with its error and the run goes on.
"""

from __future__ import annotations

import logging

from celery import shared_task
from celery.app.task import Task

from models.db import transaction
from sync.batches import (
    StaleClaim,
    claim_batch,
    fail_batch,
    queue_next,
    release_batch,
    sync_batch,
)
from sync.leases import kept
from workers import presets
from workers.broker import PROCESS_BATCH
from workers.context import get_context
from workers.outages import OUTAGES, retry_later
from workers.runs import EXPECTED, RETRYABLE, describe, retry_or_give_up

log = logging.getLogger(__name__)


@shared_task(name=PROCESS_BATCH, bind=True, **presets.SYNC)
def process(self: Task, batch_id: int) -> None:
    """Sync one batch of a run (see sync/batches.py for the claim and its token)."""
    ctx = get_context(self.app)
    # Redis marks a message it hands out again after its worker was lost (kombu sets
    # `redelivered` when restoring an unacked message): that delivery may take over.
    redelivered = bool((self.request.delivery_info or {}).get("redelivered"))
    lease = ctx.settings.batch_lease_seconds
    try:
        with transaction(ctx.sessions) as session:
            claim = claim_batch(
                session,
                batch_id,
                lease_seconds=lease,
                delivery=self.request.id,
                redelivered=redelivered,
            )
    except OUTAGES as exc:
        retry_later(self, ctx, exc)
    if claim is None:
        return  # finished, cancelled, held by a live delivery, or its run is paused

    def release(error: str, countdown: float) -> None:
        release_batch(ctx.sessions, claim, error, retry_lease=countdown + lease)

    def give_up(error: str) -> list[int]:
        deliveries = fail_batch(ctx.sessions, claim, error)
        queue_next(ctx, claim)
        return deliveries

    try:
        with kept(ctx.sessions, claim, lease):
            deliveries = sync_batch(ctx, claim)
    except StaleClaim as exc:
        # Its lease lapsed and another delivery took the batch over (a redelivered
        # message, or the sweep's): that delivery records the outcome.
        log.warning("sync.batch.taken_over", extra={"batch": batch_id, "error": str(exc)})
        return
    except RETRYABLE as exc:
        # Raises Celery's `Retry` while retries remain; then the batch fails, run goes on.
        deliveries = retry_or_give_up(self, ctx, exc, release=release, give_up=give_up)
    except Exception as exc:
        # Permanent (bad credentials, a refused request) or a bug: the batch fails with
        # the reason so its run can still finish; a bug is raised again for the logs.
        ctx.broker.queue_deliveries(give_up(describe(exc)))
        if isinstance(exc, EXPECTED):
            return
        raise
    else:
        # Outside the `try`: the batch is recorded, and an outage here must not retry
        # it; the sweep fills the run's window instead (sync/recovery.py).
        queue_next(ctx, claim)
    ctx.broker.queue_deliveries(deliveries)
