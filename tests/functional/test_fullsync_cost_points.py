"""A Shopify full sync at the Standard plan's cost points: never throttled.

The sandbox shop keeps Shopify's cost bucket for the Standard plan (100 points a second,
sandbox.shopify.cost); three 200-variant catalog pages ask for 802 points each, so the
listing alone needs 1.4 bucketfuls. Two workers list and write through one shared
points budget (sync/cost_points.py): Shopify never answers THROTTLED, and every SKU
ends in step.
"""

from __future__ import annotations

import pytest
from sqlalchemy.orm import Session, sessionmaker

from models import RunStatus
from models.crypto import Vault
from settings import Settings
from tests.support.stack import FAST, installed_context, sandbox_stack, sync_to_end, workers
from workers.app import make_celery


@pytest.mark.slow
def test_a_standard_shop_is_synced_inside_its_cost_points(
    db: sessionmaker[Session], vault: Vault, settings: Settings, redis_client: object
) -> None:
    app = make_celery(settings)
    with (
        sandbox_stack(
            db, vault, "shopify", items=600, drift=0.3, store={"plan": "standard"}
        ) as stack,
        installed_context(settings, **FAST),
        workers(app, concurrency=2),
    ):
        drifted = stack.differing()
        run = sync_to_end(app, db, stack.site_id)

        assert stack.store.rejected_429 == 0
        assert stack.differing() == set()
    assert (run.status, run.synced, run.total) == (RunStatus.COMPLETED, len(drifted), 600)
    assert run.catalog_pages == 3  # each page listed once
