"""Who gets in: the Bearer admin token, or the dashboard's session with its CSRF token."""

from __future__ import annotations

from dataclasses import replace

import pytest
import redis
from flask import Flask
from sqlalchemy.orm import Session, sessionmaker

from api.app import create_app
from settings import Settings, SettingsError
from tests.support.admin_api import AUTH, TOKEN, Api, Shop, error_code


def test_no_token_wrong_token_and_malformed_header_are_401(api: Api) -> None:
    client = api.client
    for headers in ({}, {"Authorization": "Bearer nope"}, {"Authorization": "Basic eDp5"}):
        response = client.get("/api/sites", headers=headers)
        assert response.status_code == 401, headers
        assert error_code(response) == "unauthorized"
        assert response.headers["WWW-Authenticate"].startswith("Bearer")
    assert client.get("/api/sites", headers=AUTH).status_code == 200


def test_without_admin_token_the_admin_api_is_disabled(
    settings: Settings, redis_client: redis.Redis, db: sessionmaker[Session]
) -> None:
    client = create_app(replace(settings, admin_token=None)).test_client()
    response = client.get("/api/sites", headers=AUTH)
    assert response.status_code == 503
    assert response.json == {
        "error": {"code": "admin_disabled", "message": "admin API disabled: set ADMIN_TOKEN"}
    }
    assert client.get("/metrics", headers=AUTH).status_code == 503
    assert client.get("/").status_code == 503
    # The document itself stays readable: it holds no data.
    assert client.get("/api/openapi.json").status_code == 200


def _logged_in(app: Flask) -> tuple[object, str]:
    client = app.test_client()
    assert client.post("/login", data={"token": TOKEN}).status_code == 302
    page = client.get("/").get_data(as_text=True)
    csrf = page.split('name="csrf-token" content="', 1)[1].split('"', 1)[0]
    return client, csrf


def test_session_cookie_reads_freely_but_writes_only_with_the_csrf_header(
    app: Flask, shop: Shop
) -> None:
    client, csrf = _logged_in(app)
    assert client.get("/api/overview").status_code == 200  # type: ignore[attr-defined]
    toggle = f"/api/sites/{shop.site_id}/webhooks/toggle"
    refused = client.post(toggle)  # type: ignore[attr-defined]
    assert refused.status_code == 403 and error_code(refused) == "forbidden"
    wrong = client.post(toggle, headers={"X-CSRF-Token": "x" + csrf})  # type: ignore[attr-defined]
    assert wrong.status_code == 403
    done = client.post(toggle, headers={"X-CSRF-Token": csrf})  # type: ignore[attr-defined]
    assert done.status_code == 200 and done.json["webhooks_active"] is False


def test_a_new_admin_token_ends_existing_sessions(
    settings: Settings, app: Flask, redis_client: redis.Redis
) -> None:
    client, _ = _logged_in(app)
    other = create_app(replace(settings, admin_token="rotated-token-" + TOKEN))
    cookie = client.get_cookie("session")  # type: ignore[attr-defined]
    assert cookie is not None
    fresh = other.test_client()
    fresh.set_cookie("session", cookie.value)
    assert fresh.get("/api/overview").status_code == 401
    assert fresh.get("/").status_code == 302  # back to the login page


def test_a_bearer_token_needs_no_csrf_header(api: Api, shop: Shop) -> None:
    response = api.post(f"/api/sites/{shop.site_id}/webhooks/toggle", {"active": False})
    assert response.status_code == 200


def test_postgres_down_is_503_in_the_api_shape(unreachable_settings: Settings) -> None:
    client = create_app(unreachable_settings).test_client()
    response = client.get("/api/sites", headers=AUTH)
    assert response.status_code == 503 and error_code(response) == "unavailable"


def test_wrong_bearer_tokens_share_the_throttle(api: Api) -> None:
    wrong = {"Authorization": "Bearer " + "x" * 40}
    for _ in range(5):
        assert api.client.get("/api/sites", headers=wrong).status_code == 401
    for headers in (wrong, AUTH):
        refused = api.client.get("/api/sites", headers=headers)
        assert refused.status_code == 429 and error_code(refused) == "too_many_attempts"
        assert 1 <= int(refused.headers["Retry-After"]) <= 60
    assert api.client.get("/metrics", headers=AUTH).status_code == 429


def test_a_weak_admin_token_stops_the_app_without_showing_it(settings: Settings) -> None:
    with pytest.raises(SettingsError) as caught:
        create_app(replace(settings, admin_token="hunter2-weak"))
    assert "ADMIN_TOKEN: too weak" in str(caught.value) and "hunter2" not in str(caught.value)
