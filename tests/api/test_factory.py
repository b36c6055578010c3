"""The Flask factory and its probes (flask tutorial's test_factory, on real services)."""

from __future__ import annotations

import time
from dataclasses import replace

import redis

from api.app import create_app
from settings import Settings
from sync.consumers import HEARTBEATS, QUEUES_OF, STALL_SECONDS
from tests.support.receiver import Owners


def test_healthz_answers_without_dependencies(unreachable_settings: Settings) -> None:
    client = create_app(unreachable_settings).test_client()
    assert client.get("/healthz").json == {"status": "ok"}


def test_readyz_is_ok_when_postgres_and_redis_answer(
    settings: Settings, redis_client: redis.Redis
) -> None:
    response = create_app(settings).test_client().get("/readyz")
    assert response.status_code == 200


def test_the_consumers_probe_names_them_when_messages_wait_and_no_worker_beats(
    settings: Settings, redis_client: redis.Redis
) -> None:
    redis_client.lpush("events", "{}")
    client = create_app(settings).test_client()
    response = client.get("/readyz/consumers")
    assert response.status_code == 503
    assert set(response.json["failing"]) == {"consumers"}
    # The receiver stays ready: it answers webhooks without any worker.
    assert client.get("/readyz").status_code == 200
    redis_client.hset(HEARTBEATS, "old@host", str(time.time() - STALL_SECONDS - 1))
    assert client.get("/readyz/consumers").status_code == 503
    redis_client.hset(HEARTBEATS, "w@host", str(time.time()))
    assert client.get("/readyz/consumers").status_code == 200


def test_the_consumers_probe_judges_each_queue_by_the_workers_that_read_it(
    settings: Settings, redis_client: redis.Redis
) -> None:
    """A main worker wedged while the events-only worker beats: the sync queue's
    batches wait for nobody, and the events worker's heartbeat must not hide it."""
    now = time.time()
    redis_client.hset(HEARTBEATS, "stocksync@host", str(now - STALL_SECONDS - 1))
    redis_client.hset(QUEUES_OF, "stocksync@host", "events,sync,maintenance")
    redis_client.hset(HEARTBEATS, "events@host", str(now))
    redis_client.hset(QUEUES_OF, "events@host", "events")
    redis_client.lpush("events", "{}")
    client = create_app(settings).test_client()
    assert client.get("/readyz/consumers").status_code == 200  # the events worker reads it
    redis_client.lpush("sync", "{}")
    everything = client.get("/readyz/consumers")
    assert everything.status_code == 503
    assert "1 message(s) waiting in sync" in everything.json["failing"]["consumers"]
    redis_client.hset(HEARTBEATS, "stocksync@host", str(now))
    assert client.get("/readyz/consumers").status_code == 200


def test_a_workers_own_probe_says_whether_it_beats_whatever_waits(
    settings: Settings, redis_client: redis.Redis
) -> None:
    """Nothing waits, as on a quiet day, and the events worker is frozen (the main one
    would take its events, slowly): its own probe names it; one starting up (never
    seen) is not failed by it."""
    now = time.time()
    redis_client.hset(HEARTBEATS, "events@host", str(now - STALL_SECONDS - 5))
    redis_client.hset(HEARTBEATS, "stocksync@host", str(now))
    client = create_app(settings).test_client()
    assert client.get("/readyz/consumers").status_code == 200
    frozen = client.get("/readyz/consumers?worker=events@host")
    assert frozen.status_code == 503
    assert frozen.json["failing"]["consumers"].startswith("events@host not seen consuming for 3")
    assert client.get("/readyz/consumers?worker=stocksync@host").status_code == 200
    assert client.get("/readyz/consumers?worker=new@host").status_code == 200


def test_the_consumers_probe_names_redis_when_it_is_down(settings: Settings) -> None:
    app = create_app(replace(settings, redis_url="redis://127.0.0.1:1/0"))
    response = app.test_client().get("/readyz/consumers")
    assert response.status_code == 503
    assert set(response.json["failing"]) == {"redis"}


def test_readyz_names_redis_when_it_is_down(settings: Settings) -> None:
    app = create_app(replace(settings, redis_url="redis://127.0.0.1:1/0"))
    response = app.test_client().get("/readyz")
    assert response.status_code == 503
    assert set(response.json["failing"]) == {"redis"}


def test_readyz_names_postgres_when_it_is_down(settings: Settings) -> None:
    app = create_app(replace(settings, database_url="postgresql+psycopg2://x@127.0.0.1:1/x"))
    response = app.test_client().get("/readyz")
    assert response.status_code == 503
    assert set(response.json["failing"]) == {"postgresql"}


def test_body_limit_comes_from_settings(settings: Settings) -> None:
    app = create_app(replace(settings, max_webhook_body_bytes=2048))
    assert app.config["MAX_CONTENT_LENGTH"] == 2048


def test_every_answer_forbids_content_sniffing(
    settings: Settings, redis_client: redis.Redis, owners: Owners
) -> None:
    """Business Central's handshake echoes `validationToken`, any text, as the answer's
    body: with nosniff a browser cannot be talked into reading it as HTML or script."""
    client = create_app(settings).test_client()
    echoed = client.post(
        f"/webhooks/businesscentral/{owners.businesscentral}",
        query_string={"validationToken": "<script>alert(1)</script>"},
    )
    assert echoed.status_code == 200 and echoed.mimetype == "text/plain"
    assert echoed.get_data() == b"<script>alert(1)</script>"
    for response in (client.get("/healthz"), client.get("/nope"), echoed):
        assert response.headers["X-Content-Type-Options"] == "nosniff", response
