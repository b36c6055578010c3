"""The store plugin's products go through the catalog mirror's one writer, by its rules:
a product whose stock the store does not track is never pushed, so an ERP change can
never switch tracking on behind the merchant's back. Through the real path: the
plugin's POST over HTTP, the ERP's signed notice, the relay, a real worker."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import requests
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from api.app import create_app
from models import Item, WebhookLog, WebhookStatus
from models.crypto import Vault
from sandbox.server import running
from settings import Settings
from sync.api_keys import issue_api_key
from sync.context import Context
from tests.support.relaying import relaying
from tests.support.stack import (
    FAST,
    Stack,
    installed_context,
    mirror,
    sandbox_stack,
    wait_for,
    workers,
)
from workers.app import make_celery


@pytest.fixture
def stack(
    settings: Settings, db: sessionmaker[Session], vault: Vault, redis_client: object
) -> Iterator[tuple[Stack, Context]]:
    with (
        sandbox_stack(db, vault, "woocommerce", items=40, drift=0.0) as stack,
        installed_context(settings, **FAST) as context,
    ):
        mirror(context, stack.site_id)
        yield stack, context


def _item(db: sessionmaker[Session], site_id: int, sku: str) -> Item:
    with db() as session:
        return session.scalars(select(Item).where(Item.site_id == site_id, Item.sku == sku)).one()


def test_a_product_the_plugin_says_is_untracked_is_never_pushed(
    settings: Settings, db: sessionmaker[Session], stack: tuple[Stack, Context]
) -> None:
    sandbox, ctx = stack
    sku = sorted(sandbox.store_stock())[0]
    mirrored = _item(db, sandbox.site_id, sku)
    key = issue_api_key(ctx, sandbox.site_id)
    with running(create_app(settings)) as base, relaying(settings), workers(make_celery(settings)):
        answer = requests.post(
            f"{base}/api/sync/webhook",
            headers={"Authorization": f"Bearer {key}"},
            json={
                "resource": "product",
                "action": "updated",
                "data": {
                    "id": int(mirrored.variant_id or mirrored.product_id),
                    "parent_id": int(mirrored.product_id) if mirrored.variant_id else 0,
                    "sku": sku,
                    "manage_stock": False,
                },
            },
            timeout=30,
        )
        assert answer.status_code == 200 and answer.json()["data"]["syncedCount"] == 1
        untracked = _item(db, sandbox.site_id, sku)
        assert (untracked.active, untracked.quantity) == (False, None)

        before = sandbox.store_stock()[sku]
        sandbox.erp.set_faults(webhook_url=f"{base}/webhooks/businesscentral/{sandbox.source_id}")
        sandbox.erp.set_stock({sku: before + 7})

        def settled() -> bool:
            with db() as session:
                statuses = session.scalars(select(WebhookLog.status)).all()
            return bool(statuses) and all(s == WebhookStatus.PROCESSED for s in statuses)

        wait_for(settled, 60, "the ERP's notice processed")
    assert sandbox.store_stock()[sku] == before


def test_the_plugins_untracked_product_of_the_issue_is_stored_inactive(
    settings: Settings, db: sessionmaker[Session], stack: tuple[Stack, Context]
) -> None:
    """The request as a new user sent it: an id, a SKU, `manage_stock: false`."""
    sandbox, ctx = stack
    key = issue_api_key(ctx, sandbox.site_id)
    client = create_app(settings).test_client()
    body = {"id": 77, "sku": "unmanaged-1", "manage_stock": False}
    answer = client.post(
        "/api/sync/webhook",
        headers={"Authorization": f"Bearer {key}"},
        json={"resource": "product", "action": "created", "data": body},
    )
    assert answer.status_code == 200, answer.json
    item = _item(db, sandbox.site_id, "UNMANAGED-1")
    assert (item.active, item.quantity, item.product_id) == (False, None, "77")
    again = client.post(
        "/api/sync/webhook",
        headers={"Authorization": f"Bearer {key}"},
        json={"resource": "product", "action": "updated", "data": body},
    )
    assert again.json["data"] == {**again.json["data"], "syncedCount": 0, "skippedCount": 1}
