"""A run's plan (sync/plan.py): its calls from history, its minutes from its budgets,
and a plain warning when it cannot fit the night or the ERP's day."""

from __future__ import annotations

import math
from dataclasses import replace

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from models import ErpRead, ErpReadStatus, Site, SyncRun
from models.crypto import Vault
from models.db import transaction
from sync.batches import claim_batch, sync_batch
from sync.catalog import refresh_catalog
from sync.context import Context
from sync.limits import RESERVE
from sync.plan import plan_run
from sync.progress import run_progress
from sync.runs import RunKind, prepare_batches
from tests.support.stack import START, begun_run, run_row, sandbox_stack, set_rows


def _synced(ctx: Context, db: sessionmaker[Session], site_id: int) -> SyncRun:
    """A run of the site through its batches; its row."""
    run_id = begun_run(db, site_id)
    for batch_id in prepare_batches(ctx, run_id, START).batch_ids:
        with transaction(db) as session:
            claim = claim_batch(session, batch_id, delivery="test")
        assert claim is not None
        sync_batch(ctx, claim)
    return run_row(db, run_id)


def test_a_site_with_history_is_forecast_from_its_last_run_and_read(
    service: Context, db: sessionmaker[Session], vault: Vault
) -> None:
    with sandbox_stack(db, vault, "woocommerce", items=900, drift=0.3) as stack:
        last = _synced(service, db, stack.site_id)
        run_id = begun_run(db, stack.site_id)

        plan = plan_run(service, run_id)

    with db() as session:
        [read_pages] = session.scalars(select(ErpRead.pages)).all()
    assert last.catalog_pages > 0 and last.store_calls > 0
    assert (plan.store_calls, plan.erp_calls, plan.sharing) == (
        last.catalog_pages + last.store_calls,
        read_pages,
        1,
    )
    assert plan.fits and plan.erp_day_left is None  # Business Central caps no day
    assert plan.summary.startswith(f"store ~{plan.store_calls:,} calls (as run {last.id})")
    assert plan.summary.endswith("; fits")
    assert run_row(db, run_id).plan["summary"] == plan.summary


def test_a_read_past_what_the_erps_day_has_left_is_said_before_the_run(
    service: Context, db: sessionmaker[Session], vault: Vault
) -> None:
    """Zoho caps a day: 101 pages of a read against a cap of 50 cannot fit today."""
    with sandbox_stack(
        db, vault, "woocommerce", items=20, erp="zoho", source={"rate_limit_daily": 50}
    ) as stack:
        with transaction(db) as session:
            session.add(
                ErpRead(source_id=stack.source_id, status=ErpReadStatus.COMPLETE, pages=101)
            )
        run_id = begun_run(db, stack.site_id)

        plan = plan_run(service, run_id)

        with db() as session:
            warning = run_progress(session, run_id).plan_warning
    left = math.floor(50 * (1 - RESERVE))
    assert (plan.erp_calls, plan.erp_day_left, plan.fits) == (101, left, False)
    assert plan.summary.endswith(
        f"does not fit the ERP's budget for today ({left:,} calls left of what a full sync"
        " may use, ~101 needed): the read goes on when it frees"
    )
    assert warning == plan.summary


def test_a_store_too_slow_for_the_night_is_said_and_its_minutes_explained(
    service: Context, db: sessionmaker[Session], vault: Vault
) -> None:
    """A store allowing 10 requests a minute and 5,000 SKUs never synced: 50 pages and
    50 writes of 100 (the worst case, every SKU written) at 9 a minute (a tenth kept
    for real-time) is 11.1 minutes; at one every 10 minutes, longer than the night."""
    with sandbox_stack(db, vault, "woocommerce", items=5000, drift=0.0) as stack:
        with service.sessions() as session:
            site = session.get_one(Site, stack.site_id)
        refresh_catalog(service, site, service.storefront(site))
        set_rows(db, Site, [stack.site_id], rate_limit_requests=10, rate_limit_window_seconds=60)
        run_id = begun_run(db, stack.site_id)

        plan = plan_run(service, run_id)
        assert (plan.store_calls, plan.store_minutes, plan.fits) == (100, 11.1, True)
        assert "(5,000 SKUs, all written)" in plan.summary

        set_rows(db, Site, [stack.site_id], rate_limit_requests=1, rate_limit_window_seconds=600)
        slow = plan_run(service, run_id)
        set_rows(db, SyncRun, [run_id], kind=RunKind.FULL)
        nightly = plan_run(service, run_id)
        no_night = replace(service, settings=replace(service.settings, night_hours=0))
        unlimited = plan_run(no_night, run_id)
    assert slow.store_minutes == 100 * 10.0  # one call per 10 minutes
    assert not slow.fits and slow.summary.endswith(
        "longer than the 4 h night: it goes on at full-sync priority,"
        " real-time keeping its share of each budget"
    )
    # A nightly run stops at the night's end (sync/runs.py `hold_over`): 240 of 1,000
    # minutes tonight.
    assert not nightly.fits and nightly.summary.endswith(
        "longer than the 4 h night: about 24% of it tonight, the SKUs least recently"
        " synced first, and the next night begins with the rest"
    )
    # NIGHT_HOURS=0: nightly runs go on until done, and a long one fits.
    assert unlimited.fits and unlimited.summary.endswith("; fits")


def test_a_shopify_store_is_forecast_in_cost_points_at_its_plans_rate(
    service: Context, db: sessionmaker[Session], vault: Vault
) -> None:
    """600 SKUs never synced: the count (1 point), 3 pages of 802 and 3 writes of 10 are
    2,437 points. Learned from the shop's answers, a Plus shop restores 1,000 a second
    (900 for a full sync): 2.7 s. A shop not heard from yet is taken as Standard: 100 a
    second, 27 s. Past 1,000 variants the listing is one bulk operation: 2,000 SKUs are
    21 points of listing (count, run, 10 polls) and 8 writes, 101 in all."""
    with sandbox_stack(db, vault, "shopify", items=600, store={"plan": "plus"}) as stack:
        with service.sessions() as session:
            site = session.get_one(Site, stack.site_id)
        refresh_catalog(service, site, service.storefront(site))
        run_id = begun_run(db, stack.site_id)

        plus = plan_run(service, run_id)
        budget = service.points(site)
        assert budget is not None
        service.redis.delete(budget.key)
        unknown = plan_run(service, run_id)
    with sandbox_stack(db, vault, "shopify", items=2000, name="big") as stack:
        with service.sessions() as session:
            site = session.get_one(Site, stack.site_id)
        refresh_catalog(service, site, service.storefront(site))
        big = plan_run(service, begun_run(db, stack.site_id))

    assert (plus.store_calls, plus.store_points) == (6, 2437)
    assert plus.store_minutes == round(2437 / 900 / 60, 1)
    assert unknown.store_minutes == round(2437 / 90 / 60, 1) == 0.5
    assert "~6 calls (600 SKUs, all written), ~2,437 cost points, ~0.5 min" in unknown.summary
    assert big.store_points == 101
