"""The Celery broker of the service layer (workers/broker.py): an outage is one error,
and what it says is waiting is what Redis holds."""

from __future__ import annotations

from dataclasses import replace

import pytest
import redis
from celery import Celery

from embedded.ports import free_port
from settings import Settings
from sync.errors import Unavailable
from workers.app import make_celery
from workers.broker import START_RUN, CeleryBroker, send


def test_publishing_with_redis_down_raises_unavailable(settings: Settings) -> None:
    """Not the result backend's RuntimeError ("must be restarted"), which callers
    cannot tell from a bug: no result subscription is attempted at all, and the
    broker's own error reaches the service layer as `Unavailable`."""
    app = make_celery(replace(settings, redis_url=f"redis://127.0.0.1:{free_port()}/0"))
    with pytest.raises(Unavailable, match="broker cannot be reached"):
        send(app, START_RUN, [1], queue="sync")


def test_depths_count_every_priority_and_the_unacked(
    celery_app: Celery, redis_client: redis.Redis
) -> None:
    broker = CeleryBroker(celery_app, redis_client)
    broker.queue_batches([1, 2], "full")  # nightly priority
    broker.queue_start(3, "manual")  # manual priority
    broker.queue_event(4)
    redis_client.hset("unacked", "tag", "message")
    assert broker.depths() == {
        "queues": {"events": 1, "sync": 3, "maintenance": 0},
        "unacked": 1,
    }


def test_depths_with_redis_down_are_unavailable(celery_app: Celery) -> None:
    down = redis.Redis.from_url(f"redis://127.0.0.1:{free_port()}/0")
    with pytest.raises(Unavailable):
        CeleryBroker(celery_app, down).depths()
