"""What the workers do when Redis or PostgreSQL goes away for a while.

Both are outages of ours, not the event's fault: a task that meets one retries with
backoff (`OUTAGES`, used by workers/events.py and workers/runs.py) like any transient
error, instead of failing and leaving its row to the sweeper.

After a Redis outage, `republish_queued` (published by workers/reconnect.py when the
worker's consumer connects again) publishes again every event row queued before the
loss: their messages are stuck in Redis's unacked set. A row whose message was not stuck
costs one more message, never a second write (sync/events.py processes a row once).
Killed before that task runs, the rows wait for the sweeper, as before. The loss is
timed on the worker's clock and compared with `queued_at` (the database's): with a
worker clock behind, rows queued in the last moments before the loss are left to the
sweeper.
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import NoReturn

import redis
from celery import shared_task
from celery.app.task import Task
from sqlalchemy.exc import InterfaceError, OperationalError

from sync.context import Context
from sync.outbox import sweep
from workers import presets
from workers.context import get_context
from workers.reconnect import REPUBLISH_QUEUED

log = logging.getLogger(__name__)

#: Errors that mean PostgreSQL or Redis is unreachable (or dropped the connection):
#: retried with backoff, as a platform's transient error is.
OUTAGES: tuple[type[Exception], ...] = (OperationalError, InterfaceError, redis.RedisError)


@shared_task(name=REPUBLISH_QUEUED, bind=True, **presets.MAINTENANCE)
def republish_queued(self: Task, lost_at: str) -> int:
    """Publish again every event row queued before `lost_at` (module docstring)."""
    ctx = get_context(self.app)
    before = datetime.fromisoformat(lost_at)
    total = 0
    while published := sweep(ctx, queued_before=before):
        total += published
    log.info("outbox.republished_after_loss", extra={"published": total, "lost_at": lost_at})
    return total


def retry_later(task: Task, ctx: Context, exc: Exception) -> NoReturn:
    """Retry `task` with backoff after an outage met before it held anything to put back
    (its claim, its run's start); past its retries Celery raises `exc` again and the row
    is left to recovery (sync/recovery.py)."""
    raise task.retry(countdown=ctx.backoff(task.request.retries, None), exc=exc)
