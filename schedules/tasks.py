"""The beat task that starts due nightly runs. It lives with the schedule it serves;
`workers/app.py` lists it among the task modules."""

from __future__ import annotations

import logging
from datetime import UTC, datetime

from celery import shared_task
from celery.app.task import Task

from schedules.due import start_due_runs
from sync.runs import RunKind
from workers import presets
from workers.context import get_context
from workers.runs import publish_start

log = logging.getLogger(__name__)

START_DUE_SYNCS = "schedules.tasks.start_due_syncs"


@shared_task(name=START_DUE_SYNCS, bind=True, **presets.MAINTENANCE)
def start_due_syncs(self: Task) -> int:
    """Start the full sync of every site past its local sync hour without one today."""
    ctx = get_context(self.app)
    started = start_due_runs(ctx.sessions, datetime.now(UTC))
    for run_id in started:
        publish_start(self.app, run_id, RunKind.FULL)
    if started:
        log.info("schedules.full_sync.started runs=%s", started)
    return len(started)
