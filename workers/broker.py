"""`CeleryBroker`: the service layer's `Broker` (sync/context.py) on Celery and Redis.

Every task our code queues goes through `send` (the relay builds its event messages
itself, workers/events.py). Task names are declared here, once, so the tasks and
the broker agree without importing each other. `depths` reads what the Redis
transport holds, for the stats API and the metrics.

Why not `Celery.send_task` directly: it reads `ignore_result` from its own arguments
only, not from `task_ignore_result`, so every publish first had the Redis result
backend SUBSCRIBE to the task's result channel (and UNSUBSCRIBE when the unused
AsyncResult was dropped): two Redis commands per task for results no one reads. With
Redis down, that subscription failed first, in the result backend's reconnect loop,
as a RuntimeError ("the Celery application must be restarted") instead of kombu's
OperationalError, so a run's start answered 500 instead of 503.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import redis
from celery import Celery
from kombu.exceptions import KombuError

import celeryconfig
from sync.errors import Unavailable
from sync.runs import RunKind
from workers import presets

START_RUN = "workers.runs.start"
PROCESS_BATCH = "workers.batches.process"
PROCESS_EVENT = "workers.events.process"
DELIVER = "workers.lifecycle.deliver"

#: What publishing raises when Redis is down or unreachable.
BROKER_ERRORS = (KombuError, redis.RedisError, OSError)


def send(app: Celery, name: str, args: Sequence[Any], **options: Any) -> None:
    """Queue task `name` with `args`; `options` as `send_task`'s (queue, priority, ...).
    Raises `Unavailable` when the broker cannot be reached."""
    try:
        app.send_task(name, args=args, ignore_result=True, **options)
    except BROKER_ERRORS as exc:
        raise Unavailable(f"the broker cannot be reached ({type(exc).__name__})") from exc


def priority_for(kind: str) -> int:
    """Runs an operator waits for (manual, preview) above nightly ones, all below
    webhook events (workers/presets.py)."""
    waited_for = kind in (RunKind.MANUAL, RunKind.PREVIEW)
    return presets.PRIORITY_MANUAL_SYNC if waited_for else presets.PRIORITY_NIGHTLY_SYNC


#: kombu's Redis transport: the hash of delivered, unacknowledged messages, and their
#: delivery times (a sorted set; workers/stranded.py).
UNACKED_KEY = "unacked"
UNACKED_INDEX_KEY = "unacked_index"


def queue_keys(queue: str, options: Mapping[str, Any]) -> list[str]:
    """The Redis lists holding `queue`'s messages: kombu's Redis transport keeps one per
    priority step, `<queue>` for 0 and `<queue><sep><n>` (celeryconfig.py's `sep`)."""
    sep = options.get("sep", "\x06\x16")
    steps = options.get("priority_steps") or [0]
    return [queue if step == 0 else f"{queue}{sep}{step}" for step in steps]


def broker_depths(
    client: redis.Redis,
    options: Mapping[str, Any],
    queues: Iterable[str] = celeryconfig.QUEUES,
) -> dict[str, Any]:
    """Messages waiting per queue (all priorities summed), and unacknowledged ones
    (which include tasks waiting for their countdown)."""
    queues = list(queues)
    pipe = client.pipeline(transaction=False)
    for queue in queues:
        for key in queue_keys(queue, options):
            pipe.llen(key)
    pipe.hlen(UNACKED_KEY)
    answers = pipe.execute()
    depths, index = {}, 0
    for queue in queues:
        width = len(queue_keys(queue, options))
        depths[queue] = int(sum(answers[index : index + width]))
        index += width
    return {"queues": depths, "unacked": int(answers[index])}


class CeleryBroker:
    """`sync.context.Broker` on a Celery app (the worker's own, or a client's made for
    it: `owns_app`, closed with it), and the Redis it runs on (`client`, with the
    caller's timeouts) for `depths`."""

    def __init__(self, app: Celery, client: redis.Redis, *, owns_app: bool = False) -> None:
        self.app = app
        self.client = client
        self.owns_app = owns_app

    def queue_start(self, run_id: int, kind: str, countdown: float = 0) -> None:
        send(
            self.app,
            START_RUN,
            [run_id],
            queue=presets.SYNC["queue"],
            priority=priority_for(kind),
            countdown=countdown or None,
        )

    def queue_batches(self, batch_ids: Iterable[int], kind: str) -> None:
        for batch_id in batch_ids:
            send(
                self.app,
                PROCESS_BATCH,
                [batch_id],
                queue=presets.SYNC["queue"],
                priority=priority_for(kind),
            )

    def queue_deliveries(self, delivery_ids: Iterable[int], countdown: float = 0) -> None:
        for delivery_id in delivery_ids:
            send(
                self.app,
                DELIVER,
                [delivery_id],
                queue=presets.EVENT["queue"],
                priority=presets.PRIORITY_EVENT,
                countdown=countdown or None,
            )

    def queue_event(self, row_id: int) -> None:
        """`retry=False`: on a request path a dead broker must fail in milliseconds, not
        after Celery's publish retries; the outbox sweeper is the retry."""
        send(
            self.app,
            PROCESS_EVENT,
            (row_id,),  # a tuple, as workers/events.py event_message's argsrepr says
            queue=presets.EVENT["queue"],
            priority=presets.EVENT["priority"],
            retry=False,
        )

    def close(self) -> None:
        """Release the app's broker connections if the app is ours (a client's)."""
        if self.owns_app:
            self.app.close()

    def depths(self) -> dict[str, Any]:
        try:
            return broker_depths(self.client, self.app.conf.broker_transport_options)
        except redis.RedisError as exc:
            raise Unavailable(f"Redis cannot be reached ({type(exc).__name__})") from exc
