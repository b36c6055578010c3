"""Every provider end to end: the platform's own sandbox signs and sends its webhook,
the receiver verifies it, the relay queues it and a real worker processes it."""

from __future__ import annotations

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from models import WebhookLog, WebhookStatus
from models.crypto import Vault
from sandbox.accounts import STORES
from settings import Settings
from tests.support.live import live_stack
from tests.support.stack import wait_for


def _rows(db: sessionmaker[Session], provider: str) -> list[WebhookLog]:
    with db() as session:
        return list(session.scalars(select(WebhookLog).where(WebhookLog.provider == provider)))


@pytest.mark.slow
@pytest.mark.parametrize("platform", sorted(STORES))
def test_a_store_webhook_is_verified_and_processed(
    platform: str,
    settings: Settings,
    db: sessionmaker[Session],
    vault: Vault,
    redis_client: object,
) -> None:
    with live_stack(settings, db, vault, platform, items=40, drift=0.0) as path:
        stack = path.stack
        # The store signs with its sandbox account's secret, which sandbox_stack gave the site.
        stack.store.set_faults(webhook_url=path.url(platform))
        sku = sorted(stack.store_stock())[3]
        stack.store.set_stock({sku: stack.store_stock()[sku] + 5})
        wait_for(
            lambda: any(r.status == WebhookStatus.PROCESSED for r in _rows(db, platform)),
            60,
            f"{platform} processed",
        )
    assert all(r.status != WebhookStatus.REJECTED for r in _rows(db, platform))


@pytest.mark.slow
def test_a_zoho_item_change_reaches_the_store(
    settings: Settings, db: sessionmaker[Session], vault: Vault, redis_client: object
) -> None:
    with live_stack(settings, db, vault, "woocommerce", items=40, drift=0.0, erp="zoho") as path:
        stack = path.stack
        stack.erp.set_faults(webhook_url=path.url("zoho"))
        sku = sorted(stack.store_stock())[5]
        stack.erp.set_stock({sku: 321})
        wait_for(lambda: stack.store_stock()[sku] == 321, 60, "the store to get Zoho's stock")
    assert [r.status for r in _rows(db, "zoho")] == [WebhookStatus.PROCESSED]
