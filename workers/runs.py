"""The run's start task, and the retry rule the run's tasks share.

A run is started by `sync.runs.start_run` (every trigger), which commits the run row
and publishes this task. The task announces the run, refreshes the site's catalog
mirror, cuts the batches in SQL and publishes the first few of them (the run's window:
each batch queues the next as it ends, sync/runs.py `fill_window`), at the run's
priority: manual runs above nightly ones, both below webhook events (workers/presets.py).
A catalog too long to list inside one task's time is listed by several: each goes on
from the place the last one saved (sync/catalog.py).
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from celery import shared_task
from celery.app.task import Task
from celery.exceptions import SoftTimeLimitExceeded

from connectors.errors import PermanentError, TransientError
from connectors.registry import UnknownPlatform
from models.crypto import VaultError
from models.db import transaction
from sync.batches import publish
from sync.context import Context
from sync.plan import plan_run
from sync.runs import begin_run, fail_run, prepare_batches
from workers import presets
from workers.broker import START_RUN
from workers.context import get_context
from workers.outages import OUTAGES, retry_later

log = logging.getLogger(__name__)

#: Worth retrying: the platform, the network, PostgreSQL or Redis may be better later.
RETRYABLE = (TransientError, SoftTimeLimitExceeded, *OUTAGES)
#: Failing the same way every time, for a reason to record (not a bug of ours).
EXPECTED = (PermanentError, VaultError, UnknownPlatform)


def describe(exc: BaseException) -> str:
    """What to record on a row about an error: its kind and message, bounded."""
    return f"{type(exc).__name__}: {exc}"[:1000]


def retry_or_give_up(
    task: Task,
    ctx: Context,
    exc: Exception,
    *,
    release: Callable[[str, float], None],
    give_up: Callable[[str], list[int]],
) -> list[int]:
    """Retry the task with backoff while retries remain (raises `Retry`), else give up.

    `release(error, countdown)` puts the row back for the retry first; `give_up` records
    the failure and returns lifecycle deliveries to publish. The countdown honours the
    platform's wait hint (`Retry-After`, BigCommerce's reset) and stays under the retry cap.
    """
    error = describe(exc)
    if task.request.retries >= (task.max_retries or 0):
        return give_up(error)
    countdown = ctx.backoff(task.request.retries, getattr(exc, "retry_after", None))
    release(error, countdown)
    raise task.retry(countdown=countdown, exc=exc)


def _plan(ctx: Context, run_id: int) -> None:
    """Forecast the run (sync/plan.py). A forecast is advice: one that fails is logged
    and the run goes on without one."""
    try:
        plan_run(ctx, run_id)
    except Exception:
        log.exception("sync.run.plan_failed", extra={"run": run_id})


@shared_task(name=START_RUN, bind=True, **presets.SYNC)
def start(self: Task, run_id: int) -> None:
    """Begin the run, refresh the catalog mirror, cut and publish the batches."""
    ctx = get_context(self.app)
    try:
        with transaction(ctx.sessions) as session:
            begun = begin_run(session, run_id, self.request.id, self.time_limit)
    except OUTAGES as exc:
        retry_later(self, ctx, exc)
    if begun is None:
        return  # cancelled, finished, paused before it began, or already batched
    ctx.broker.queue_deliveries(begun.deliveries)
    if begun.first:
        _plan(ctx, run_id)

    def give_up(error: str) -> list[int]:
        with transaction(ctx.sessions) as session:
            return fail_run(session, run_id, f"catalog refresh failed: {error}")

    try:
        cut = prepare_batches(ctx, run_id, self.request.id)
    except RETRYABLE as exc:
        # Raises Celery's `Retry` while retries remain; then the run fails with the reason.
        deliveries = retry_or_give_up(self, ctx, exc, release=lambda *_: None, give_up=give_up)
    except Exception as exc:
        # Permanent (bad credentials) or a bug: the run fails with the reason rather than
        # staying `running`; a bug is raised again for the logs.
        ctx.broker.queue_deliveries(give_up(describe(exc)))
        if isinstance(exc, EXPECTED):
            return
        raise
    else:
        deliveries = cut.deliveries
        if cut.again_in is not None:
            # A fresh message, not a retry: the listing is progressing, its place saved
            # (sync/catalog.py, sync/erp_reads.py), or another run reads the source.
            ctx.broker.queue_start(run_id, begun.kind, cut.again_in)
            log.info("sync.run.listing_continues", extra={"run": run_id, "in": cut.again_in})
            return
        # The run's first few batches; each queues the next as it ends (sync/runs.py
        # `fill_window`), so runs started together take turns in the queue.
        publish(ctx, [(batch_id, begun.kind) for batch_id in cut.publish])
        log.info("sync.run.started", extra={"run": run_id, "batches": len(cut.batch_ids)})
    ctx.broker.queue_deliveries(deliveries)
