"""`GET /api/overview`: per site, the live run first, webhook state, recent items."""

from __future__ import annotations

import time
from datetime import UTC, datetime

import redis
from sqlalchemy.orm import Session, sessionmaker

from models import Item, RunStatus
from sync.consumers import HEARTBEATS, STALL_SECONDS
from tests.factories.sync import run_row
from tests.support.admin_api import Api, Shop


def test_the_live_run_wins_over_newer_finished_ones(
    api: Api, shop: Shop, db: sessionmaker[Session]
) -> None:
    assert api.get("/api/overview").json["sites"][0]["run"] is None
    with db.begin() as session:
        live = run_row(session, shop.site_id, status=RunStatus.PAUSED).id
        run_row(session, shop.site_id, status=RunStatus.COMPLETED, finished_at=datetime.now(UTC))
        session.add(
            Item(site_id=shop.site_id, sku="A-1", product_id="1", last_synced_at=datetime.now(UTC))
        )
    (site,) = api.get("/api/overview").json["sites"]
    assert (site["run"]["id"], site["run"]["status"]) == (live, "paused")
    assert site["webhooks"] == {"active": True, "last_received_at": None}
    assert [item["sku"] for item in site["recent_items"]] == ["A-1"]
    assert site["budgets"]["store"]["text"].startswith("store budget: 0 of ")
    assert site["budgets"]["erp"]["text"].startswith("ERP budget: 0 of ")


def test_it_says_whether_a_worker_is_running(
    api: Api, shop: Shop, redis_client: redis.Redis
) -> None:
    """Without a worker's recent heartbeat, the dashboard says runs stay queued."""
    assert api.get("/api/overview").json["worker_running"] is False
    redis_client.hset(HEARTBEATS, "old@host", str(time.time() - STALL_SECONDS - 1))
    assert api.get("/api/overview").json["worker_running"] is False
    redis_client.hset(HEARTBEATS, "w@host", str(time.time()))
    assert api.get("/api/overview").json["worker_running"] is True
