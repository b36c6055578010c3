"""Store orders end to end (issue 20): a Zoho ERP and three stores on it (BigCommerce,
WooCommerce, Shopify), each sandbox at its platform's default quota and sending its
signed webhooks over HTTP to the receiver; the relay, a real worker, PostgreSQL, Redis.

An order on one store lowers the others at once and never lowers the store that took
it a second time; a full sync before the ERP knows does not re-inflate anyone; the ERP
importing and then invoicing the order hands it over without a dip; a cancel puts the
units back everywhere."""

from __future__ import annotations

import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack
from dataclasses import dataclass
from typing import Any

import pytest
import requests
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from models import Item, Reservation, RunStatus, Site, WebhookLog, WebhookStatus
from models.crypto import Vault
from models.db import transaction
from sandbox.base import SandboxState
from sandbox.zoho.state import ZohoState
from settings import Settings
from sync.api_keys import issue_api_key
from sync.change_feed import poll
from sync.limits import PLATFORM_QUOTAS
from sync.runs import start_run
from tests.support.admin_api import AUTH
from tests.support.live import LiveStack, live_stack
from tests.support.stack import finished, run_row, sibling_store, wait_for

ITEMS = 30
#: The race: a store of this many SKUs, half of them off, takes this many orders while
#: its full sync runs.
RACE_ITEMS = 300
RACE_ORDERS = 200
#: Each store's sandbox enforces its platform's default limits (sync/limits.py, from
#: docs/platforms.md), and the sites use the same defaults (no per-site override).
DEFAULT_LIMITS = {
    "rate_limit_requests": None,
    "rate_limit_window_seconds": None,
    "rate_limit_concurrency": None,
}


def _limits(platform: str) -> dict[str, Any]:
    """The sandbox knobs of the platform's default limits: Shopify's Standard plan's cost
    points (sync/cost_points.py), the others' request quota."""
    if platform == "shopify":
        return {"plan": "standard"}
    quota = PLATFORM_QUOTAS[platform]  # type: ignore[index]
    return {"rate_limit": (quota.requests, quota.window_seconds)}


@dataclass
class Stores:
    live: LiveStack
    #: name -> (sandbox state, its base URL, site id)
    by_name: dict[str, tuple[SandboxState, str, int]]

    def stock(self, sku: str) -> dict[str, int]:
        return {name: state.stock()[sku] for name, (state, _, _) in self.by_name.items()}

    def writes(self, name: str) -> int:
        state = self.by_name[name][0]
        with state.lock:
            return len(state.writes)

    def control(self, name: str, path: str, body: dict[str, Any]) -> dict[str, Any]:
        answer = requests.post(f"{self.by_name[name][1]}/_sandbox/{path}", json=body, timeout=10)
        assert answer.status_code in (200, 201), answer.text
        result: dict[str, Any] = answer.json()
        return result


@pytest.fixture
def stores(
    settings: Settings, db: sessionmaker[Session], vault: Vault, redis_client: object
) -> Iterator[Stores]:
    with ExitStack() as stack:
        live = stack.enter_context(
            live_stack(
                settings,
                db,
                vault,
                "bigcommerce",
                erp="zoho",
                items=ITEMS,
                drift=0.0,
                store=_limits("bigcommerce"),
                site=DEFAULT_LIMITS,
            )
        )
        by_name = {"bigcommerce": (live.stack.store, live.stack.store_url, live.stack.site_id)}
        for platform in ("woocommerce", "shopify"):
            state, site_id = stack.enter_context(
                sibling_store(
                    db,
                    vault,
                    live.stack.source_id,
                    platform,
                    name=platform,
                    site=DEFAULT_LIMITS,
                    items=ITEMS,
                    drift=0.0,
                    **_limits(platform),
                )
            )
            by_name[platform] = (state, _base_url(state, db, site_id), site_id)
        # One store sells from Zoho's available-for-sale figure: the ERP's handover
        # reaches it at confirmation, the others at the invoice.
        with transaction(db) as session:
            session.get_one(Site, by_name["shopify"][2]).stock_basis = "available_for_sale"
        runs = [start_run(live.context, site_id) for _, _, site_id in by_name.values()]
        for run_id in runs:
            wait_for(lambda run_id=run_id: finished(db, run_id), 120, f"run {run_id}")
            assert run_row(db, run_id).status == RunStatus.COMPLETED
        live.stack.erp.set_faults(webhook_url=live.url("zoho"))
        for name, (state, _, site_id) in by_name.items():
            state.set_faults(webhook_url=f"{live.receiver_url}/webhooks/{name}/{site_id}")
        yield Stores(live, by_name)


def _base_url(state: SandboxState, db: sessionmaker[Session], site_id: int) -> str:
    with db() as session:
        return session.get_one(Site, site_id).base_url


def _reservations(db: sessionmaker[Session]) -> list[tuple[str, int, str | None]]:
    with db() as session:
        return [
            (row.order_number, row.units, row.end_reason)
            for row in session.scalars(select(Reservation).order_by(Reservation.id))
        ]


def _all_show(stores: Stores, sku: str, number: int, what: str) -> None:
    wait_for(lambda: set(stores.stock(sku).values()) == {number}, 60, f"{number} ({what})")


@pytest.mark.slow
def test_an_order_lowers_the_siblings_once_and_survives_a_full_sync(
    stores: Stores, db: sessionmaker[Session]
) -> None:
    live = stores.live
    sku = _stocked_sku(stores, 10)

    # BigCommerce (update_stock_behavior order_placed) takes an order of 3.
    writes_before = stores.writes("bigcommerce")
    order = stores.control("bigcommerce", "orders", {"lines": [{"sku": sku, "quantity": 3}]})
    _all_show(stores, sku, 7, "the siblings dropping by the order")
    wait_for(lambda: _reservations(db) == [(str(order["id"]), 3, None)], 30, "the reservation")
    assert stores.writes("bigcommerce") == writes_before  # its own number fell by itself

    # A manual full sync of every store before the ERP knows: nobody re-inflates.
    runs = [start_run(live.context, site_id) for _, _, site_id in stores.by_name.values()]
    for run_id in runs:
        wait_for(lambda run_id=run_id: finished(db, run_id), 120, f"run {run_id}")
        assert run_row(db, run_id).status == RunStatus.COMPLETED
    assert set(stores.stock(sku).values()) == {7}

    # Zoho imports the order (a confirmed sales order carrying its number): on hand
    # stays 10, available-for-sale falls to 7. A full sync reads it (asking Zoho about
    # the open order first): everyone stays 7, Shopify now from available-for-sale.
    erp = live.stack.erp_url
    number = str(order["id"])
    imported = requests.post(
        f"{erp}/_sandbox/salesorders",
        params={"reference_number": number, "status": "confirmed"},
        json={sku: 3},
        timeout=10,
    )
    assert imported.status_code == 201, imported.text
    runs = [start_run(live.context, site_id) for _, _, site_id in stores.by_name.values()]
    for run_id in runs:
        wait_for(lambda run_id=run_id: finished(db, run_id), 120, f"run {run_id}")
    assert set(stores.stock(sku).values()) == {7}
    _, _, shopify_site = stores.by_name["shopify"]
    assert _erp_figure(db, shopify_site, sku) == 7

    # Then invoices it: on hand falls to 7, with no webhook (an invoice fires no item
    # workflow): Zoho's change feed, polled as beat does, brings it. It is read after
    # Zoho is asked about the order, so the reservation ends as absorbed and no store
    # dips to 4: not one write anywhere.
    writes = {name: stores.writes(name) for name in stores.by_name}
    salesorder = imported.json()["salesorder"]["salesorder_id"]
    poll(live.context, live.stack.source_id)  # the feed watches from here
    invoiced = requests.post(f"{erp}/_sandbox/salesorders/{salesorder}/invoice", timeout=10)
    assert invoiced.status_code == 200, invoiced.text
    assert poll(live.context, live.stack.source_id) >= 1
    wait_for(lambda: _reservations(db) == [(number, 3, "absorbed")], 60, "the handover")
    wait_for(lambda: _events_done(db), 60, "Zoho's notice processed")
    assert set(stores.stock(sku).values()) == {7}
    assert {name: stores.writes(name) for name in stores.by_name} == writes

    # Another order of 2, cancelled before the ERP imports it: back up by 2 everywhere.
    second = stores.control("bigcommerce", "orders", {"lines": [{"sku": sku, "quantity": 2}]})
    _all_show(stores, sku, 5, "the second order")
    stores.control("bigcommerce", f"orders/{second['id']}/status", {"status_id": 5})
    _all_show(stores, sku, 7, "the cancel")
    wait_for(
        lambda: (str(second["id"]), 2, "cancelled") in _reservations(db), 30, "the cancel's end"
    )


def _erp_figure(db: sessionmaker[Session], site_id: int, sku: str) -> int | None:
    with db() as session:
        return session.scalar(
            select(Item.erp_quantity).where(Item.site_id == site_id, Item.sku == sku)
        )


def _events_done(db: sessionmaker[Session]) -> bool:
    with db() as session:
        pending = session.scalar(
            select(func.count())
            .select_from(WebhookLog)
            .where(WebhookLog.status.in_((WebhookStatus.RECEIVED, WebhookStatus.QUEUED)))
        )
        return pending == 0


def _stocked_sku(stores: Stores, quantity: int) -> str:
    """A SKU every store and the ERP hold, with no stock committed in Zoho, set to
    `quantity` in the ERP and in every store."""
    erp = stores.live.stack.erp
    assert isinstance(erp, ZohoState)
    sku = next(
        sku
        for sku in sorted(stores.live.stack.store_stock())
        if sku in erp.by_sku and not erp.by_sku[sku]["committed_stock"]
    )
    erp.set_stock({sku: quantity})
    _all_show(stores, sku, quantity, "the ERP's change")
    return sku


@pytest.mark.slow
def test_each_store_lowers_itself_on_its_own_terms_and_is_never_written_twice(
    stores: Stores, db: sessionmaker[Session]
) -> None:
    """Shopify moves units to `committed` when an order is placed; WooCommerce lowers
    its number only when a `pending` order is paid (`processing`). Neither is written
    for its own order; the siblings drop as soon as each order arrives."""
    sku = _stocked_sku(stores, 10)
    writes = {name: stores.writes(name) for name in ("shopify", "woocommerce")}

    shopify = stores.control("shopify", "orders", {"lines": [{"sku": sku, "quantity": 2}]})
    _all_show(stores, sku, 8, "Shopify's order")

    woo = stores.control(
        "woocommerce", "orders", {"lines": [{"sku": sku, "quantity": 1}], "status": "pending"}
    )
    wait_for(
        lambda: stores.stock(sku) == {"bigcommerce": 7, "shopify": 7, "woocommerce": 8},
        60,
        "the siblings of a pending WooCommerce order dropping, WooCommerce not",
    )
    stores.control("woocommerce", f"orders/{woo['id']}/status", {"status": "processing"})
    _all_show(stores, sku, 7, "WooCommerce lowering itself once paid")
    wait_for(lambda: _events_done(db), 60, "the order's events processed")
    # Written once, for Shopify's order; never for its own.
    assert stores.writes("woocommerce") == writes["woocommerce"] + 1

    # Cancelled with restock in Shopify: its units are back there, and everywhere.
    stores.control("shopify", f"orders/{shopify['id']}/cancel", {"restock": True})
    _all_show(stores, sku, 9, "Shopify's cancel")
    wait_for(lambda: _events_done(db), 60, "the cancel processed")
    assert stores.writes("shopify") == writes["shopify"] + 1  # only WooCommerce's order


@pytest.mark.slow
def test_two_stores_selling_the_last_unit_show_zero_and_the_oversell_is_reported(
    stores: Stores, db: sessionmaker[Session]
) -> None:
    sku = _stocked_sku(stores, 1)
    first = stores.control("bigcommerce", "orders", {"lines": [{"sku": sku, "quantity": 1}]})
    second = stores.control("shopify", "orders", {"lines": [{"sku": sku, "quantity": 1}]})
    _all_show(stores, sku, 0, "the last unit sold twice")
    wait_for(lambda: len(_reservations(db)) == 2, 30, "both reservations")

    answer = requests.get(
        f"{stores.live.receiver_url}/api/sources/{stores.live.stack.source_id}/oversold",
        headers=AUTH,
        timeout=10,
    )
    assert answer.status_code == 200, answer.text
    [entry] = answer.json()["items"]
    assert (entry["sku"], entry["short_by"]) == (sku, 1)
    assert entry["site_ids"] == sorted(site_id for _, _, site_id in stores.by_name.values())
    assert sorted(order["order_number"] for order in entry["orders"]) == sorted(
        [str(first["id"]), second["name"]]
    )


@pytest.mark.slow
def test_orders_racing_a_full_sync_never_leave_a_store_above_what_is_left(
    settings: Settings, db: sessionmaker[Session], vault: Vault, redis_client: object
) -> None:
    """200 orders on a WooCommerce store (no conditional write there) while a full sync
    writes half of its SKUs: at the end, every SKU shows exactly the ERP's figure less
    its open reservations, never more (the order events read the store back and lower
    any number a racing write put above that)."""
    with live_stack(
        settings,
        db,
        vault,
        "woocommerce",
        erp="zoho",
        items=RACE_ITEMS,
        drift=0.5,
        # A store answering in 150 ms, so its catalog refresh and writes take seconds.
        store={**_limits("woocommerce"), "latency_ms": 150},
        site=DEFAULT_LIMITS,
    ) as live:
        live.stack.store.set_faults(
            webhook_url=f"{live.receiver_url}/webhooks/woocommerce/{live.stack.site_id}"
        )
        erp = live.stack.erp
        assert isinstance(erp, ZohoState)
        shared = set(live.stack.store_stock()) & set(erp.by_sku)
        plenty = sorted(
            sku for sku in shared if min(live.stack.store_stock()[sku], erp.stock()[sku]) >= 5
        )
        targets = [plenty[n % 100] for n in range(RACE_ORDERS)]
        store_url = live.stack.store_url

        placed: list[int] = []

        def order(sku: str) -> int:
            answer = requests.post(
                f"{store_url}/_sandbox/orders",
                json={"lines": [{"sku": sku, "quantity": 1}], "status": "processing"},
                timeout=30,
            )
            placed.append(answer.status_code)
            time.sleep(0.1)  # two shoppers, about 20 orders a second
            return answer.status_code

        with ThreadPoolExecutor(max_workers=2) as pool:
            racing = pool.map(order, targets)
            wait_for(lambda: len(placed) >= RACE_ORDERS // 5, 60, "the first orders")
            run_id = start_run(live.context, live.stack.site_id)
            at_start = len(placed)
            wait_for(lambda: finished(db, run_id), 300, f"run {run_id}")
            at_end = len(placed)
            answers = list(racing)
        # Orders kept coming while the run read and wrote the store.
        assert at_start < at_end, (at_start, at_end)
        assert answers == [201] * RACE_ORDERS
        run = run_row(db, run_id)
        assert run.status == RunStatus.COMPLETED and run.synced > 0
        wait_for(lambda: _events_done(db), 300, "every order event processed")

        held = _open_units(db)
        assert sum(held.values()) == RACE_ORDERS
        erp_now, store_now = erp.stock(), live.stack.store_stock()
        above = {
            sku: (store_now[sku], erp_now[sku] - held.get(sku, 0))
            for sku in shared
            if store_now[sku] > max(0, erp_now[sku] - held.get(sku, 0))
        }
        assert above == {}
        assert {sku: store_now[sku] for sku in shared} == {
            sku: max(0, erp_now[sku] - held.get(sku, 0)) for sku in shared
        }


def _open_units(db: sessionmaker[Session]) -> dict[str, int]:
    with db() as session:
        rows = session.execute(
            select(Reservation.sku, func.sum(Reservation.units))
            .where(Reservation.ended_at.is_(None))
            .group_by(Reservation.sku)
        ).all()
        return {sku: int(units) for sku, units in rows}


@pytest.mark.slow
def test_an_order_the_store_plugin_pushes_lowers_the_siblings(
    stores: Stores, db: sessionmaker[Session]
) -> None:
    """A WooCommerce store that reports its orders through our plugin
    (`POST /api/sync/webhook`) instead of WooCommerce's order webhooks."""
    sku = _stocked_sku(stores, 10)
    woo, _, woo_site = stores.by_name["woocommerce"]
    woo.set_faults(webhook_url=None)  # only the plugin speaks for this store now
    writes = stores.writes("woocommerce")
    placed = stores.control(
        "woocommerce", "orders", {"lines": [{"sku": sku, "quantity": 2}], "status": "processing"}
    )
    key = issue_api_key(stores.live.context, woo_site)
    pushed = requests.post(
        f"{stores.live.receiver_url}/api/sync/webhook",
        json={
            "resource": "order",
            "action": "created",
            "data": {
                "id": placed["id"],
                "number": str(placed["number"]),
                "status": "processing",
                "total": "20.00",
                "updated_at": "2026-12-04T10:00:00Z",
                "line_items": [{"id": 1, "sku": sku, "quantity": 2, "price": "10.00"}],
            },
        },
        headers={"Authorization": f"Bearer {key}"},
        timeout=10,
    )
    assert pushed.status_code == 200, pushed.text
    _all_show(stores, sku, 8, "the plugin's order")
    wait_for(lambda: _events_done(db), 60, "the order's event processed")
    assert stores.writes("woocommerce") == writes
    assert _reservations(db) == [(str(placed["number"]), 2, None)]
