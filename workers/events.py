"""The webhook event task, thin (docs/style.md rule 2), and its message for the relay.

The message carries only `webhook_log` row ids: one (an int), or the relay's group of
one source's item notices whose windows closed together (a list). The rows are the
durable record and `sync.events.process_events` does the work.
"""

from __future__ import annotations

import base64
import json
import logging
import socket
import uuid
from collections.abc import Sequence

from celery import Task, shared_task

from connectors.errors import TransientError
from sync.events import process_events, record_failure
from workers import presets
from workers.broker import PROCESS_EVENT
from workers.context import get_context
from workers.outages import OUTAGES

log = logging.getLogger(__name__)

#: A platform's transient error, or PostgreSQL or Redis down: the row stays `queued`
#: and the task retries with backoff.
RETRYABLE: tuple[type[Exception], ...] = (TransientError, *OUTAGES)


def event_message(rows: Sequence[int]) -> str:
    """The broker message `CeleryBroker.queue_event` would publish for `rows`, built
    without Celery's client: one row as its id, several as a list of ids.

    The relay (workers/relay.py) schedules thousands of these a second in one Redis
    round trip with the dedupe key; Celery's publish path costs about half a millisecond
    of CPU per message. This is Celery's message protocol v2 as kombu's Redis transport
    stores it (a JSON envelope with a base64 body, pushed on the queue's list); a test
    checks it against `send_task`'s output and runs it through a real worker. The
    envelope is encoded once (`_ENVELOPE`) and only the per-message fields are filled
    in: encoding the whole envelope per message was 20 us, half the relay's CPU per
    event.

    It carries no ETA: the relay holds it in its due set until the dedupe window closes
    and pushes it then, so a worker runs it as soon as it takes it. A message with an
    ETA is held in the worker's parent process until due, about 14 ms of its CPU per
    event on 2 cores (issue 22).
    """
    task_id = str(uuid.uuid4())
    arg = str(rows[0]) if len(rows) == 1 else f"[{', '.join(map(str, rows))}]"
    return _ENVELOPE.format(
        task_id=task_id,
        body=base64.b64encode((_BODY % arg).encode()).decode(),
        argsrepr=f"({arg},)",
        delivery_tag=uuid.uuid4(),
    )


def _envelope() -> str:
    """The message envelope as a `str.format` template: JSON-encoded once, with a
    placeholder for each field that changes per message (none needs escaping: ids,
    base64, a tuple's repr)."""
    fields = {name: f"@{name}@" for name in ("task_id", "body", "argsrepr", "delivery_tag")}
    encoded = json.dumps(
        {
            "body": fields["body"],
            "content-encoding": "utf-8",
            "content-type": "application/json",
            "headers": {
                "lang": "py",
                "task": PROCESS_EVENT,
                "id": fields["task_id"],
                "shadow": None,
                "eta": None,
                "expires": None,
                "group": None,
                "group_index": None,
                "retries": 0,
                "timelimit": [None, None],
                "root_id": fields["task_id"],
                "parent_id": None,
                "argsrepr": fields["argsrepr"],
                "kwargsrepr": "{}",
                "origin": f"stocksync-receiver@{socket.gethostname()}",
                "ignore_result": True,
                "replaced_task_nesting": 0,
                "stamped_headers": None,
                "stamps": {},
            },
            "properties": {
                "correlation_id": fields["task_id"],
                "reply_to": "",
                "delivery_mode": 2,
                "delivery_info": {"exchange": "", "routing_key": EVENTS_QUEUE},
                "priority": presets.EVENT["priority"],
                "body_encoding": "base64",
                "delivery_tag": fields["delivery_tag"],
            },
        }
    )
    template = encoded.replace("{", "{{").replace("}", "}}")
    for name in fields:
        template = template.replace(f"@{name}@", f"{{{name}}}")
    return template


#: The task's arguments and options (protocol v2 body), `%` the argument's JSON.
_BODY = json.dumps(
    [[0], {}, {"callbacks": None, "errbacks": None, "chain": None, "chord": None}]
).replace("[[0]", "[[%s]", 1)


#: With the Redis transport, priority 0 messages go on the queue's own list.
EVENTS_QUEUE: str = presets.EVENT["queue"]
_ENVELOPE = _envelope()


@shared_task(name=PROCESS_EVENT, bind=True, **presets.EVENT)
def process(self: Task, rows: int | list[int]) -> None:
    context = get_context(self.app)
    row_ids = [rows] if isinstance(rows, int) else rows
    try:
        process_events(context, row_ids)
    except RETRYABLE as exc:
        if self.request.retries >= self.max_retries:
            record_failure(context, row_ids, f"gave up after {self.request.retries} retries: {exc}")
            return
        countdown = context.backoff(self.request.retries, getattr(exc, "retry_after", None))
        log.info("event.retry", extra={"row": rows, "countdown": countdown, "error": str(exc)})
        raise self.retry(exc=exc, countdown=countdown) from exc
