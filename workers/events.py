"""The webhook event task: thin, as STYLE.md rule 2 asks.

The message carries only the `webhook_log` row id; the row is the durable record and
`sync.events.process_event` does the work. The receiver publishes by task name, so the
web process never imports worker code paths beyond this module.
"""

from __future__ import annotations

import logging

from celery import Celery, Task, shared_task

from connectors.errors import TransientError
from workers import presets

log = logging.getLogger(__name__)

PROCESS_EVENT = "workers.events.process"


def enqueue_event(celery: Celery, row_id: int, countdown: float = 0.0) -> None:
    """Publish one event; raises on a broker failure (the row then waits for the sweeper).

    `retry=False`: on the request path a dead broker must fail in milliseconds, not
    after Celery's publish retries; the outbox sweeper is the retry.
    """
    celery.send_task(
        PROCESS_EVENT,
        args=(row_id,),
        countdown=countdown or None,
        queue=presets.EVENT["queue"],
        priority=presets.EVENT["priority"],
        retry=False,
    )


@shared_task(name=PROCESS_EVENT, bind=True, **presets.EVENT)
def process(self: Task, row_id: int) -> None:
    from sync.events import process_event, record_failure

    from workers.context import get_context

    context = get_context()
    try:
        process_event(context, row_id)
    except TransientError as exc:
        if self.request.retries >= self.max_retries:
            record_failure(context, row_id, f"gave up after {self.request.retries} retries: {exc}")
            return
        countdown = presets.backoff_seconds(self.request.retries, exc.retry_after)
        log.info("event.retry", extra={"row": row_id, "countdown": countdown, "error": str(exc)})
        raise self.retry(exc=exc, countdown=countdown) from exc
