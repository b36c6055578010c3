"""A source's reservations and oversold SKUs through the admin API: two stores sell
the last unit of a SKU; the answer names the SKU, both stores and both orders."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy.orm import Session, sessionmaker

from connectors.types import OrderLine, OrderSnapshot, OrderState
from models import Item, Site, Source
from models.crypto import Vault
from models.db import transaction
from sync.reservations import apply_order
from tests.factories import make_site
from tests.support.admin_api import Api, Shop

NOW = datetime(2026, 12, 4, 12, tzinfo=UTC)


def _sell(
    db: sessionmaker[Session], site_id: int, order: str, state: OrderState, **lines: int
) -> None:
    snapshot = OrderSnapshot(
        order, f"#{order}", NOW, state, True, tuple(OrderLine(s, u) for s, u in lines.items())
    )
    with transaction(db) as session:
        apply_order(session, session.get_one(Site, site_id), snapshot)


def _carry(db: sessionmaker[Session], site_id: int, sku: str, erp: int) -> None:
    with transaction(db) as session:
        session.add(
            Item(
                site_id=site_id,
                sku=sku,
                product_id="1",
                quantity=erp,
                erp_quantity=erp,
                erp_read_at=NOW,
            )
        )


def test_open_and_ended_reservations_and_the_oversold_report(
    api: Api, shop: Shop, db: sessionmaker[Session], vault: Vault
) -> None:
    with transaction(db) as session:
        other = make_site(session, vault, session.get_one(Source, shop.source_id), name="b").id
    for site_id in (shop.site_id, other):
        _carry(db, site_id, "LAST", 1)
        _carry(db, site_id, "PLENTY", 50)
    _sell(db, shop.site_id, "1", OrderState.OPEN, LAST=1, PLENTY=2)
    _sell(db, other, "2", OrderState.OPEN, LAST=1)
    _sell(db, other, "3", OrderState.CANCELLED, PLENTY=4)  # cancelled before we saw it

    base = f"/api/sources/{shop.source_id}"
    listed = api.get(f"{base}/reservations").json["items"]
    assert sorted((r["order_number"], r["sku"], r["units"]) for r in listed) == [
        ("#1", "LAST", 1),
        ("#1", "PLENTY", 2),
        ("#2", "LAST", 1),
    ]
    assert [
        r["order_number"] for r in api.get(f"{base}/reservations", sku="plenty").json["items"]
    ] == ["#1"]
    _sell(db, shop.site_id, "1", OrderState.REFUNDED, LAST=1, PLENTY=2)
    everything = api.get(f"{base}/reservations", open="false").json["items"]
    assert {(r["order_number"], r["sku"], r["end_reason"]) for r in everything} == {
        ("#1", "LAST", "refunded"),
        ("#1", "PLENTY", "refunded"),
        ("#2", "LAST", None),
    }
    assert api.get(f"{base}/oversold").json["items"] == []

    _sell(db, shop.site_id, "4", OrderState.OPEN, LAST=1)
    [entry] = api.get(f"{base}/oversold").json["items"]
    assert (entry["sku"], entry["short_by"], entry["site_ids"]) == (
        "LAST",
        1,
        sorted([shop.site_id, other]),
    )
    assert sorted(o["order_number"] for o in entry["orders"]) == ["#2", "#4"]

    assert api.get("/api/sources/999/reservations").status_code == 404
    assert api.get("/api/sources/999/oversold").status_code == 404
    assert api.get(f"{base}/reservations", open="maybe").status_code == 400
