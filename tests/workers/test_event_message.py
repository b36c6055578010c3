"""The receiver builds event messages itself (workers.events.event_message); they must
be the messages Celery's own client would publish, or workers would reject them."""

from __future__ import annotations

import base64
import json

import redis
from celery import Celery

from workers import presets
from workers.broker import PROCESS_EVENT, CeleryBroker, send
from workers.events import EVENTS_QUEUE, event_message


def test_event_message_matches_what_celery_publishes(
    celery_app: Celery, redis_client: redis.Redis
) -> None:
    CeleryBroker(celery_app, redis_client).queue_event(42)
    [raw] = redis_client.lrange(EVENTS_QUEUE, 0, -1)
    theirs, ours = json.loads(raw), json.loads(event_message([42]))
    assert ours.keys() == theirs.keys()
    assert ours["headers"].keys() == theirs["headers"].keys()
    assert ours["properties"].keys() == theirs["properties"].keys()
    for field in ("task", "lang", "retries", "argsrepr", "timelimit"):
        assert ours["headers"][field] == theirs["headers"][field], field
    for field in ("delivery_info", "priority", "body_encoding", "delivery_mode"):
        assert ours["properties"][field] == theirs["properties"][field], field
    assert base64.b64decode(ours["body"]) == base64.b64decode(theirs["body"])
    # The relay holds the dedupe window (workers/relay.py): no ETA for a worker to hold.
    assert ours["headers"]["eta"] is None and theirs["headers"]["eta"] is None


def test_a_group_message_carries_the_ids_as_celery_would_a_list(
    celery_app: Celery, redis_client: redis.Redis
) -> None:
    """The relay's group of item notices (workers/relay.py): the task gets a list."""
    send(
        celery_app,
        PROCESS_EVENT,
        ([4, 5, 6],),
        queue=presets.EVENT["queue"],
        priority=presets.EVENT["priority"],
        retry=False,
    )
    [raw] = redis_client.lrange(EVENTS_QUEUE, 0, -1)
    theirs, ours = json.loads(raw), json.loads(event_message([4, 5, 6]))

    assert ours["headers"]["argsrepr"] == theirs["headers"]["argsrepr"] == "([4, 5, 6],)"
    assert base64.b64decode(ours["body"]) == base64.b64decode(theirs["body"])
