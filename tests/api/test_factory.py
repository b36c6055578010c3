"""The Flask factory and its probes (flask tutorial's test_factory, on real services)."""

from __future__ import annotations

import time
from dataclasses import replace

import redis

from api.app import create_app
from settings import Settings
from sync.consumers import HEARTBEATS, STALL_SECONDS
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
