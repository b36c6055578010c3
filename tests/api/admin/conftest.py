"""The admin API through Flask's test client, on the real test database and Redis."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest
import redis
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy.orm import Session, sessionmaker
from werkzeug.test import TestResponse

from api.app import create_app
from models import RunStatus, SyncRun, WebhookLog, WebhookStatus
from models.crypto import Vault
from settings import Settings
from tests.factories import make_site, make_source

TOKEN = "test-admin-token"
AUTH = {"Authorization": f"Bearer {TOKEN}"}


class Api:
    """The test client with the admin token on every request."""

    def __init__(self, client: FlaskClient) -> None:
        self.client = client

    def get(self, path: str, **query: Any) -> TestResponse:
        return self.client.get(path, query_string=query, headers=AUTH)

    def post(self, path: str, body: Any = None) -> TestResponse:
        return self.client.post(path, json=body, headers=AUTH)

    def patch(self, path: str, body: Any) -> TestResponse:
        return self.client.patch(path, json=body, headers=AUTH)

    def delete(self, path: str) -> TestResponse:
        return self.client.delete(path, headers=AUTH)


@pytest.fixture
def app(settings: Settings, redis_client: redis.Redis, db: sessionmaker[Session]) -> Flask:
    return create_app(settings)


@pytest.fixture
def api(app: Flask) -> Api:
    return Api(app.test_client())


@dataclass
class Shop:
    source_id: int
    site_id: int


@pytest.fixture
def shop(db: sessionmaker[Session], vault: Vault) -> Shop:
    with db.begin() as session:
        source = make_source(session, vault)
        site = make_site(session, vault, source)
        return Shop(source.id, site.id)


def error_code(response: TestResponse) -> str:
    body = response.get_json()
    assert set(body) == {"error"} and set(body["error"]) == {"code", "message"}, body
    return str(body["error"]["code"])


def log_row(session: Session, **overrides: Any) -> WebhookLog:
    """A webhook_log row; defaults describe a processed WooCommerce product update."""
    fields: dict[str, Any] = {
        "provider": "woocommerce",
        "topic": "product.updated",
        "kind": "store.product.upsert",
        "entity": "101",
        "sku": "SKU-0001",
        "status": WebhookStatus.PROCESSED,
    }
    fields.update(overrides)
    row = WebhookLog(**fields)
    session.add(row)
    session.flush()
    return row


def run_row(session: Session, site_id: int, **overrides: Any) -> SyncRun:
    fields: dict[str, Any] = {
        "site_id": site_id,
        "kind": "manual",
        "trigger": "test",
        "status": RunStatus.QUEUED,
    }
    fields.update(overrides)
    run = SyncRun(**fields)
    session.add(run)
    session.flush()
    return run
