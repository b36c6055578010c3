"""Our outages: Redis down still accepts durably; PostgreSQL down answers 503 fast."""

from __future__ import annotations

import time
from dataclasses import replace

from sqlalchemy.orm import Session, sessionmaker

from api.app import create_app
from api.intake import IntakeWriter
from models import WebhookStatus
from models.db import make_engine
from sandbox.server import running
from settings import Settings
from tests.factories import signed
from tests.support.receiver import Owners, post, rows


def test_redis_down_still_answers_200_and_keeps_the_row_for_the_relay(
    settings: Settings, owners: Owners, db: sessionmaker[Session]
) -> None:
    app = create_app(replace(settings, redis_url="redis://127.0.0.1:1/0"))
    with running(app) as base:
        started = time.monotonic()
        response = post(owners.url(base, "shopify"), signed.shopify())
        elapsed = time.monotonic() - started
    assert response.status_code == 200
    assert [r.status for r in rows(db, settle=False)] == [WebhookStatus.RECEIVED]
    assert elapsed < 5  # the request path does not touch Redis at all


def test_postgres_down_is_503_so_the_platform_retries(settings: Settings, owners: Owners) -> None:
    down = replace(settings, database_url="postgresql+psycopg2://postgres@127.0.0.1:1/none")
    with running(create_app(down)) as base:
        response = post(owners.url(base, "shopify"), signed.shopify())
    assert response.status_code == 503


def test_postgres_lost_after_the_owner_was_cached_is_503(
    settings: Settings, owners: Owners
) -> None:
    app = create_app(settings)
    with running(app) as base:
        assert post(owners.url(base, "shopify"), signed.shopify()).status_code == 200
        res = app.extensions["stocksync"]
        lost = make_engine("postgresql+psycopg2://postgres@127.0.0.1:1/none", connect_timeout=1)
        app.extensions["stocksync"] = replace(res, intake=IntakeWriter(lost))
        response = post(owners.url(base, "shopify"), signed.shopify())
    assert response.status_code == 503
    assert response.headers["Stocksync-Outcome"] == "unavailable"
