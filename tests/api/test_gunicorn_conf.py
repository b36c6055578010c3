"""The web process as deployed: gunicorn with api/gunicorn_conf.py (gevent workers,
psycopg2 made cooperative) in front of real PostgreSQL, under concurrent deliveries."""

from __future__ import annotations

import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import requests
from sqlalchemy import text
from sqlalchemy.orm import Session, sessionmaker

from models import WebhookStatus
from settings import Settings
from tests.factories import signed
from tests.support.gunicorn_web import gunicorn_web
from tests.support.receiver import Owners, post, rows


@pytest.fixture
def web(settings: Settings, tmp_path: Path) -> Iterator[str]:
    with gunicorn_web(settings, tmp_path) as base:
        yield base


def test_concurrent_deliveries_each_get_a_durable_row(
    web: str, owners: Owners, db: sessionmaker[Session]
) -> None:
    deliveries = [signed.shopify(product_id=i) for i in range(1, 201)]
    with ThreadPoolExecutor(32) as pool:
        responses = list(pool.map(lambda d: post(owners.url(web, "shopify"), d), deliveries))
    assert [r.status_code for r in responses] == [200] * 200
    assert [r.headers["Stocksync-Outcome"] for r in responses] == ["accepted"] * 200
    assert [r.content for r in responses] == [b""] * 200  # one send() per answer
    logged = rows(db, settle=False)
    assert len(logged) == 200
    assert {r.status for r in logged} == {WebhookStatus.RECEIVED}
    assert sorted(r.entity for r in logged) == sorted(
        f"gid://shopify/Product/{i}" for i in range(1, 201)
    )
    with db() as session:
        transactions = session.scalar(text("SELECT count(DISTINCT xmin::text) FROM webhook_log"))
    assert transactions < 200  # concurrent requests shared commits


def test_the_access_log_holds_no_query_string_secret(
    web: str, owners: Owners, db: sessionmaker[Session], tmp_path: Path
) -> None:
    """Zoho's token may come as `?token=`, and anyone may put a token in a URL or a
    Referer: the access log names the path, never a query string (issue 19 item 3)."""
    delivery = signed.zoho()
    delivery.headers.pop("X-Zoho-Webhook-Token")
    delivery.query["token"] = signed.ZOHO_TOKEN
    assert post(owners.url(web, "zoho"), delivery).headers["Stocksync-Outcome"] == "accepted"
    referer = {"Referer": f"{web}/login?token=admin-token-in-a-referer"}
    requests.get(f"{web}/api/sites?token=admin-token-in-a-url", headers=referer, timeout=10)
    log = tmp_path / "web.log"
    deadline = time.monotonic() + 10
    while "/api/sites" not in log.read_text():
        assert time.monotonic() < deadline, "no access line"
        time.sleep(0.1)
    text = log.read_text()
    assert f"/webhooks/zoho/{owners.zoho}" in text
    for secret in (signed.ZOHO_TOKEN, "admin-token-in-a-url", "admin-token-in-a-referer"):
        assert secret not in text
