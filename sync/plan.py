"""A run's plan: its platform calls forecast against its budgets as it starts.

Why (issue 22, item 2): a run that cannot fit its budgets used to show `0/0` for
minutes, then fail after its retries, and nobody knew before. Each run now forecasts,
as its start task begins it, how many calls it makes of its store and of its ERP, how
long its budgets make those take, and whether that fits: said in the log
(`sync.run.plan`), on the run (`sync_runs.plan`, in the API, `stocksync sync` and the
dashboard).

Every number is explainable, from history where there is some:
- **Store calls**: the site's last finished run's listing pages and write calls
  (`sync_runs.catalog_pages`, `store_calls`); with none, its active SKUs over the
  platform's page size, and a write for every SKU (the worst case: a first sync).
- **ERP calls**: the pages of the source's last complete shared read
  (sync/erp_reads.py); with none, the source's SKUs over the ERP's page size. A read
  is shared by the runs of a wave: the forecast names them, and counts the read once.
- **Minutes**: calls over what a full sync may use of each budget (all but its
  real-time reserve, `sync.limits.RESERVE`), the two budgets side by side: the longer
  decides. A store that limits by cost points (Shopify) is forecast in points too,
  each call at the price its connector pays, over the shop's restore rate
  (sync/cost_points.py): at Standard's 100 a second a 200-variant page takes 8.9 s, and
  a catalog past 1,000 variants is one bulk operation of about 20 points.
- **Fits**: within the night (`Settings.night_hours`, 4 by default; 0, no limit), and,
  where the ERP caps a day (Zoho), within what today's budget has left. What happens
  otherwise is said too: a nightly run longer than the night syncs about the share of
  its SKUs the night allows, those least recently reconciled first, and the next night
  begins with the rest (sync/runs.py `hold_over`); a manual one goes on at full-sync
  priority, real-time keeping its share; a read past the day's budget keeps its place
  and goes on when the budget frees.
"""

from __future__ import annotations

import logging
import math
from dataclasses import asdict, dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import Session, joinedload

from connectors import (
    bigcommerce,
    businesscentral,
    shopify,
    shopify_bulk,
    shopify_variants,
    woocommerce,
    zoho,
)
from connectors.shopify_cost import MUTATION_COST
from models import ErpRead, ErpReadStatus, Item, Platform, RunStatus, Site, SourceKind, SyncRun
from models.db import transaction
from sync.context import Context
from sync.limits import RESERVE, Priority, Quota, quota_for
from sync.runs import RunKind

log = logging.getLogger(__name__)

#: A store's (listing page size, SKUs per write call), for a site without history.
STORE_GEOMETRY = {
    Platform.WOOCOMMERCE: (woocommerce.PAGE_SIZE, woocommerce.WooCommerceStore.batch_limit),
    Platform.BIGCOMMERCE: (bigcommerce.PAGE_LIMIT, bigcommerce.BATCH_LIMIT),
    Platform.SHOPIFY: (shopify.PAGE_SIZE, shopify.BATCH_LIMIT),
}
#: A store limited by cost points: (points of a listing page, of a write call), from
#: the prices its connector pays (connectors/shopify_cost.py).
#: Polls a bulk listing is forecast at: how fast Shopify runs an operation is UNCONFIRMED;
#: polled at 0.5 s doubling to 2 s (connectors/shopify_bulk.py), 10 polls wait about 16 s.
BULK_POLLS = 10
#: An ERP's items per listing page, for a source never read.
ERP_PAGE = {SourceKind.BUSINESSCENTRAL: businesscentral.PAGE_SIZE, SourceKind.ZOHO: zoho.PER_PAGE}


@dataclass(frozen=True)
class Plan:
    store_calls: int
    store_minutes: float
    erp_calls: int
    erp_minutes: float
    #: Runs of the source sharing the ERP read (this one included).
    sharing: int
    #: What the ERP's daily cap leaves a full sync today; None where there is no cap.
    erp_day_left: int | None
    fits: bool
    #: The plan in one line, as the log and every door show it.
    summary: str
    #: The store's cost points where it limits by them (Shopify); None elsewhere.
    store_points: int | None = None


def plan_run(ctx: Context, run_id: int) -> Plan:
    """Forecast the run's calls and time (module docstring) and record it on the run."""
    with ctx.sessions() as session:
        run = session.get_one(SyncRun, run_id)
        nightly = run.kind == RunKind.FULL
        site = session.get_one(Site, run.site_id, options=[joinedload(Site.source)])
        pages, writes, store_basis = _store_calls(session, site)
        erp_calls, erp_basis = _erp_calls(session, site)
        sharing = _sharing(session, site.source_id)
    erp_quota = quota_for(site.source)
    day_left = None
    if erp_quota.daily is not None:
        used = ctx.limit(site.source, Priority.BULK).usage().in_day or 0
        day_left = max(0, math.floor(erp_quota.daily * (1 - RESERVE)) - used)
    store_calls = pages + writes
    store_minutes = _minutes(store_calls, quota_for(site))
    store_points, points_minutes = _points(ctx, site, pages, writes)
    store_minutes = max(store_minutes, points_minutes)
    erp_minutes = _minutes(erp_calls, erp_quota)
    night = ctx.settings.night_hours
    longest = max(store_minutes, erp_minutes)
    over_night = bool(night) and longest > night * 60
    over_day = day_left is not None and erp_calls > day_left
    plan = Plan(
        store_calls=store_calls,
        store_minutes=round(store_minutes, 1),
        erp_calls=erp_calls,
        erp_minutes=round(erp_minutes, 1),
        sharing=sharing,
        erp_day_left=day_left,
        fits=not (over_night or over_day),
        summary=_summary(
            f"~{store_calls:,} calls ({store_basis})"
            + ("" if store_points is None else f", ~{store_points:,} cost points"),
            store_minutes,
            erp_calls,
            erp_basis,
            erp_minutes,
            sharing,
        )
        + (
            _over_day(day_left or 0, erp_calls)
            if over_day
            else _over_night(night, nightly, night * 60 / longest)
            if over_night
            else "; fits"
        ),
        store_points=store_points,
    )
    with transaction(ctx.sessions) as session:
        session.get_one(SyncRun, run_id).plan = asdict(plan)
    extra = {"run": run_id, "site": site.id, "fits": plan.fits, "plan": plan.summary}
    (log.info if plan.fits else log.warning)("sync.run.plan", extra=extra)
    return plan


def _store_calls(session: Session, site: Site) -> tuple[int, int, str]:
    """(listing pages, write calls, where the figures come from) for the site's store."""
    last = session.scalars(
        select(SyncRun)
        .where(
            SyncRun.site_id == site.id,
            SyncRun.status == RunStatus.COMPLETED,
            SyncRun.catalog_pages > 0,
        )
        .order_by(SyncRun.id.desc())
        .limit(1)
    ).first()
    if last is not None:
        return last.catalog_pages, last.store_calls, f"as run {last.id}"
    skus = session.scalar(select(func.count()).where(Item.site_id == site.id, Item.active)) or 0
    if not skus:
        return 0, 0, "its catalog not listed yet"
    page, write = STORE_GEOMETRY[Platform(site.platform)]
    return math.ceil(skus / page), math.ceil(skus / write), f"{skus:,} SKUs, all written"


def _points(ctx: Context, site: Site, pages: int, writes: int) -> tuple[int | None, float]:
    """(cost points, minutes at what a full sync may use of the shop's restore rate)
    where the store limits by cost points; (None, 0.0) elsewhere. The rate is the one
    learned from the shop's answers (sync/cost_points.py), else its plan's default."""
    budget = ctx.points(site, Priority.BULK)
    if budget is None:
        return None, 0.0
    points = _shopify_listing_points(pages) + writes * MUTATION_COST
    return points, points / (budget.usage().restore_rate * (1 - RESERVE)) / 60


def _shopify_listing_points(pages: int) -> int:
    """A Shopify catalog listing's points: its pages at 802 each up to
    `shopify_bulk.BULK_ABOVE` variants, else one bulk operation, run and polled."""
    if pages * shopify_variants.PAGE_SIZE > shopify_bulk.BULK_ABOVE:
        return shopify_bulk.COUNT_COST + shopify_bulk.RUN_COST + BULK_POLLS * shopify_bulk.POLL_COST
    return shopify_bulk.COUNT_COST + pages * shopify.CATALOG_COST


def _erp_calls(session: Session, site: Site) -> tuple[int, str]:
    """(calls, where the figure comes from) for the source's shared read."""
    pages = session.scalars(
        select(ErpRead.pages)
        .where(ErpRead.source_id == site.source_id, ErpRead.status == ErpReadStatus.COMPLETE)
        .order_by(ErpRead.id.desc())
        .limit(1)
    ).first()
    if pages:
        return pages, "as its last read"
    skus = (
        session.scalar(
            select(func.count(func.distinct(Item.sku)))
            .join(Site, Site.id == Item.site_id)
            .where(Site.source_id == site.source_id, Item.active)
        )
        or 0
    )
    if not skus:
        return 0, "never read, its SKUs not known yet"
    return math.ceil(skus / ERP_PAGE[SourceKind(site.source.kind)]), f"{skus:,} SKUs"


def _sharing(session: Session, source_id: int) -> int:
    """The source's runs without batches yet: the wave that shares one read."""
    return (
        session.scalar(
            select(func.count())
            .select_from(SyncRun)
            .join(Site, Site.id == SyncRun.site_id)
            .where(
                Site.source_id == source_id,
                SyncRun.status.in_((RunStatus.QUEUED, RunStatus.RUNNING)),
                SyncRun.batches_total == 0,
            )
        )
        or 1
    )


def _minutes(calls: int, quota: Quota) -> float:
    """How long `calls` take at what a full sync may use of `quota`."""
    per_window = max(1, math.floor(quota.requests * (1 - RESERVE)))
    return calls / per_window * quota.window_seconds / 60


def _summary(
    store: str,
    store_minutes: float,
    erp_calls: int,
    erp_basis: str,
    erp_minutes: float,
    sharing: int,
) -> str:
    shared = f", shared by {sharing} runs" if sharing > 1 else ""
    return (
        f"store {store}, ~{store_minutes:,.1f} min;"
        f" ERP ~{erp_calls:,} calls ({erp_basis}{shared}), ~{erp_minutes:,.1f} min"
    )


def _over_day(day_left: int, erp_calls: int) -> str:
    return (
        f"; does not fit the ERP's budget for today ({day_left:,} calls left of what a"
        f" full sync may use, ~{erp_calls:,} needed): the read goes on when it frees"
    )


def _over_night(hours: float, nightly: bool, share: float) -> str:
    """What a run longer than the night does: a nightly one syncs `share` of its SKUs
    and leaves the rest to the next night (sync/runs.py `hold_over`)."""
    if nightly:
        return (
            f"; longer than the {hours:g} h night: about {share:.0%} of it tonight, the SKUs"
            " least recently synced first, and the next night begins with the rest"
        )
    return (
        f"; longer than the {hours:g} h night: it goes on at full-sync priority,"
        " real-time keeping its share of each budget"
    )
