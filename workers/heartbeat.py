"""The consumer heartbeat of sync/consumers.py: each worker judges, on a timer of its
event loop, whether it is consuming, and says so in Redis.

It is consuming unless, at two ticks in a row, messages were waiting in the queues it
reads while it had a free pool slot, and it took none between them. A busy worker
(every slot taken) counts as consuming: events then wait for capacity, not for a dead
loop. Only its own queues count: the events-only worker (`-Q events`) has nothing to
take from a sync queue full of the night's batches.
"""

from __future__ import annotations

import logging
import time
from typing import Any

import redis
from celery import bootsteps
from celery.signals import task_received
from celery.worker import state

from sync.consumers import HEARTBEATS, INTERVAL_SECONDS, QUEUES_OF, forget_gone
from workers.broker import broker_depths

log = logging.getLogger(__name__)


class Heartbeat(bootsteps.StartStopStep):
    """A consumer step: the self-check and heartbeat of the module docstring."""

    requires = {"celery.worker.consumer.tasks:Tasks"}

    def __init__(self, parent: Any, **kwargs: Any) -> None:
        super().__init__(parent, **kwargs)
        self.taken = 0
        #: Whether messages were waiting with a slot free at the last tick.
        self.starved = False
        self.timer: Any = None
        self.client: redis.Redis | None = None

    def start(self, parent: Any) -> None:
        self.client = redis.Redis.from_url(
            parent.app.conf.broker_url, socket_timeout=2, socket_connect_timeout=2
        )
        task_received.connect(self._on_received, weak=False)
        # A first beat at once: the one a restarted worker left (Redis keeps it) would
        # have its own probe call it silent until its first tick.
        self.tick(parent)
        try:
            forget_gone(self.client, time.time())
        except redis.RedisError as exc:
            log.debug("worker.heartbeat_prune_failed", extra={"error": type(exc).__name__})
        self.timer = parent.timer.call_repeatedly(INTERVAL_SECONDS, self.tick, (parent,))

    def stop(self, parent: Any) -> None:
        task_received.disconnect(self._on_received)
        if self.timer is not None:
            self.timer.cancel()
            self.timer = None
        if self.client is not None:
            self.client.close()
            self.client = None

    def _on_received(self, **_: Any) -> None:
        self.taken += 1

    def tick(self, parent: Any) -> None:
        """Runs on the event loop: never raises, never blocks for more than a timeout."""
        if self.client is None:
            return
        try:
            options = parent.app.conf.broker_transport_options
            # The -Q queues (every queue when none was named).
            queues = sorted(parent.app.amqp.queues.consume_from)
            waiting = sum(broker_depths(self.client, options, queues)["queues"].values())
            free = len(state.reserved_requests) < parent.controller.concurrency
            starved = bool(waiting) and free
            taken, self.taken = self.taken, 0
            stuck = self.starved and starved and not taken
            self.starved = starved
            if stuck:
                log.error("worker.not_consuming", extra={"waiting": waiting})
                return
            # Queues first: a worker with a heartbeat and no queues reads every queue.
            pipe = self.client.pipeline(transaction=True)
            pipe.hset(QUEUES_OF, parent.hostname, ",".join(queues))
            pipe.hset(HEARTBEATS, parent.hostname, str(time.time()))
            pipe.execute()
        except redis.RedisError as exc:
            # Redis is down: the consumer reconnects on its own; no heartbeat meanwhile.
            log.debug("worker.heartbeat_failed", extra={"error": type(exc).__name__})
