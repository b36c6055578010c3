"""Celery settings, and only Celery settings, built from `settings.Settings`.

Why each value (docs/architecture.md, "Priorities" and flow 5):
- JSON only, UTC: task arguments are ids and primitives (docs/style.md rule 2).
- Three queues so a webhook never waits behind a 50,000-SKU nightly sync; the worker
  reads them in the listed order (`queue_order_strategy: priority`).
- Redis priority steps 0-9 inside a queue; with the Redis transport **0 is the highest**.
- Late acks, reject on worker loss, prefetch 1: a killed worker's message goes back to
  the queue instead of vanishing, and no worker hoards messages it is not running.
- On connection loss the worker cancels its tasks in flight (their messages stay in
  Redis's unacked set) and reconnects; once back it publishes again the event rows that
  were queued before the loss (workers/outages.py), so none waits for the sweeper.
- `visibility_timeout` (1 h) is far above every countdown (retry backoff is capped at
  10 min, the dedupe window is seconds) and every task time limit (15 min at most);
  otherwise Redis would hand an unacked message to a second worker and it would run
  twice. A test checks this against the presets.
"""

from __future__ import annotations

from typing import Any

from kombu import Queue

from settings import Settings

QUEUES = ("events", "sync", "maintenance")
VISIBILITY_TIMEOUT = 3600
#: kombu's Redis transport options (no `sep`: kombu's default, workers/transport.py).
TRANSPORT_OPTIONS: dict[str, Any] = {
    "visibility_timeout": VISIBILITY_TIMEOUT,
    "priority_steps": list(range(10)),
    "queue_order_strategy": "priority",
}


def build(settings: Settings) -> dict[str, Any]:
    return {
        "broker_url": settings.redis_url,
        # No result backend: no task's result is read (Flower and the stats read task
        # events). One in Redis made a Redis outage fatal to the worker: cancelling the
        # tasks in flight on connection loss records their retry state in the backend,
        # that write failed, and Celery stopped with "Unrecoverable error".
        "task_ignore_result": True,
        "task_serializer": "json",
        "accept_content": ["json"],
        "timezone": "UTC",
        "enable_utc": True,
        "task_queues": [Queue(name, routing_key=name) for name in QUEUES],
        "task_default_queue": "maintenance",
        "task_create_missing_queues": False,
        "task_acks_late": True,
        "task_reject_on_worker_lost": True,
        "worker_prefetch_multiplier": 1,
        "worker_concurrency": settings.worker_concurrency,
        # kombu's Redis transport, skipping exchange bindings another client wrote
        # with another key separator instead of failing on them; with kombu's default
        # separator, as stock clients (`celery inspect`) use (workers/transport.py).
        "broker_transport": "workers.transport:Transport",
        "broker_transport_options": dict(TRANSPORT_OPTIONS),
        "broker_connection_retry_on_startup": True,
        # Flower and the stats API read task events. No `task-sent` event: it is one
        # more Redis PUBLISH per message on the receiver's path, and Flower learns of
        # every task from the worker's received/started/succeeded events anyway.
        "worker_send_task_events": True,
        "task_send_sent_event": False,
        "task_track_started": True,
        "worker_cancel_long_running_tasks_on_connection_loss": True,
        "beat_schedule_filename": str(settings.home / "celerybeat-schedule"),
    }
