"""Four workers share one store's quota: the store never answers 429.

A BigCommerce sandbox enforcing 20 requests per 2 s (the shape of its real 150 per
30 s, docs/platforms.md section 4, shrunk to keep the test short) and four worker threads
syncing small batches, so that far more requests are wanted than one window allows.
"""

from __future__ import annotations

from dataclasses import replace

import pytest
from sqlalchemy.orm import Session, sessionmaker

from models import RunStatus
from models.crypto import Vault
from settings import Settings
from sync.catalog import CHUNK
from tests.support.stack import FAST, installed_context, sandbox_stack, sync_to_end, workers
from workers.app import make_celery

QUOTA = (20, 2.0)


@pytest.mark.slow
def test_four_workers_stay_under_the_stores_quota(
    db: sessionmaker[Session], vault: Vault, settings: Settings, redis_client: object
) -> None:
    settings = replace(settings, batch_size=50)  # 40 batches, 40 writes, 4 at a time
    app = make_celery(settings)
    limit = {
        "rate_limit_requests": QUOTA[0],
        "rate_limit_window_seconds": int(QUOTA[1]),
        "rate_limit_concurrency": 4,
    }
    with (
        sandbox_stack(
            db, vault, "bigcommerce", items=2000, drift=0.3, store={"rate_limit": QUOTA}, site=limit
        ) as stack,
        installed_context(settings, **FAST),
        workers(app, concurrency=4),
    ):
        drifted = stack.differing()
        run = sync_to_end(app, db, stack.site_id)

        assert stack.store.rejected_429 == 0
        assert stack.store.calls >= 2 * QUOTA[0]  # the quota had to be waited for
        assert stack.differing() == set()

    assert (run.status, run.synced) == (RunStatus.COMPLETED, len(drifted))


@pytest.mark.slow
def test_a_catalog_listed_by_several_tasks_goes_on_where_each_stopped(
    db: sessionmaker[Session], vault: Vault, settings: Settings, redis_client: object
) -> None:
    """Issue 22, item 3: with no time to list (a slice of 0 s), every start task lists
    one chunk, saves its place and queues the next. Listing again from page 1 would
    never end; each chunk's place makes the run finish, with every SKU in step."""
    app = make_celery(settings)
    with (
        sandbox_stack(db, vault, "woocommerce", items=2500, drift=0.2) as stack,
        installed_context(settings, **FAST, listing_slice_seconds=0.0),
        workers(app),
    ):
        drifted = stack.differing()
        run = sync_to_end(app, db, stack.site_id)

        assert (run.status, run.synced, run.total) == (RunStatus.COMPLETED, len(drifted), 2500)
        assert stack.differing() == set()
    # 2,500 SKUs in chunks of at least 1,000 (CHUNK): at most three tasks, each after
    # the first re-reading the page it resumed at (woocommerce.py `iter_pages`).
    pages = run.catalog_pages_of
    assert pages is not None and run.catalog_resume is None
    assert pages < run.catalog_pages <= pages + 2500 // CHUNK
