"""Stock the ERP moves without a webhook reaches the stores through its change feed
(sync/change_feed.py), through the real path: the ERP sandbox posts the movement and
sends no notice (a Business Central shipment writes ledger entries; a Zoho invoice is a
record of its own module), a poller calls the feed on beat's period, and the relay and
a real worker carry the event to the store.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
import requests
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from models import EventKind, WebhookLog, WebhookStatus
from models.crypto import Vault
from settings import Settings
from sync.change_feed import BEAT_SECONDS, POLL_SECONDS, poll_all
from sync.context import Context
from tests.support.live import live_stack
from tests.support.stack import wait_for


@contextmanager
def beat(ctx: Context) -> Iterator[None]:
    """Ask every BEAT_SECONDS, as beat's `poll-erp-feeds` entry does (each source is
    read once per its ERP's POLL_SECONDS)."""
    stop = threading.Event()

    def run() -> None:
        while not stop.wait(BEAT_SECONDS):
            poll_all(ctx)

    thread = threading.Thread(target=run, name="feed-beat", daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join(timeout=30)


def _move_in_business_central(erp_url: str, sku: str) -> None:
    """A sales order imported and its shipment posted: ledger entries, no notice."""
    made = requests.post(
        f"{erp_url}/_sandbox/salesorders",
        json={"externalDocumentNumber": "ERP-ONLY-1", "lines": {sku: 3}},
        timeout=10,
    )
    assert made.status_code == 201, made.text
    order = made.json()["salesOrder"]["id"]
    shipped = requests.post(f"{erp_url}/_sandbox/salesorders/{order}/ship", timeout=10)
    assert shipped.status_code == 201, shipped.text


def _move_in_zoho(erp_url: str, sku: str) -> None:
    """A confirmed sales order, invoiced: stock moves, no item workflow fires."""
    made = requests.post(f"{erp_url}/_sandbox/salesorders", json={sku: 3}, timeout=10)
    assert made.status_code == 201, made.text
    order = made.json()["salesorder"]["salesorder_id"]
    for step in ("invoice", "ship"):
        done = requests.post(f"{erp_url}/_sandbox/salesorders/{order}/{step}", timeout=10)
        assert done.status_code == 200, done.text


def _statuses(db: sessionmaker[Session]) -> set[WebhookStatus]:
    with db() as session:
        return set(session.scalars(select(WebhookLog.status)))


MOVES = {"businesscentral": _move_in_business_central, "zoho": _move_in_zoho}


@pytest.mark.parametrize("erp", sorted(MOVES))
def test_a_movement_without_a_notice_reaches_the_store(
    settings: Settings,
    db: sessionmaker[Session],
    vault: Vault,
    redis_client: object,
    erp: str,
) -> None:
    with live_stack(
        settings, db, vault, "woocommerce", items=60, drift=0.0, synced=True, erp=erp
    ) as path:
        stack = path.stack
        # Its notices go to the receiver: any it sent would show in the log.
        stack.erp.set_faults(webhook_url=path.url(erp))
        poll_all(path.context)  # the feed starts watching from now
        sku = next(iter(stack.erp_stock()))
        before = stack.erp_stock()[sku]
        with beat(path.context):
            moved_at = time.monotonic()
            MOVES[erp](stack.erp_url, sku)
            assert stack.erp_stock()[sku] < before
            wait_for(
                lambda: stack.store_stock()[sku] == stack.erp_stock()[sku],
                POLL_SECONDS[erp] * 2 + 30,
                "the movement in the store",
            )
            took = time.monotonic() - moved_at
        assert stack.erp.webhooks.wait_idle()
        with db() as session:
            events = session.scalars(select(WebhookLog)).all()
        # No notice: the feed brought it, and every SKU it named went where it is sold.
        assert {e.kind for e in events} == {EventKind.ERP_STOCK_MOVED}
        wait_for(lambda: _statuses(db) == {WebhookStatus.PROCESSED}, 30, "processed")
        assert stack.differing() == set()
        print(f"{erp}: movement to store in {took:.1f} s (read every {POLL_SECONDS[erp]:.0f} s)")


def test_a_zoho_document_rule_nudges_an_immediate_read_of_the_feed(
    settings: Settings, db: sessionmaker[Session], vault: Vault, redis_client: object
) -> None:
    """With the workflow rules the manual steps describe on invoices and shipments, the
    movement needs no poll at all: here no beat runs, and the store still follows."""
    with live_stack(
        settings, db, vault, "woocommerce", items=60, drift=0.0, synced=True, erp="zoho"
    ) as path:
        stack = path.stack
        stack.erp.set_faults(webhook_url=path.url("zoho"))
        rules = {"stock_moved": ["invoices", "shipments"]}
        assert requests.post(f"{stack.erp_url}/_sandbox/workflows", json=rules, timeout=10).ok
        poll_all(path.context)  # the feed starts watching from now
        sku = next(iter(stack.erp_stock()))
        moved_at = time.monotonic()
        _move_in_zoho(stack.erp_url, sku)
        wait_for(
            lambda: stack.store_stock()[sku] == stack.erp_stock()[sku],
            60,
            "the nudged movement in the store",
        )
        took = time.monotonic() - moved_at
        wait_for(
            lambda: _statuses(db) <= {WebhookStatus.PROCESSED, WebhookStatus.DUPLICATE},
            30,
            "processed",
        )
        with db() as session:
            kinds = [e.kind for e in session.scalars(select(WebhookLog).order_by(WebhookLog.id))]
        # Two nudges (the invoice, the shipment) coalesced into one read, then its SKUs.
        assert set(kinds) == {EventKind.ERP_STOCK_NUDGE, EventKind.ERP_STOCK_MOVED}, kinds
        assert stack.differing() == set()
        print(f"zoho with document rules: movement to store in {took:.1f} s (no poll)")
