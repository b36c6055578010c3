"""A Shopify full sync of a catalog past Shopify's 25,000-object pagination cap, at the
Standard plan's cost points, listed by a bulk operation (connectors/shopify_bulk.py).

Cursor pages stop at 25,000 variants, and 130 pages of 200 would ask for 104,260 points,
17 minutes of the Standard plan's 100 a second; one bulk operation costs a count, a run
and its polls. The file is read a line at a time, and a listing cut into several tasks
goes on at each one's line of the same file.
"""

from __future__ import annotations

import pytest
from sqlalchemy.orm import Session, sessionmaker

from models import RunStatus
from models.crypto import Vault
from sandbox.shopify.state import ShopifyState
from settings import Settings
from sync.catalog import CHUNK
from tests.support.stack import FAST, installed_context, sandbox_stack, sync_to_end, workers
from workers.app import make_celery

FILE = "GET /_files/bulk/<token>.jsonl"


@pytest.mark.slow
def test_a_standard_shop_past_25000_variants_is_synced_whole(
    db: sessionmaker[Session], vault: Vault, settings: Settings, redis_client: object
) -> None:
    """On 0f46d18 this cannot finish: 125 pages at 802 points (17 min of Standard's
    restore), then the cap's error, which is permanent."""
    app = make_celery(settings)
    with (
        sandbox_stack(
            db, vault, "shopify", items=26_000, drift=0.1, store={"plan": "standard"}
        ) as stack,
        installed_context(settings, **FAST),
        workers(app, concurrency=2),
    ):
        drifted = stack.differing()
        run = sync_to_end(app, db, stack.site_id)

        shop = stack.store
        assert isinstance(shop, ShopifyState)
        assert shop.rejected_429 == 0
        assert stack.differing() == set()
        assert shop.bulk.started == 1
        assert shop.route_calls[FILE] == 1  # the file read once, each line once
    assert (run.status, run.synced, run.total) == (RunStatus.COMPLETED, len(drifted), 26_000)
    assert run.catalog_pages == run.catalog_pages_of == 130


@pytest.mark.slow
def test_a_bulk_listing_cut_into_tasks_goes_on_at_each_ones_line(
    db: sessionmaker[Session], vault: Vault, settings: Settings, redis_client: object
) -> None:
    """With no time to list (a slice of 0 s) each start task lists one chunk of the
    file and saves its line: one operation, no page listed twice."""
    app = make_celery(settings)
    with (
        sandbox_stack(db, vault, "shopify", items=3_000, drift=0.2) as stack,
        installed_context(settings, **FAST, listing_slice_seconds=0.0),
        workers(app),
    ):
        drifted = stack.differing()
        run = sync_to_end(app, db, stack.site_id)

        shop = stack.store
        assert isinstance(shop, ShopifyState)
        assert stack.differing() == set()
        assert shop.bulk.started == 1
        tasks = shop.route_calls[FILE]
    assert (run.status, run.synced, run.total) == (RunStatus.COMPLETED, len(drifted), 3_000)
    assert 2 <= tasks <= 3_000 // CHUNK  # one download per task, each from its line
    assert run.catalog_pages == run.catalog_pages_of == 15 and run.catalog_resume is None
