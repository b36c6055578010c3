"""Publishing a task by name: the one way our code queues work through Celery's client
(the relay builds its event messages itself, workers/events.py).

Why not `Celery.send_task` directly: it reads `ignore_result` from its own arguments
only, not from `task_ignore_result`, so every publish first had the Redis result
backend SUBSCRIBE to the task's result channel (and UNSUBSCRIBE when the unused
AsyncResult was dropped): two Redis commands per task for results no one reads. With
Redis down, that subscription failed first, in the result backend's reconnect loop,
as a RuntimeError ("the Celery application must be restarted") instead of kombu's
OperationalError, so a run's start answered 500 instead of 503.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from celery import Celery


def send(app: Celery, name: str, args: Sequence[Any], **options: Any) -> None:
    """Queue task `name` with `args`; `options` as `send_task`'s (queue, priority, ...).
    Raises kombu's OperationalError when the broker cannot be reached."""
    app.send_task(name, args=args, ignore_result=True, **options)
