"""Our own writes coming back as store webhooks cost nothing (issue 20, item 7): a full
sync writes 1,000 SKUs to a store whose sandbox sends its webhook for every change
(WooCommerce `product.updated`, sandbox/woocommerce/state.py `notify`; Shopify
`inventory_levels/update`) to the real receiver; the relay and a real worker process
every echo, and the store sees no read and no write beyond the sync's own. No mocks:
real HTTP, worker, PostgreSQL and Redis."""

from __future__ import annotations

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from models import RunStatus, WebhookLog, WebhookStatus
from models.crypto import Vault
from sandbox.base import SandboxState
from settings import Settings
from tests.support.live import live_stack
from tests.support.stack import sync_to_end, wait_for

SKUS = 1000


def _reads(store: SandboxState) -> int:
    """Store requests that were not writes: every read the sandbox served."""
    with store.lock:
        return store.calls - len(store.writes)


def _statuses(db: sessionmaker[Session]) -> list[WebhookStatus]:
    with db() as session:
        return list(session.scalars(select(WebhookLog.status)))


def _settled(db: sessionmaker[Session]) -> bool:
    statuses = _statuses(db)
    return len(statuses) == SKUS and not {WebhookStatus.RECEIVED, WebhookStatus.QUEUED} & set(
        statuses
    )


@pytest.mark.parametrize("platform", ["woocommerce", "shopify"])
def test_a_thousand_echoes_of_our_writes_cost_no_store_read_and_no_write(
    platform: str,
    settings: Settings,
    db: sessionmaker[Session],
    vault: Vault,
    redis_client: object,
    caplog: pytest.LogCaptureFixture,
) -> None:
    # Every SKU differs at first: the first full sync (no webhook yet) writes them all,
    # and its reads are what a full sync of this store costs without echoes.
    with live_stack(settings, db, vault, platform, synced=True, items=SKUS, drift=1.0) as live:
        stack, store = live.stack, live.stack.store
        assert stack.differing() == set()
        sync_reads = _reads(store)
        # The ERP changes every SKU, unannounced; the store's webhook now reaches us.
        stack.erp.set_stock({sku: quantity + 1 for sku, quantity in stack.erp_stock().items()})
        store.set_faults(webhook_url=live.url(platform))
        with store.lock:
            store.writes.clear()
            store.calls = 0

        run = sync_to_end(live.celery, db, stack.site_id)

        assert run.status == RunStatus.COMPLETED, (run.status, run.error)
        assert stack.differing() == set()
        writes = len(store.writes)
        assert store.webhooks.wait_idle(120)
        assert store.webhooks.sent == SKUS
        wait_for(lambda: _settled(db), 180, "every echo processed")
        statuses = _statuses(db)
        assert set(statuses) <= {WebhookStatus.PROCESSED, WebhookStatus.DUPLICATE}
        # The refresh of the second sync reads what the first one's did; the echoes
        # add no read and no write.
        assert _reads(store) == sync_reads
        assert len(store.writes) == writes
        echoes = [r for r in caplog.records if r.msg == "event.echo"]
        assert len(echoes) == statuses.count(WebhookStatus.PROCESSED)
