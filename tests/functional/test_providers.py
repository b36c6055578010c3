"""Every provider end to end: the platform's own sandbox signs and sends its webhook,
the receiver verifies it, the relay queues it and a real worker processes it."""

from __future__ import annotations

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from api.app import create_app
from models import Site, WebhookLog, WebhookStatus
from models.crypto import Vault
from sandbox.accounts import STORES
from sandbox.server import running
from settings import Settings
from sync.catalog import refresh_catalog
from tests.support.live import live_stack
from tests.support.relaying import relaying
from tests.support.stack import FAST, installed_context, sandbox_stack, wait_for, workers
from workers.app import make_celery


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
    with (
        sandbox_stack(db, vault, platform, items=40, drift=0.0) as stack,
        installed_context(settings, **FAST) as context,
    ):
        # The site's secret is its sandbox account's (sandbox_stack), as sent below.
        with context.sessions() as session:
            site = session.get_one(Site, stack.site_id)
            refresh_catalog(context, site, context.storefront(site))
        with (
            running(create_app(settings)) as base,
            relaying(settings),
            workers(make_celery(settings)),
        ):
            stack.store.set_faults(webhook_url=f"{base}/webhooks/{platform}/{stack.site_id}")
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
