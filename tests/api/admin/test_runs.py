"""Starting, listing, inspecting and steering runs through the API."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import redis
from flask import Flask
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from api.app import create_app
from embedded.ports import free_port
from models import Item, RunStatus, Source, SyncRun
from models.crypto import Vault
from settings import Settings
from sync.errors import AlreadyRunning
from sync.runs import start_run
from tests.factories import make_site
from tests.factories.sync import run_row
from tests.support.admin_api import Api, Shop, error_code


def _queued_start_messages(client: redis.Redis) -> int:
    return sum(client.llen(key) for key in client.scan_iter("sync*") if client.type(key) == b"list")


def test_start_one_answers_202_with_the_run_and_publishes_its_start(
    api: Api, shop: Shop, db: sessionmaker[Session], redis_client: redis.Redis
) -> None:
    response = api.post(f"/api/inventory/sync/{shop.site_id}")
    assert response.status_code == 202
    run_id = response.json["started"][0]["run_id"]
    with db() as session:
        run = session.get_one(SyncRun, run_id)
        assert (run.site_id, run.kind, run.status) == (shop.site_id, "manual", RunStatus.QUEUED)
    assert _queued_start_messages(redis_client) == 1


def test_start_is_refused_while_a_run_is_going_and_for_unknown_sites(
    api: Api, shop: Shop, db: sessionmaker[Session]
) -> None:
    for status in (RunStatus.QUEUED, RunStatus.RUNNING, RunStatus.PAUSED):
        with db.begin() as session:
            session.execute(SyncRun.__table__.delete())
            run_row(session, shop.site_id, status=status)
        response = api.post(f"/api/inventory/sync/{shop.site_id}")
        assert response.status_code == 409 and error_code(response) == "conflict", status
    assert api.post("/api/inventory/sync/999").status_code == 404
    assert api.post("/api/inventory/sync/abc").status_code == 404
    assert api.post("/api/inventory/sync/99999999999999999999").status_code == 404


def test_start_all_starts_idle_active_sites_and_reports_the_rest(
    api: Api, shop: Shop, db: sessionmaker[Session], vault: Vault
) -> None:
    with db.begin() as session:
        busy = make_site(session, vault, session.get_one(Source, shop.source_id), name="busy")
        make_site(session, vault, session.get_one(Source, shop.source_id), name="off", active=False)
        run_row(session, busy.id, status=RunStatus.RUNNING)
        busy_id = busy.id
    response = api.post("/api/inventory/sync/all")
    assert response.status_code == 202
    assert [s["site_id"] for s in response.json["started"]] == [shop.site_id]
    assert [s["site_id"] for s in response.json["skipped"]] == [busy_id]


def test_list_filters_by_site_and_status_newest_first(
    api: Api, shop: Shop, db: sessionmaker[Session], vault: Vault
) -> None:
    with db.begin() as session:
        other = make_site(session, vault, session.get_one(Source, shop.source_id), name="other").id
        ids = [
            run_row(session, shop.site_id, status=RunStatus.COMPLETED).id,
            run_row(session, other, status=RunStatus.FAILED).id,
            run_row(session, shop.site_id, status=RunStatus.FAILED).id,
        ]
    everything = api.get("/api/sync/runs").json["items"]
    assert [r["id"] for r in everything] == ids[::-1]
    mine = api.get("/api/sync/runs", site_id=shop.site_id, status="failed").json["items"]
    assert [r["id"] for r in mine] == [ids[2]]
    assert [r["id"] for r in api.get("/api/sync/runs", limit=1, offset=1).json["items"]] == [ids[1]]
    assert api.get("/api/sync/runs", status="bogus").status_code == 422
    assert api.get("/api/sync/runs", limit=0).status_code == 422
    assert api.get("/api/sync/runs", site_id="x").status_code == 400


def test_show_gives_progress_and_recent_items(
    api: Api, shop: Shop, db: sessionmaker[Session]
) -> None:
    now = datetime.now(UTC)
    with db.begin() as session:
        started = session.execute(select(func.now())).scalar_one() - timedelta(seconds=10)
        run = run_row(
            session,
            shop.site_id,
            status=RunStatus.RUNNING,
            total=1000,
            synced=100,
            unchanged=300,
            started_at=started,
        )
        for n in range(25):
            session.add(
                Item(
                    site_id=shop.site_id,
                    sku=f"SKU-{n:04d}",
                    product_id=str(n),
                    quantity=n,
                    last_synced_at=now - timedelta(minutes=n),
                )
            )
        session.add(Item(site_id=shop.site_id, sku="NEVER", product_id="x"))
        run_id = run.id
    body = api.get(f"/api/sync/runs/{run_id}").json
    assert (body["total"], body["synced"], body["percent"], body["status"]) == (
        1000,
        100,
        40.0,
        "running",
    )
    assert 30 < body["rate"] < 50 and body["eta_seconds"] is not None
    assert [i["sku"] for i in body["recent_items"]] == [f"SKU-{n:04d}" for n in range(20)]
    assert datetime.fromisoformat(body["recent_items"][0]["last_synced_at"]).tzinfo is not None
    assert api.get("/api/sync/runs/999").status_code == 404


def test_pause_resume_cancel_and_their_conflicts(
    api: Api, shop: Shop, db: sessionmaker[Session]
) -> None:
    with db.begin() as session:
        run_id = run_row(session, shop.site_id, status=RunStatus.RUNNING, batches_total=0).id
    base = f"/api/sync/runs/{run_id}"
    assert api.post(f"{base}/resume").status_code == 409  # running: nothing to resume
    paused = api.post(f"{base}/pause")
    assert paused.status_code == 200 and paused.json["status"] == "paused"
    assert api.post(f"{base}/pause").status_code == 409
    assert api.post(f"{base}/resume").json["status"] in ("queued", "running")
    cancelled = api.post(f"{base}/cancel")
    assert cancelled.status_code == 200 and cancelled.json["status"] == "cancelled"
    for action in ("pause", "resume", "cancel"):
        refused = api.post(f"{base}/{action}")
        assert refused.status_code == 409 and "cancelled" in refused.json["error"]["message"]
        assert api.post(f"/api/sync/runs/999/{action}").status_code == 404


def test_two_simultaneous_starts_make_one_run(
    app: Flask, shop: Shop, db: sessionmaker[Session]
) -> None:
    """The live-run index decides: every start inserts, only one insert succeeds."""
    ctx = app.extensions["stocksync"].ctx
    barrier = threading.Barrier(4)

    def start() -> str:
        barrier.wait()
        try:
            return f"run {start_run(ctx, shop.site_id)}"
        except AlreadyRunning:
            # The expected answer of all but one.
            return "conflict"

    with ThreadPoolExecutor(4) as pool:
        outcomes = sorted(pool.map(lambda _: start(), range(4)))
    assert outcomes[:3] == ["conflict"] * 3 and outcomes[3].startswith("run ")
    with db() as session:
        assert session.scalar(select(func.count()).select_from(SyncRun)) == 1


def test_a_start_that_cannot_be_queued_is_503_and_does_not_block_the_next(
    settings: Settings, api: Api, shop: Shop, db: sessionmaker[Session]
) -> None:
    """Redis down when the start is published: the run is failed by name at once, not
    left queued (409 to every retry) until the stuck-run check hours later."""
    broker_down = Api(
        create_app(replace(settings, redis_url=f"redis://127.0.0.1:{free_port()}/0")).test_client()
    )
    response = broker_down.post(f"/api/inventory/sync/{shop.site_id}")
    assert response.status_code == 503 and error_code(response) == "unavailable"
    with db() as session:
        (run,) = session.scalars(select(SyncRun)).all()
        assert run.status == RunStatus.FAILED
        assert run.error is not None and "could not be queued" in run.error
    assert api.post(f"/api/inventory/sync/{shop.site_id}").status_code == 202
