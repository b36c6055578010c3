"""A worker's self-check: consuming unless messages wait with a slot free and it takes none."""

from __future__ import annotations

import time
from types import SimpleNamespace
from typing import Any

import pytest
import redis
from celery import Celery

from sync.consumers import FORGET_SECONDS, HEARTBEATS, QUEUES_OF
from workers.heartbeat import Heartbeat


@pytest.fixture
def step(celery_app: Celery, redis_client: redis.Redis) -> Any:
    heartbeat = Heartbeat(SimpleNamespace())
    heartbeat.client = redis_client
    return heartbeat


def _parent(celery_app: Celery, concurrency: int = 2) -> Any:
    return SimpleNamespace(
        app=celery_app, hostname="w@host", controller=SimpleNamespace(concurrency=concurrency)
    )


def _beat(redis_client: redis.Redis) -> float | None:
    value = redis_client.hget(HEARTBEATS, "w@host")
    return float(value) if value is not None else None


def test_an_idle_worker_beats(step: Any, celery_app: Celery, redis_client: redis.Redis) -> None:
    step.tick(_parent(celery_app))
    step.tick(_parent(celery_app))
    assert _beat(redis_client) is not None


def test_messages_waiting_through_two_ticks_with_nothing_taken_stop_the_beat(
    step: Any, celery_app: Celery, redis_client: redis.Redis
) -> None:
    redis_client.lpush("events", "{}")
    step.tick(_parent(celery_app))  # first sight of a waiting message: still beats
    first = _beat(redis_client)
    assert first is not None
    step.tick(_parent(celery_app))  # still waiting, a slot free, nothing taken: stuck
    assert _beat(redis_client) == first
    step._on_received()  # it took one: consuming again
    step.tick(_parent(celery_app))
    assert (_beat(redis_client) or 0) > first


def test_a_busy_worker_keeps_beating(
    step: Any, celery_app: Celery, redis_client: redis.Redis
) -> None:
    redis_client.lpush("events", "{}")
    busy = _parent(celery_app, concurrency=0)  # no free slot
    step.tick(busy)
    first = _beat(redis_client)
    step.tick(busy)
    assert (_beat(redis_client) or 0) > (first or 0)


def test_an_events_only_worker_beats_while_sync_messages_wait_and_says_what_it_reads(
    step: Any, celery_app: Celery, redis_client: redis.Redis
) -> None:
    """The events worker has nothing to take from a sync queue full of the night's
    batches: that is no stall of its own (it would log `worker.not_consuming` and stop
    beating, and its probe would have it restarted every 30 s all night)."""
    redis_client.lpush("sync", "{}")
    app = SimpleNamespace(
        conf=celery_app.conf,
        amqp=SimpleNamespace(queues=SimpleNamespace(consume_from={"events": 0})),
    )
    events_only = SimpleNamespace(
        app=app, hostname="w@host", controller=SimpleNamespace(concurrency=1)
    )
    step.tick(events_only)
    first = _beat(redis_client)
    step.tick(events_only)
    assert (_beat(redis_client) or 0) > (first or 0)
    assert redis_client.hget(QUEUES_OF, "w@host") == b"events"


def test_a_starting_worker_beats_at_once_and_forgets_workers_gone_a_day(
    celery_app: Celery, redis_client: redis.Redis
) -> None:
    """Redis keeps the beat a worker left before its restart: its own probe would call
    the new one silent until its first tick. Each container a deploy replaced leaves
    its node name behind: dropped after a day."""
    now = time.time()
    redis_client.hset(HEARTBEATS, "w@host", str(now - 3600))
    redis_client.hset(HEARTBEATS, "gone@old", str(now - FORGET_SECONDS - 1))
    redis_client.hset(QUEUES_OF, "gone@old", "events")
    redis_client.hset(HEARTBEATS, "idle@host", str(now - 60))
    parent = _parent(celery_app)
    parent.timer = SimpleNamespace(call_repeatedly=lambda *_: SimpleNamespace(cancel=lambda: None))
    step = Heartbeat(SimpleNamespace())
    step.start(parent)
    try:
        assert (_beat(redis_client) or 0) >= now
        assert set(redis_client.hkeys(HEARTBEATS)) == {b"w@host", b"idle@host"}
        assert redis_client.hget(QUEUES_OF, "gone@old") is None
    finally:
        step.stop(parent)
