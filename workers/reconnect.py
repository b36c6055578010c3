"""A consumer step that notices the worker's reconnection to Redis after losing it.

The messages a worker held when it lost Redis (counting down their dedupe window, or in
flight, which Celery cancels on connection loss) stay in Redis's unacked set until the
visibility timeout (1 h), and the outbox sweeper would find their rows only after
QUEUED_TIMEOUT (10 min). So once connected again the step publishes one task
(workers/outages.py `republish_queued`) that publishes again every event row queued
before the loss. It imports no task module: the app factory registers it.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from typing import Any

from celery import bootsteps

from workers import presets

log = logging.getLogger(__name__)

REPUBLISH_QUEUED = "workers.outages.republish_queued"


class RepublishAfterLoss(bootsteps.StartStopStep):
    """A consumer step: the consumer stops on a broker connection loss and starts again
    once connected, so a start after a stop (not at shutdown) is a reconnection."""

    requires = {"celery.worker.consumer.tasks:Tasks"}

    def __init__(self, parent: Any, **kwargs: Any) -> None:
        super().__init__(parent, **kwargs)
        self.lost_at: datetime | None = None

    def start(self, parent: Any) -> None:
        if self.lost_at is None:
            return
        # A publish that fails is a connection error: the consumer starts again, and
        # this step with it, the loss still noted.
        # On the events queue: the events worker reads it, and only the main worker,
        # busy with a night's sync tasks, reads the maintenance queue.
        parent.app.send_task(
            REPUBLISH_QUEUED,
            args=[self.lost_at.isoformat()],
            ignore_result=True,
            queue=presets.EVENT["queue"],
            priority=presets.EVENT["priority"],
        )
        log.warning("worker.reconnected", extra={"lost_at": self.lost_at.isoformat()})
        self.lost_at = None

    def stop(self, parent: Any) -> None:
        self.lost_at = self.lost_at or datetime.now(UTC)

    def shutdown(self, parent: Any) -> None:
        self.lost_at = None
