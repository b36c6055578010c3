"""The real-time path end to end: an ERP sandbox changes stock and sends its signed
notifications over HTTP to the receiver; a real worker re-reads the ERP and writes the
store sandbox. No mocks: real HTTP, real worker, real PostgreSQL and Redis."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import pytest
import requests
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from models import Item, WebhookLog, WebhookStatus
from models.crypto import Vault
from settings import Settings
from tests.support.admin_api import AUTH
from tests.support.live import LiveStack, live_stack
from tests.support.stack import finished, wait_for


@pytest.fixture
def realtime(
    settings: Settings, db: sessionmaker[Session], vault: Vault, redis_client: object
) -> Iterator[LiveStack]:
    assert settings.dedupe_window_seconds == 5.0  # the design's window, not a test one
    with live_stack(settings, db, vault, "woocommerce", items=60, drift=0.0) as path:
        path.stack.erp.set_faults(webhook_url=path.url("businesscentral"))
        yield path


def _webhooks_off(realtime: LiveStack, owner: str) -> dict[str, Any]:
    """Turn real time off for `owner` (`sites/<id>` or `sources/<id>`) through the admin
    API, as the merchant would, and return its answer: the switch is a route's job, so
    these tests go through the route rather than writing the row."""
    switched = requests.post(
        f"{realtime.receiver_url}/api/{owner}/webhooks/toggle",
        json={"active": False},
        headers=AUTH,
        timeout=10,
    )
    assert switched.status_code == 200, switched.text
    body: dict[str, Any] = switched.json()
    return body


def _rows(db: sessionmaker[Session]) -> list[WebhookLog]:
    with db() as session:
        return list(session.scalars(select(WebhookLog).order_by(WebhookLog.id)))


def test_an_erp_change_reaches_the_store(realtime: LiveStack, db: sessionmaker[Session]) -> None:
    stack = realtime.stack
    sku = next(iter(stack.erp_stock()))
    new = stack.erp_stock()[sku] + 7
    stack.erp.set_stock({sku: new})
    wait_for(lambda: stack.store_stock()[sku] == new, 60, "the store to get the new stock")
    wait_for(lambda: [r.status for r in _rows(db)] == [WebhookStatus.PROCESSED], 30, "processed")


def test_notices_arriving_together_are_read_and_written_together(
    realtime: LiveStack, db: sessionmaker[Session]
) -> None:
    """One notification naming 10 items: the relay gives its rows one message per claim
    and the worker reads each group in one ERP request and writes it in one store request
    (workers/relay.py `_messages`, sync/events.py `process_events`; issue 22's 200
    events a second)."""
    stack = realtime.stack
    with db() as session:
        simple = session.scalars(
            select(Item.sku)
            .where(Item.site_id == stack.site_id, Item.variant_id.is_(None))
            .order_by(Item.sku)
            .limit(10)
        ).all()
    changes = {sku: stack.erp_stock()[sku] + 7 for sku in simple}
    stack.store.writes.clear()
    calls, minted = stack.erp.calls, stack.erp.tokens.minted

    stack.erp.set_stock(changes)

    wait_for(lambda: len(_rows(db)) == len(changes), 30, "the notices logged")
    wait_for(
        lambda: {r.status for r in _rows(db)} == {WebhookStatus.PROCESSED}, 60, "all processed"
    )
    assert len(changes) == 10
    assert {sku: stack.store_stock()[sku] for sku in changes} == changes
    # The receiver may commit one request's rows in two of its shared commits, and the
    # relay then claims them as two groups (seen: 8 and 2): each group is one ERP read
    # and one store write, where each notice used to take one of each.
    writes = [write.items for write in stack.store.writes]
    assert sum(writes) == 10 and len(writes) <= 3
    assert (stack.erp.calls - calls) - (stack.erp.tokens.minted - minted) == len(writes)


def test_a_burst_is_one_processing_run_ending_with_the_last_value(
    realtime: LiveStack, db: sessionmaker[Session]
) -> None:
    """50 updates of one SKU in 2 s, the ERP changing during the burst."""
    stack = realtime.stack
    sku = next(iter(stack.erp_stock()))
    for step in range(50):
        stack.erp.set_stock({sku: 1000 + step})
        time.sleep(0.04)
    stack.erp.webhooks.wait_idle()
    wait_for(lambda: stack.store_stock()[sku] == 1049, 60, "the last value in the store")
    wait_for(lambda: all(r.status != WebhookStatus.QUEUED for r in _rows(db)), 30, "settled")
    statuses = [r.status for r in _rows(db)]
    assert len(statuses) == 50
    assert statuses.count(WebhookStatus.PROCESSED) == 1
    assert statuses.count(WebhookStatus.DUPLICATE) == 49
    assert stack.store_stock()[sku] == 1049


def test_a_site_with_real_time_off_is_not_written_by_erp_changes(
    realtime: LiveStack, db: sessionmaker[Session]
) -> None:
    """The site's switch is turned off through the API: the ERP's notice is still
    processed (other sites of the source may need it), but this store is not written."""
    stack = realtime.stack
    _webhooks_off(realtime, f"sites/{stack.site_id}")
    sku = next(iter(stack.erp_stock()))
    before = stack.store_stock()[sku]
    stack.erp.set_stock({sku: before + 7})

    wait_for(lambda: [r.status for r in _rows(db)] == [WebhookStatus.PROCESSED], 60, "processed")
    assert stack.store_stock()[sku] == before


def test_a_source_with_webhooks_off_has_its_notices_ignored(
    realtime: LiveStack, db: sessionmaker[Session]
) -> None:
    stack = realtime.stack
    assert _webhooks_off(realtime, f"sources/{stack.source_id}")["webhooks_active"] is False
    sku = next(iter(stack.erp_stock()))
    before = stack.store_stock()[sku]
    stack.erp.set_stock({sku: before + 7})
    stack.erp.webhooks.wait_idle()

    wait_for(lambda: [r.status for r in _rows(db)] == [WebhookStatus.IGNORED], 30, "logged")
    assert stack.store_stock()[sku] == before


def _settle(db: sessionmaker[Session], answer: requests.Response) -> None:
    """Wait for the run a stock policy change started (its answer's `resync`)."""
    assert answer.status_code == 200, answer.text
    run_id = answer.json()["resync"]["run_id"]
    wait_for(lambda: finished(db, run_id), 60, f"run {run_id}")


def test_an_erp_change_is_written_as_the_sellable_number(
    realtime: LiveStack, db: sessionmaker[Session]
) -> None:
    """The policy and an opt-out are set through the admin API over HTTP; the runs they
    start settle; then the ERP's notice writes the buffered number and skips the opt-out."""
    stack = realtime.stack
    site = f"{realtime.receiver_url}/api/sites/{stack.site_id}"
    sku, opted = sorted(stack.erp_stock())[:2]
    policy = {"stock_buffer": 2, "stock_floor": 3}
    _settle(db, requests.patch(site, json=policy, headers=AUTH, timeout=10))
    rule = {"opt_out": True}
    _settle(db, requests.put(f"{site}/skus/{opted.lower()}", json=rule, headers=AUTH, timeout=10))
    before = stack.store_stock()[opted]

    stack.erp.set_stock({sku: 10, opted: before + 50})

    wait_for(lambda: stack.store_stock()[sku] == 8, 60, "the buffered number in the store")
    stack.erp.webhooks.wait_idle()
    wait_for(
        lambda: all(r.status == WebhookStatus.PROCESSED for r in _rows(db)) and _rows(db) != [],
        30,
        "processed",
    )
    assert stack.store_stock()[opted] == before
