"""20,000 SKUs per platform, end to end over HTTP: ERP sandbox, store sandbox, a real
worker, real PostgreSQL and Redis. The store ends equal to the ERP, counts are exact,
the store gets exactly the write requests the changes need, and none the second time."""

from __future__ import annotations

import pytest
from sqlalchemy.orm import Session, sessionmaker

from connectors.registry import storefront_class
from models import RunStatus
from models.crypto import Vault
from settings import Settings
from tests.support.stack import (
    FAST,
    expected_write_calls,
    installed_context,
    sandbox_stack,
    sync_to_end,
    workers,
)
from workers.app import make_celery

ITEMS = 20_000


@pytest.mark.slow
@pytest.mark.parametrize("platform", ["woocommerce", "bigcommerce", "shopify"])
def test_twenty_thousand_skus_end_equal_to_the_erp_with_the_fewest_writes(
    platform: str, db: sessionmaker[Session], vault: Vault, settings: Settings, redis_client: object
) -> None:
    app = make_celery(settings)
    batch_limit = storefront_class(platform).batch_limit
    with (
        sandbox_stack(db, vault, platform, items=ITEMS, drift=0.1) as stack,
        installed_context(settings, **FAST),
        workers(app, concurrency=2),
    ):
        drifted = stack.differing()
        assert 1500 < len(drifted) < 2500  # the seed's 10 % drift

        run = sync_to_end(app, db, stack.site_id)
        writes_first = len(stack.store.writes)
        again = sync_to_end(app, db, stack.site_id)
        writes_second = len(stack.store.writes) - writes_first

        assert stack.differing() == set()
        assert run.status == RunStatus.COMPLETED
        assert (run.total, run.synced, run.unchanged, run.failed) == (
            ITEMS,
            len(drifted),
            ITEMS - len(drifted),
            0,
        )
        assert writes_first == run.store_calls
        assert writes_first == expected_write_calls(db, run.id, drifted, platform, batch_limit)
        assert (again.status, again.synced, again.unchanged) == (RunStatus.COMPLETED, 0, ITEMS)
        assert writes_second == again.store_calls == 0
