"""`GET /api/inventory/stats`: batch counts from the database, depths from Redis."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy.orm import Session, sessionmaker

from models import BatchStatus, RunStatus, Site, SyncBatch
from settings import Settings
from sync.api_keys import hash_api_key, new_api_key
from tests.factories.sync import run_row
from tests.support.admin_api import Api, Shop
from workers.app import make_celery
from workers.broker import queue_keys


def test_queue_counts_last_syncs_and_broker_depths(
    api: Api, shop: Shop, db: sessionmaker[Session], settings: Settings
) -> None:
    now = datetime.now(UTC)
    with db.begin() as session:
        done = run_row(
            session,
            shop.site_id,
            status=RunStatus.COMPLETED,
            finished_at=now - timedelta(hours=30),
        )
        live = run_row(session, shop.site_id, status=RunStatus.RUNNING)
        statuses = [
            (BatchStatus.QUEUED, None),
            (BatchStatus.QUEUED, None),
            (BatchStatus.PROCESSING, None),
            (BatchStatus.COMPLETED, now),
            (BatchStatus.FAILED, now),
            (BatchStatus.COMPLETED, now - timedelta(days=2)),  # outside the window
        ]
        for seq, (status, finished) in enumerate(statuses):
            run = done if finished and finished < now - timedelta(days=1) else live
            session.add(
                SyncBatch(run_id=run.id, seq=seq, skus=["A"], status=status, finished_at=finished)
            )
    celery = make_celery(settings)
    for priority in (0, 4, 7):
        celery.send_task("workers.batches.process", args=[1], queue="sync", priority=priority)
    celery.send_task("workers.events.process", args=[1], queue="events", priority=0)

    body = api.get("/api/inventory/stats").json
    assert body["queue"] == {
        "total": 5,
        "pending": 2,
        "processing": 1,
        "completed": 1,
        "failed": 1,
        "cancelled": 0,
    }
    assert body["last_syncs"] == [
        {
            "site_id": shop.site_id,
            "name": "shop",
            "last_sync": (now - timedelta(hours=30)).isoformat(),
            "last_status": "running",
        }
    ]
    assert body["broker"] == {"queues": {"events": 1, "sync": 3, "maintenance": 0}, "unacked": 0}


def test_priority_lists_are_named_as_kombu_names_them() -> None:
    options = {"sep": ":", "priority_steps": [0, 3, 9]}
    assert queue_keys("sync", options) == ["sync", "sync:3", "sync:9"]


def test_last_sync_is_the_last_inventory_run_not_a_plugin_record(
    api: Api, shop: Shop, db: sessionmaker[Session]
) -> None:
    """A store plugin's customer record is logged as a `webhook:customers` run; it says
    nothing about the site's stock, so it is neither its last sync nor its last status."""
    nightly = datetime.now(UTC) - timedelta(hours=20)
    key = new_api_key()
    with db.begin() as session:
        run_row(session, shop.site_id, status=RunStatus.COMPLETED, finished_at=nightly)
        session.get_one(Site, shop.site_id).api_key_hash = hash_api_key(key)
    answer = api.client.post(
        "/api/sync/webhook",
        json={"resource": "customer", "action": "updated", "data": {"id": 7, "email": "a@b.test"}},
        headers={"Authorization": f"Bearer {key}"},
    )
    assert answer.status_code == 200, answer.get_json()

    body = api.get("/api/inventory/stats").json
    assert body["last_syncs"] == [
        {
            "site_id": shop.site_id,
            "name": "shop",
            "last_sync": nightly.isoformat(),
            "last_status": "completed",
        }
    ]
    assert "full-sync batches" in body["queue_covers"]
