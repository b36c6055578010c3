"""The relay holds the dedupe window: a window's message waits in its due set (a Redis
sorted set scored by Redis's clock) and goes onto the events queue when the window
closes, as a plain message with no ETA (workers/relay.py, issue 22 item 5).

Before, the message went onto the queue at once with an ETA, and the worker's parent
process held it until due, about 14 ms of its CPU per event.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import pytest
import redis
from celery import Celery
from celery.signals import task_received
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session, sessionmaker

from models import WebhookLog
from sync.context import Context
from tests.factories.webhook_log import received_rows
from tests.support.stack import wait_for
from workers.events import EVENTS_QUEUE
from workers.relay import DUE, Relay

#: Short, so the tests wait it out; the relay treats every window length alike.
WINDOW = 0.3


def _statuses(db: sessionmaker[Session]) -> list[str]:
    with db() as session:
        return list(session.scalars(select(WebhookLog.status).order_by(WebhookLog.id)))


def _queued_rows(client: redis.Redis) -> list[int]:
    """The row id of each message on the events queue, oldest first."""
    messages = [json.loads(raw) for raw in reversed(client.lrange(EVENTS_QUEUE, 0, -1))]
    return [int(m["headers"]["argsrepr"].strip("(,)")) for m in messages]


def _redis_ms(client: redis.Redis) -> float:
    seconds, micros = client.time()
    return seconds * 1000 + micros / 1000


@contextmanager
def _looping(relay: Relay) -> Iterator[None]:
    """`relay.run` in a thread, as `stocksync relay` runs it, until the block ends."""
    stop = threading.Event()
    thread = threading.Thread(target=relay.run, args=(stop.is_set,), name="relay", daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join(timeout=10)


def test_a_message_goes_onto_the_queue_when_its_window_closes_not_before(
    engine: Engine, db: sessionmaker[Session], redis_client: redis.Redis
) -> None:
    relay = Relay(engine, redis_client, WINDOW)
    received_rows(db, ["w:a"])
    assert relay.relay_once() == 1
    assert redis_client.llen(EVENTS_QUEUE) == 0  # before: on the queue at once, with an ETA
    [(message, due_ms)] = redis_client.zrange(DUE, 0, -1, withscores=True)
    assert relay.release() == 0 and redis_client.llen(EVENTS_QUEUE) == 0

    # The loop releases with no rows to claim, and sleeps no later than the due time.
    with _looping(relay):
        popped = redis_client.brpop([EVENTS_QUEUE], timeout=5)
        arrived_ms = _redis_ms(redis_client)
    assert popped == (EVENTS_QUEUE.encode(), message)
    assert redis_client.zcard(DUE) == 0
    # About 50 ms is the design's most (IDLE_SECONDS); the margin is a noisy machine's.
    assert due_ms <= arrived_ms < due_ms + 200


def test_two_relays_releasing_at_once_push_each_message_once(
    engine: Engine, db: sessionmaker[Session], redis_client: redis.Redis, redis_url: str
) -> None:
    ids = received_rows(db, [f"w:{n}" for n in range(300)])
    Relay(engine, redis_client, WINDOW).relay_once()
    assert redis_client.zcard(DUE) == 300
    time.sleep(WINDOW + 0.05)

    start = threading.Barrier(2)
    released: list[int] = []

    def release_all(relay: Relay) -> None:
        start.wait()
        count = 0
        while moved := relay.release(limit=7):  # small steps, so the two interleave
            count += moved
        released.append(count)

    clients = [redis.Redis.from_url(redis_url) for _ in range(2)]
    threads = [
        threading.Thread(target=release_all, args=(Relay(engine, client, WINDOW),))
        for client in clients
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    for client in clients:
        client.close()

    assert sum(released) == 300 and all(released), released
    assert sorted(_queued_rows(redis_client)) == ids
    assert redis_client.zcard(DUE) == 0


def test_a_relay_gone_between_scheduling_and_release_loses_nothing(
    engine: Engine, db: sessionmaker[Session], redis_client: redis.Redis, redis_url: str
) -> None:
    """The scheduled messages are in Redis, not in the relay that scheduled them."""
    first, _, third = received_rows(db, ["w:a", "w:a", "w:b"])
    client = redis.Redis.from_url(redis_url)
    Relay(engine, client, WINDOW).relay_once()
    client.close()  # the relay is gone: its process was killed

    time.sleep(WINDOW + 0.05)
    assert Relay(engine, redis_client, WINDOW).release() == 2
    assert _queued_rows(redis_client) == [first, third]
    assert _statuses(db) == ["queued", "duplicate", "queued"]


def test_with_redis_down_rows_wait_and_the_due_set_waits_in_redis(
    engine: Engine, db: sessionmaker[Session], redis_client: redis.Redis
) -> None:
    [scheduled] = received_rows(db, ["w:a"])
    Relay(engine, redis_client, WINDOW).relay_once()
    [waiting] = received_rows(db, ["w:b"])

    down = redis.Redis.from_url("redis://127.0.0.1:1/0", socket_connect_timeout=1)
    with pytest.raises(redis.ConnectionError):
        Relay(engine, down, WINDOW).relay_once()
    assert _statuses(db) == ["queued", "received"]

    time.sleep(WINDOW + 0.05)
    back = Relay(engine, redis_client, WINDOW)
    assert back.relay_once() == 1  # released the first, scheduled the second
    assert _queued_rows(redis_client) == [scheduled]
    time.sleep(WINDOW + 0.05)
    assert back.release() == 1
    assert _queued_rows(redis_client) == [scheduled, waiting]


def test_a_worker_gets_the_message_with_no_eta_and_runs_it_after_the_window(
    sync_ctx: Context,
    celery_app: Celery,
    worker_factory: Callable[..., None],
    engine: Engine,
    db: sessionmaker[Session],
    redis_client: redis.Redis,
) -> None:
    """Worker side: a message with an ETA is held in the worker's parent until due (the
    CPU this change saves); a plain one is handed to the pool at once."""
    received: list[Any] = []

    def on_received(request: Any, **_: Any) -> None:
        received.append((request.eta, time.monotonic()))

    task_received.connect(on_received, weak=False)
    try:
        # No kind: the worker fails the row by name, which is enough to see it ran.
        [row_id] = received_rows(db, ["w:a"])
        relay = Relay(engine, redis_client, WINDOW)
        worker_factory()
        scheduled = time.monotonic()
        relay.relay_once()
        with _looping(relay):
            wait_for(lambda: _statuses(db) != ["queued"], timeout=30, what="the worker")
    finally:
        task_received.disconnect(on_received)

    [(eta, at)] = received
    assert eta is None
    assert at - scheduled >= WINDOW - 0.01  # the relay, not the worker, waited
    with db() as session:
        row = session.get_one(WebhookLog, row_id)
        assert (row.status, row.error) == ("failed", "no handler for kind None")
