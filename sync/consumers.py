"""Whether any worker consumes: the heartbeats workers write, read against the queues.

A worker can stay alive and connected while it no longer takes messages (a kombu
poller that lost its queue read: workers/transport.py); nothing fails, events just
wait. Each worker judges itself every few seconds and, while it consumes, writes the
time into `HEARTBEATS` under its name (workers/heartbeat.py). Messages waiting and no
heartbeat newer than `STALL_SECONDS` means nobody consumes: a wedged worker, a frozen
one, or none at all. `/readyz` reports it (api/health.py).
"""

from __future__ import annotations

import time
from typing import Any

import redis

from sync.context import Context

#: Redis hash: worker name to the last time (epoch seconds) it was seen consuming.
HEARTBEATS = "stocksync:consumers"
#: Seconds between two self-checks of a worker.
INTERVAL_SECONDS = 5.0
#: Messages waiting and no heartbeat this recent: consumption stopped. Several
#: intervals, so one slow tick is not an outage.
STALL_SECONDS = 30.0


def stalled(ctx: Context, now: float) -> dict[str, Any] | None:
    """Messages waiting and the age of the newest heartbeat when no worker consumes,
    else None. Raises `Unavailable` or a Redis error when Redis cannot be read."""
    waiting = sum(ctx.broker.depths()["queues"].values())
    if not waiting:
        return None
    beats = [float(value) for value in ctx.redis.hvals(HEARTBEATS)]  # type: ignore[union-attr]
    latest = max(beats, default=None)
    if latest is not None and now - latest <= STALL_SECONDS:
        return None
    return {"waiting": waiting, "last_heartbeat_age": None if latest is None else now - latest}


def worker_running(client: redis.Redis, now: float | None = None) -> bool:
    """Whether a worker wrote a heartbeat within `STALL_SECONDS`: `stocksync sync` and
    the dashboard say "no worker is running" rather than show a run queued forever.
    Redis unreadable: assume one does (what follows says what it sees)."""
    now = time.time() if now is None else now
    try:
        beats = [float(value) for value in client.hvals(HEARTBEATS)]  # type: ignore[union-attr]
    except redis.RedisError:
        return True
    return any(now - beat <= STALL_SECONDS for beat in beats)
