"""The outbox sweep task (beat, every minute): see `sync.outbox`."""

from __future__ import annotations

from celery import Task, shared_task

from workers import presets
from workers.events import enqueue_event

SWEEP = "workers.outbox.sweep"


@shared_task(name=SWEEP, bind=True, **presets.MAINTENANCE)
def sweep(self: Task) -> int:
    from sync.outbox import sweep as sweep_outbox
    from workers.context import get_context

    return sweep_outbox(get_context().sessions, lambda row_id: enqueue_event(self.app, row_id))
