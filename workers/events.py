"""The webhook event task: thin, as STYLE.md rule 2 asks.

The message carries only the `webhook_log` row id; the row is the durable record and
`sync.events.process_event` does the work. The receiver publishes by task name, so the
web process never imports worker code paths beyond this module.
"""

from __future__ import annotations

import base64
import json
import logging
import socket
import uuid
from datetime import UTC, datetime, timedelta

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


def event_message(row_id: int, countdown: float) -> str:
    """The broker message `enqueue_event` would publish, built without Celery's client.

    The receiver's dispatcher pushes thousands of these a second in one Redis round
    trip with the dedupe key (api/intake.py); Celery's publish path costs about half a
    millisecond of CPU per message, more than the rest of the request. This is Celery's
    message protocol v2 as kombu's Redis transport stores it (a JSON envelope with a
    base64 body, pushed on the queue's list); a test checks it against `send_task`'s
    output and runs it through a real worker.
    """
    task_id = str(uuid.uuid4())
    eta = datetime.now(UTC) + timedelta(seconds=countdown) if countdown else None
    body = [[row_id], {}, {"callbacks": None, "errbacks": None, "chain": None, "chord": None}]
    return json.dumps(
        {
            "body": base64.b64encode(json.dumps(body).encode()).decode(),
            "content-encoding": "utf-8",
            "content-type": "application/json",
            "headers": {
                "lang": "py",
                "task": PROCESS_EVENT,
                "id": task_id,
                "shadow": None,
                "eta": eta.isoformat() if eta else None,
                "expires": None,
                "group": None,
                "group_index": None,
                "retries": 0,
                "timelimit": [None, None],
                "root_id": task_id,
                "parent_id": None,
                "argsrepr": f"({row_id},)",
                "kwargsrepr": "{}",
                "origin": _ORIGIN,
                "ignore_result": True,
                "replaced_task_nesting": 0,
                "stamped_headers": None,
                "stamps": {},
            },
            "properties": {
                "correlation_id": task_id,
                "reply_to": "",
                "delivery_mode": 2,
                "delivery_info": {"exchange": "", "routing_key": EVENTS_QUEUE},
                "priority": presets.EVENT["priority"],
                "body_encoding": "base64",
                "delivery_tag": str(uuid.uuid4()),
            },
        }
    )


#: With the Redis transport, priority 0 messages go on the queue's own list.
EVENTS_QUEUE: str = presets.EVENT["queue"]
_ORIGIN = f"stocksync-receiver@{socket.gethostname()}"


@shared_task(name=PROCESS_EVENT, bind=True, **presets.EVENT)
def process(self: Task, row_id: int) -> None:
    # Imported here: the web process imports this module to publish, and must not
    # pull in the worker's connectors and context.
    from sync.events import process_event, record_failure
    from workers.context import get_context
    from workers.runs import start_sync

    context = get_context(self.app)

    def sync_site(site_id: int) -> None:
        start_sync(self.app, context.sessions, site_id, trigger="webhook")

    try:
        process_event(context, row_id, sync_site)
    except TransientError as exc:
        if self.request.retries >= self.max_retries:
            record_failure(context, row_id, f"gave up after {self.request.retries} retries: {exc}")
            return
        countdown = context.backoff(self.request.retries, exc.retry_after)
        log.info("event.retry", extra={"row": row_id, "countdown": countdown, "error": str(exc)})
        raise self.retry(exc=exc, countdown=countdown) from exc
