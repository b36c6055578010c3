"""The Flask factory and its probes (flask tutorial's test_factory, on real services)."""

from __future__ import annotations

from dataclasses import replace

from api.app import create_app
from settings import Settings


def test_healthz_answers_without_dependencies(unreachable_settings: Settings) -> None:
    client = create_app(unreachable_settings).test_client()
    assert client.get("/healthz").json == {"status": "ok"}


def test_readyz_is_ok_when_postgres_and_redis_answer(settings: Settings) -> None:
    response = create_app(settings).test_client().get("/readyz")
    assert response.status_code == 200


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
