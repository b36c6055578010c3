"""Full-sync runs through a real worker: start, batches, counts, closing, priorities."""

from __future__ import annotations

from celery import Celery
from sqlalchemy import select, update
from sqlalchemy.orm import Session, sessionmaker

from models import BatchStatus, Item, RunStatus, Site, SyncBatch
from models.crypto import Vault
from sync.context import Context
from sync.controls import pause, resume
from sync.runs import start_run
from tests.support.stack import run_row, sandbox_stack, sync_to_end, wait_for, workers
from workers import presets
from workers.broker import priority_for


def test_a_run_mirrors_the_catalog_syncs_the_changes_and_closes_itself(
    db: sessionmaker[Session], vault: Vault, celery_app: Celery, sync_ctx: Context
) -> None:
    with sandbox_stack(db, vault, "bigcommerce", items=1200, drift=0.2) as stack:
        drifted = stack.differing()
        with workers(celery_app):
            run = sync_to_end(celery_app, db, stack.site_id)
        assert stack.differing() == set()

    assert (run.status, run.total, run.batches_total, run.batches_pending) == (
        RunStatus.COMPLETED,
        1200,
        3,
        0,
    )
    assert (run.synced, run.unchanged, run.failed, run.skipped) == (
        len(drifted),
        1200 - len(drifted),
        0,
        0,
    )
    with db() as session:
        statuses = session.scalars(select(SyncBatch.status).where(SyncBatch.run_id == run.id))
        assert set(statuses) == {BatchStatus.COMPLETED}
        assert session.scalar(select(Item.id).where(Item.quantity.is_(None))) is None


def test_manual_runs_outrank_nightly_ones_and_events_outrank_both() -> None:
    assert priority_for("manual") == presets.PRIORITY_MANUAL_SYNC
    assert priority_for("full") == presets.PRIORITY_NIGHTLY_SYNC
    assert presets.PRIORITY_EVENT < presets.PRIORITY_MANUAL_SYNC < presets.PRIORITY_NIGHTLY_SYNC


def test_a_store_with_no_sku_completes_at_once(
    db: sessionmaker[Session], vault: Vault, celery_app: Celery, sync_ctx: Context
) -> None:
    with sandbox_stack(db, vault, "shopify", items=0) as stack, workers(celery_app):
        run = sync_to_end(celery_app, db, stack.site_id)
    assert (run.status, run.total, run.batches_total) == (RunStatus.COMPLETED, 0, 0)


def test_a_catalog_that_cannot_be_read_fails_the_run_with_the_reason(
    db: sessionmaker[Session], vault: Vault, celery_app: Celery, sync_ctx: Context
) -> None:
    with sandbox_stack(db, vault, "shopify", items=10) as stack, workers(celery_app):
        with db.begin() as session:
            session.execute(
                update(Site)
                .where(Site.id == stack.site_id)
                .values(credentials_sealed=vault.seal({"access_token": "wrong"}))
            )
        run = sync_to_end(celery_app, db, stack.site_id)
    assert run.status == RunStatus.FAILED and run.error is not None
    assert run.error.startswith("catalog refresh failed: PermanentError: shopify")
    assert "401" in run.error


def test_a_store_down_during_the_refresh_is_retried(
    db: sessionmaker[Session], vault: Vault, celery_app: Celery, sync_ctx: Context
) -> None:
    with sandbox_stack(db, vault, "shopify", items=700) as stack, workers(celery_app):
        stack.store.set_faults(outage=True)
        run_id = start_run(sync_ctx, stack.site_id)
        wait_for(lambda: stack.store.calls >= 8, what="failed catalog reads")
        stack.store.set_faults(outage=False)
        wait_for(lambda: run_row(db, run_id).status == RunStatus.COMPLETED)
        assert stack.differing() == set()


def test_a_run_paused_and_resumed_while_listing_lists_each_page_once(
    db: sessionmaker[Session], vault: Vault, celery_app: Celery, sync_ctx: Context
) -> None:
    """The start task still in its slice of time keeps listing; the start `resume`
    queues finds the listing held and stops (fails on 7c13251: both listed, side by
    side, from the place saved)."""
    store = {"latency_ms": 100}
    with sandbox_stack(db, vault, "woocommerce", items=4000, store=store) as stack:
        with workers(celery_app, concurrency=2):
            run_id = start_run(sync_ctx, stack.site_id)
            wait_for(lambda: run_row(db, run_id).catalog_pages >= 10, what="the first chunk")
            pause(sync_ctx, run_id)
            resume(sync_ctx, run_id)
            wait_for(lambda: run_row(db, run_id).status == RunStatus.COMPLETED, timeout=60)
        assert stack.differing() == set()
        listed = stack.store.route_calls["GET /wp-json/wc/v3/products"]
    run = run_row(db, run_id)
    assert listed == run.catalog_pages == run.catalog_pages_of
