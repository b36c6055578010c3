"""Whether each queue is consumed: the heartbeats workers write, read against the queues.

A worker can stay alive and connected while it no longer takes messages (a kombu
poller that lost its queue read: workers/transport.py); nothing fails, events just
wait. Each worker judges itself every few seconds and, while it consumes, writes the
time into `HEARTBEATS` under its name, and the queues it reads into `QUEUES_OF`
(workers/heartbeat.py). A queue with messages waiting and no heartbeat newer than
`STALL_SECONDS` from a worker that reads it is not consumed: a wedged worker, a frozen
one, or none at all. Judged per queue because the events queue has a worker of its own
beside the main one (docs/architecture.md, "Priorities"): that one beating must not
hide a main worker that stopped taking the night's batches. `/readyz/consumers`
reports it (api/health.py), and `silent` one worker's heartbeat, for its own probe.
"""

from __future__ import annotations

import math
import time
from typing import Any

import redis

from sync.context import Context

#: Redis hash: worker name to the last time (epoch seconds) it was seen consuming.
HEARTBEATS = "stocksync:consumers"
#: Redis hash: worker name to the queues it reads, comma-separated. A worker with no
#: entry (one of a version before it) is taken to read every queue.
QUEUES_OF = "stocksync:consumer_queues"
#: Seconds between two self-checks of a worker.
INTERVAL_SECONDS = 5.0
#: Messages waiting and no heartbeat this recent: consumption stopped. Several
#: intervals, so one slow tick is not an outage.
STALL_SECONDS = 30.0
#: A worker not seen for this long is gone, its entries dropped (`forget_gone`).
FORGET_SECONDS = 86_400.0
#: The queue of the full syncs' tasks (workers/presets.py `SYNC`).
SYNC_QUEUE = "sync"


def stalled(ctx: Context, now: float) -> dict[str, Any] | None:
    """The queues with messages waiting and no worker that reads them seen consuming
    within `STALL_SECONDS`: how many messages wait in them, and their names; None if
    there is no such queue. Raises `Unavailable` or a Redis error when Redis cannot be
    read."""
    waiting = {name: n for name, n in ctx.broker.depths()["queues"].items() if n}
    if not waiting:
        return None
    beats = {name: float(at) for name, at in _hash(ctx.redis, HEARTBEATS).items()}
    reads = {name: set(names.split(",")) for name, names in _hash(ctx.redis, QUEUES_OF).items()}

    def newest(queue: str) -> float:
        """The last beat of a worker reading `queue` (one with no queues reads all)."""
        readers = (at for name, at in beats.items() if queue in reads.get(name, {queue}))
        return max(readers, default=-math.inf)

    stuck = {queue: n for queue, n in waiting.items() if now - newest(queue) > STALL_SECONDS}
    return {"waiting": sum(stuck.values()), "queues": sorted(stuck)} if stuck else None


def silent(ctx: Context, worker: str, now: float) -> float | None:
    """How long since `worker` (a node name, `events@host`) was last seen consuming, if
    longer than `STALL_SECONDS`; None if it was seen since, or never (a worker beats
    as it starts, workers/heartbeat.py; one that never gets there is judged by its
    process's exit, and by its supervisor's grace).

    A worker's own probe asks this rather than `stalled`: the events queue is read by
    the main worker too, so a frozen events worker would never leave events waiting,
    only make every webhook wait for a sync's task again; and a frozen main worker
    leaves nothing waiting on a quiet day. A live worker beats every
    `INTERVAL_SECONDS` whatever it runs (its event loop is not its pool's)."""
    at = ctx.redis.hget(HEARTBEATS, worker)
    if at is None or now - float(at) <= STALL_SECONDS:  # type: ignore[arg-type]
        return None
    return now - float(at)  # type: ignore[arg-type]


def forget_gone(client: redis.Redis, now: float) -> None:
    """Drop the entries of workers not seen for `FORGET_SECONDS`: each container a
    deploy replaces leaves its node name behind."""
    gone = [
        name for name, at in _hash(client, HEARTBEATS).items() if now - float(at) > FORGET_SECONDS
    ]
    if gone:
        client.hdel(HEARTBEATS, *gone)
        client.hdel(QUEUES_OF, *gone)


def _hash(client: redis.Redis, key: str) -> dict[str, str]:
    answer = client.hgetall(key)
    return {name.decode(): value.decode() for name, value in answer.items()}  # type: ignore[union-attr]


def worker_running(client: redis.Redis, now: float | None = None) -> bool:
    """Whether a worker that reads the sync queue wrote a heartbeat within
    `STALL_SECONDS`: `stocksync sync` and the dashboard say "no worker is running"
    rather than show a run queued forever (an events-only worker runs no sync).
    Redis unreadable: assume one does (what follows says what it sees)."""
    now = time.time() if now is None else now
    try:
        beats = _hash(client, HEARTBEATS)
        reads = _hash(client, QUEUES_OF)
    except redis.RedisError:
        return True
    return any(
        now - float(at) <= STALL_SECONDS and SYNC_QUEUE in reads.get(name, SYNC_QUEUE).split(",")
        for name, at in beats.items()
    )
