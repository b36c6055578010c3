"""`stocksync runs|stats|log`: the operator commands, person-readable and `--json`."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest
import redis
from sqlalchemy.orm import Session, sessionmaker

from connectors.types import OrderLine, OrderSnapshot, OrderState
from models import Item, RunStatus, Site, WebhookStatus
from models.crypto import Vault
from settings import Settings
from sync.reservations import apply_order
from tests.factories import make_site, make_source
from tests.factories.sync import run_row
from tests.factories.webhook_log import log_row
from tests.support.cli import stocksync


@pytest.fixture
def run(settings: Settings, db: sessionmaker[Session], redis_client: redis.Redis):  # type: ignore[no-untyped-def]
    return stocksync(settings)


@pytest.fixture
def site_id(db: sessionmaker[Session], vault: Vault) -> int:
    with db.begin() as session:
        site = make_site(session, vault, make_source(session, vault))
        run_row(session, site.id, status=RunStatus.RUNNING, batches_total=0, total=10)
        log_row(session, site_id=site.id, status=WebhookStatus.FAILED, error="store said no")
        log_row(session, site_id=site.id, sku="OK-1")
        return site.id


def test_runs_list_show_pause_resume_cancel(run, site_id: int) -> None:  # type: ignore[no-untyped-def]
    assert [r["id"] for r in json.loads(run("runs", "list", "--json"))] == [1]
    assert "running" in run("runs", "list", "--site", "shop")
    assert "run 1 shop: 0/10 (0.0%)" in run("runs", "show", "1")
    assert "run 1 paused" in run("runs", "pause", "1")
    refused = run("runs", "pause", "1", code=1)
    assert "cannot pause run 1: it is paused" in refused
    assert json.loads(run("runs", "resume", "1", "--json"))["status"] in ("queued", "running")
    assert "run 1 cancelled (now cancelled)" in run("runs", "cancel", "1")
    assert "no run 9" in run("runs", "cancel", "9", code=1)


def test_stats_and_log(run, site_id: int) -> None:  # type: ignore[no-untyped-def]
    stats = json.loads(run("stats", "--json"))
    assert stats["broker"]["queues"] == {"events": 0, "sync": 0, "maintenance": 0}
    assert stats["last_syncs"][0]["last_status"] == "running"
    text = run("stats")
    assert "broker: events 0" in text and "shop" in text
    failed = run("log", "--status", "failed")
    assert "failed" in failed and "store said no" in failed and "OK-1" not in failed
    rows = json.loads(run("log", "--json", "--search", "ok-"))
    assert [r["sku"] for r in rows] == ["OK-1"]
    assert "no matching" in run("log", "--site", "shop", "--topic", "nothing")
    assert "no site 'nope'" in run("log", "--site", "nope", code=1)


def test_reservations_list_and_oversold(run, site_id: int, db: sessionmaker[Session]) -> None:  # type: ignore[no-untyped-def]
    snapshot = OrderSnapshot(
        "9", "#9", datetime(2026, 12, 4, tzinfo=UTC), OrderState.OPEN, True, (OrderLine("A", 2),)
    )
    with db.begin() as session:
        apply_order(session, session.get_one(Site, site_id), snapshot)
        session.add(
            Item(
                site_id=site_id,
                sku="A",
                product_id="1",
                erp_quantity=1,
                erp_read_at=snapshot.updated_at,
            )
        )
    assert "order #9" in run("reservations", "list", "--source", "erp")
    assert [
        r["units"] for r in json.loads(run("reservations", "list", "--source", "erp", "--json"))
    ] == [2]
    assert "A                    short by 1: #9 (site 1, 2)" in run(
        "reservations", "oversold", "--source", "erp"
    )
    assert "no source 'nope'" in run("reservations", "oversold", "--source", "nope", code=1)
