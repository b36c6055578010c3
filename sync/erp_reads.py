"""Reading the ERP's stock: live for what happens now, shared for a cycle's full syncs.

Live (`read_erp`, `read_stock`): a webhook, a store order, the change feed ask the ERP
for the SKUs they name, at once.

Shared (`share_read`, `readings_for`): each ERP is read once per cycle, its readings
used by every full-sync run of the source. Why (issue 22, item 2): each full-sync
batch read its 500 SKUs from the ERP itself. On Zoho, which has no multi-SKU filter,
that was the whole item list per batch: 20,000 items cost 40 batches x 100 pages, more
than a day's quota on most plans. And each site of a source read the ERP for itself,
so 50 sites cost 50 reads of one ERP inside one budget. Now a source's runs share one
listing, `erp_reads`, and each batch takes its SKUs' readings from it
(`erp_readings`): one read of the ERP per cycle, however many sites and batches.

Which read serves a run (`share_read`, called by the run's start task while its catalog
lists, and again once it is listed if another run was reading it):
- One of the source that started after the run was created: every reading a run
  writes was taken after it was asked for, so a run reconciles with the ERP as it is
  then, never with an older read. The runs of one wave (the nightly beat's at 02:00,
  "sync all") are all created before the first of them starts a read, and share it;
  a run created while a read goes on waits for it, then reads anew.
- Complete: the run names it (`sync_runs.erp_read_id`) and cuts its batches.
- Being read, its lease held by another run: this run waits, its start task queued
  again after `Context.erp_read_poll_seconds`; the run's progress says whose read and
  which page. The run that completes the read queues the start task of every run
  waiting at once (`_wake`): the look after the poll is only the fallback.
- Being read, its lease lapsed (its holder was killed, paused, or sits in the queue):
  this run takes it over, bumping its token, and goes on from its place.
- None: this run creates one and reads it. One read per source is being read at a time
  (a partial unique index); one that does not serve this run is waited for, or, its
  holder gone, abandoned first.

Reading: the source's open store orders are settled first (sync/reservations.py: a
reading stops counting an order the ERP absorbed only if it was taken after that was
noted), then pages are read from the saved place. Each page's readings, its place and
a renewed lease commit together, and only under the holder's token: a read survives a
kill at any line, and a holder whose lease was taken writes nothing. Past its deadline
a holder stops after a page; its start task goes on at once. Memory holds one page.

Using it (`readings_for`, a batch's readings): the read's readings of the batch's SKUs
are as fresh as their page (`SourceItem.read_at`): a newer reading already applied (a
webhook's) wins over them in sync/push.py, so a shared read never re-inflates a store.
A SKU the listing lacks is asked of the ERP live only if the ERP once had it
(`items.erp_read_at` set): an ERP that pages by number over a moving list can skip an
item, and "gone from the ERP" sells a SKU as 0 (sync/push.py), which one skipped row
must never do. A SKU the ERP never had is unlisted without a call.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from psycopg2.extras import Json
from sqlalchemy import delete, func, select, update
from sqlalchemy.orm import Session

from connectors.interfaces import InventorySource
from connectors.types import ItemPage, SourceItem
from models import ErpRead, ErpReading, ErpReadStatus, Item, RunStatus, Site, SyncRun
from models.db import execute_rows, transaction
from sync.context import Context
from sync.errors import Unavailable
from sync.limits import BudgetExhausted
from sync.reservations import settle_orders

log = logging.getLogger(__name__)

#: How long a holder keeps a read without committing a page before another run may
#: take it over: several pages' worth at a budget's slowest (Zoho's 100 a minute), and
#: the time a start task queued again may wait behind others.
LEASE_SECONDS = 120
#: Longest a run waits for an ERP's daily budget before looking again: well inside the
#: broker's visibility timeout (celeryconfig.py, 1 h), past which a countdown message
#: would be handed out twice.
MAX_PAUSE_SECONDS = 900.0
#: Reads finished (or abandoned) longer ago than this are deleted with their readings.
KEEP_DAYS = 2


def read_erp(
    ctx: Context, erp: InventorySource, source_id: int, skus: Sequence[str]
) -> list[SourceItem]:
    """The ERP's readings of `skus`, and an unlisted reading for each SKU it does not
    list (0 on every basis), dated by the database's clock just before the question
    (`SourceItem`). What the ERP did with the store orders open on them is noted
    first, so these readings stop counting what it absorbed (sync/reservations.py)."""
    settle_orders(ctx, erp, source_id, skus)
    return read_stock(ctx, erp, skus)


def read_stock(ctx: Context, erp: InventorySource, skus: Sequence[str]) -> list[SourceItem]:
    """`read_erp` for a caller that has just noted what the ERP did with the open store
    orders on `skus` itself (sync/store_orders.py)."""
    asked_at = ctx.clock()
    found = erp.get_quantities(skus)
    unlisted = [
        SourceItem(sku, 0, "", asked_at, listed=False, available_for_sale=0)
        for sku in skus
        if sku not in found
    ]
    return [*found.values(), *unlisted]


@dataclass(frozen=True)
class Shared:
    """Where a run stands with its source's read."""

    #: The complete read the run's batches take their readings from, once there is one.
    read_id: int | None = None
    #: Not complete yet: the start task is queued again after this many seconds (0: the
    #: run's own reading used its slice and goes on at once).
    again_in: float | None = None


@dataclass(frozen=True)
class _Take:
    read_id: int
    complete: bool = False
    #: This run holds the read under this token and reads it; None: it waits.
    token: int | None = None
    settled: bool = False
    resume: str | None = None
    #: Seconds a waiting run need not look again: its holder waits for the ERP's budget.
    idle: float = 0.0


def share_read(ctx: Context, run_id: int, erp: InventorySource, deadline: float) -> Shared:
    """The run's read of its source: found, taken over, created and read, or waited
    for (module docstring). Reads pages until done or past `deadline` (a
    `time.monotonic()` value). Connector errors rise to the start task, whose retry
    goes on from the place committed."""
    with transaction(ctx.sessions) as session:
        take = _take(session, run_id)
    if take.complete:
        return Shared(read_id=take.read_id)
    if take.token is None:
        return Shared(again_in=max(ctx.erp_read_poll_seconds, min(take.idle, MAX_PAUSE_SECONDS)))
    try:
        unfinished = _read(ctx, take, erp, deadline)
    except BudgetExhausted as exc:
        # The ERP's day is used up: the read keeps its place and its holder, and goes
        # on when the budget frees (looking again at least every `MAX_PAUSE_SECONDS`,
        # inside the broker's visibility timeout), not after the task's retries fail
        # the run. Runs waiting for it say why.
        pause = min(exc.retry_after or MAX_PAUSE_SECONDS, MAX_PAUSE_SECONDS)
        with transaction(ctx.sessions) as session:
            _renew(session, take, lease=pause + LEASE_SECONDS, error=str(exc))
        log.warning("sync.erp_read.budget_used_up", extra={"run": run_id, "read": take.read_id})
        return Shared(again_in=pause)
    if unfinished is not None:
        return unfinished
    with transaction(ctx.sessions) as session:
        # The run's row before the read's, the order `_take` locks them in.
        run = session.get_one(SyncRun, run_id, with_for_update=True)
        # Counted, not summed by page: a page read again on resuming counts once.
        items = select(func.count()).where(ErpReading.read_id == take.read_id).scalar_subquery()
        complete = ErpReadStatus.COMPLETE
        if not _renew(session, take, status=complete, finished_at=func.now(), items=items):
            return Shared(again_in=ctx.erp_read_poll_seconds)
        run.erp_read_id = take.read_id
        waiting = _waiting(session, run)
    log.info(
        "sync.erp_read.complete",
        extra={"run": run_id, "read": take.read_id, "waking": [id_ for id_, _ in waiting]},
    )
    _wake(ctx, waiting)
    return Shared(read_id=take.read_id)


def _waiting(session: Session, run: SyncRun) -> list[tuple[int, str]]:
    """(run id, kind) of the source's other runs waiting for a read: running, their
    catalog listed, no read and no batches yet. A run still listing its catalog is not
    one: its start task is at work, and comes to the read by itself."""
    source_id = select(Site.source_id).where(Site.id == run.site_id).scalar_subquery()
    rows = session.execute(
        select(SyncRun.id, SyncRun.kind)
        .join(Site, Site.id == SyncRun.site_id)
        .where(
            Site.source_id == source_id,
            SyncRun.id != run.id,
            SyncRun.status == RunStatus.RUNNING,
            SyncRun.catalog_listed_at.is_not(None),
            SyncRun.erp_read_id.is_(None),
            SyncRun.batches_total == 0,
        )
        .order_by(SyncRun.id)
    ).all()
    return [(row.id, row.kind) for row in rows]


def _wake(ctx: Context, waiting: list[tuple[int, str]]) -> None:
    """Queue the start task of each run that waited for the read now complete, so it
    cuts its batches now rather than at its next look (`erp_read_poll_seconds`). A run
    created after the read began finds it too old and starts the next one. A start
    task queued twice does the work once (sync/runs.py `begin_run`, `cut_batches`)."""
    for run_id, kind in waiting:
        try:
            ctx.broker.queue_start(run_id, kind)
        except Unavailable:
            # The broker is down: the waiting runs' own looks, already queued, are the
            # fallback; the read is complete, and this run goes on.
            log.warning("sync.erp_read.wake_failed", extra={"runs": [id_ for id_, _ in waiting]})
            return


def _read(ctx: Context, take: _Take, erp: InventorySource, deadline: float) -> Shared | None:
    """Settle the source's open orders if not yet done, then read pages from the
    read's place: None once the last page is committed, else what the run waits for."""
    lost = Shared(again_in=ctx.erp_read_poll_seconds)
    if not take.settled:
        with ctx.sessions() as session:
            source_id = session.get_one(ErpRead, take.read_id).source_id
        settle_orders(ctx, erp, source_id, None)
        with transaction(ctx.sessions) as session:
            if not _renew(session, take, settled_at=func.now()):
                return lost
    for page in erp.iter_item_pages(take.resume):
        with transaction(ctx.sessions) as session:
            if not _commit_page(session, take, page):
                return lost
        if page.resume is not None and time.monotonic() >= deadline:
            return Shared(again_in=0.0)
    return None


def _take(session: Session, run_id: int) -> _Take:
    """Which read serves the run, and whether this run reads it (module docstring);
    decided under a lock per source, so two runs never both create or take one."""
    run = session.get_one(SyncRun, run_id, with_for_update=True)
    if run.erp_read_id is not None:
        return _Take(run.erp_read_id, complete=True)
    source_id = session.scalars(select(Site.source_id).where(Site.id == run.site_id)).one()
    session.execute(
        select(func.pg_advisory_xact_lock(func.hashtextextended(f"erp_read:{source_id}", 0)))
    )
    now: datetime = session.execute(select(func.now())).scalar_one()
    serving = session.scalars(
        select(ErpRead)
        .where(
            ErpRead.source_id == source_id,
            ErpRead.status != ErpReadStatus.ABANDONED,
            ErpRead.started_at >= run.created_at,
        )
        .order_by(ErpRead.id.desc())
        .limit(1)
    ).first()
    if serving is not None and serving.status == ErpReadStatus.COMPLETE:
        run.erp_read_id = serving.id
        return _Take(serving.id, complete=True)
    live = (
        serving
        or session.scalars(
            select(ErpRead).where(
                ErpRead.source_id == source_id, ErpRead.status == ErpReadStatus.READING
            )
        ).first()
    )
    if live is not None:
        lease_left = (live.lease_expires_at - now).total_seconds() if live.lease_expires_at else 0
        if lease_left > 0 and live.holder_run_id != run_id:
            return _Take(live.id, idle=lease_left if live.error else 0.0)
        if live is serving:
            return _hold(live, run_id, now)
        live.status, live.finished_at = ErpReadStatus.ABANDONED, now
        session.flush()
        log.warning("sync.erp_read.abandoned", extra={"read": live.id, "run": run_id})
    read = ErpRead(source_id=source_id, status=ErpReadStatus.READING, token=0)
    session.add(read)
    session.flush()
    return _hold(read, run_id, now)


def _hold(read: ErpRead, run_id: int, now: datetime) -> _Take:
    """Make `run_id` the read's holder under a new token."""
    read.token += 1
    read.holder_run_id = run_id
    read.lease_expires_at = now + timedelta(seconds=LEASE_SECONDS)
    return _Take(read.id, token=read.token, settled=read.settled_at is not None, resume=read.resume)


def _renew(
    session: Session, take: _Take, *, lease: float = LEASE_SECONDS, **values: object
) -> bool:
    """Renew the holder's lease for `lease` seconds with `values`, if its token still
    holds the read."""
    renewed = session.execute(
        update(ErpRead)
        .where(
            ErpRead.id == take.read_id,
            ErpRead.token == take.token,
            ErpRead.status == ErpReadStatus.READING,
        )
        .values(
            **values,
            lease_expires_at=func.now() + timedelta(seconds=lease),
            updated_at=func.now(),
        )
        .returning(ErpRead.id)
    ).first()
    return renewed is not None


def _commit_page(session: Session, take: _Take, page: ItemPage) -> bool:
    """A page's readings and the place after it, under the holder's token."""
    rows = {item.sku: _row(take.read_id, item) for item in page.items}
    if not _renew(
        session,
        take,
        resume=page.resume,
        pages=ErpRead.pages + 1,
        items=ErpRead.items + len(rows),
        error=None,
    ):
        return False
    if rows:
        execute_rows(session, _UPSERT_READINGS, list(rows.values()))
    return True


#: A page's readings; a SKU read again (a page read twice) has its reading replaced.
_UPSERT_READINGS = """
    INSERT INTO erp_readings
        (read_id, sku, quantity, available_for_sale, item_id, read_at, locations)
    VALUES %s
    ON CONFLICT (read_id, sku) DO UPDATE SET
        quantity = excluded.quantity, available_for_sale = excluded.available_for_sale,
        item_id = excluded.item_id, read_at = excluded.read_at, locations = excluded.locations
"""


def _row(read_id: int, item: SourceItem) -> tuple[object, ...]:
    """The reading's values in `_UPSERT_READINGS`' order."""
    locations = (
        None
        if item.locations is None
        else Json({place: list(figures) for place, figures in item.locations.items()})
    )
    return (
        read_id,
        item.sku,
        item.quantity,
        item.available_for_sale,
        item.item_id,
        item.read_at,
        locations,
    )


def readings_for(
    ctx: Context, erp: InventorySource, site_id: int, read_id: int | None, skus: Sequence[str]
) -> list[SourceItem]:
    """The readings of a batch's `skus`: from the run's read, and from the ERP for a
    SKU the read lacks that the ERP once had (module docstring). A run without a read
    (one started before reads were shared) asks the ERP for all of them."""
    if read_id is None:
        return read_stock(ctx, erp, skus)
    with ctx.sessions() as session:
        started = session.get_one(ErpRead, read_id).started_at
        found = {
            row.sku: _item(row)
            for row in session.scalars(
                select(ErpReading).where(ErpReading.read_id == read_id, ErpReading.sku.in_(skus))
            )
        }
        missing = [sku for sku in skus if sku not in found]
        once_had = set(
            session.scalars(
                select(Item.sku).where(
                    Item.site_id == site_id, Item.sku.in_(missing), Item.erp_read_at.is_not(None)
                )
            )
        )
    asked = read_stock(ctx, erp, sorted(once_had)) if once_had else []
    never = [
        SourceItem(sku, 0, "", started, listed=False, available_for_sale=0)
        for sku in missing
        if sku not in once_had
    ]
    return [*found.values(), *asked, *never]


def _item(row: ErpReading) -> SourceItem:
    locations = (
        None
        if row.locations is None
        else {place: (figures[0], figures[1]) for place, figures in row.locations.items()}
    )
    return SourceItem(
        row.sku,
        row.quantity,
        row.item_id,
        row.read_at,
        available_for_sale=row.available_for_sale,
        locations=locations,
    )


def read_activity(session: Session, run: SyncRun, *, own: bool = False) -> str | None:
    """What a run whose catalog is listed does until its batches are cut: read its
    source, or wait for the run that does, at which page of about how many (the
    source's last complete read's). With `own` (a run still listing its catalog, which
    reads its source meanwhile: sync/runs.py `prepare_batches`), only the read it
    holds, else None."""
    source_id = session.scalars(select(Site.source_id).where(Site.id == run.site_id)).one()
    of_source = ErpRead.source_id == source_id
    read = session.scalars(
        select(ErpRead).where(of_source, ErpRead.status == ErpReadStatus.READING)
    ).first()
    if own and (read is None or read.holder_run_id != run.id):
        return None
    if read is None:
        return "reading the ERP"
    last = session.scalars(
        select(ErpRead.pages)
        .where(of_source, ErpRead.status == ErpReadStatus.COMPLETE)
        .order_by(ErpRead.id.desc())
        .limit(1)
    ).first()
    page = f"page {read.pages:,}" + (f" of ~{last:,}" if last else "")
    if read.error:
        page = f"{page}; waiting: {read.error}"
    if read.holder_run_id == run.id:
        return f"reading the ERP: {page}"
    return f"waiting for the ERP, read by run {read.holder_run_id}: {page}"


def purge_reads(session: Session, days: int = KEEP_DAYS) -> int:
    """Delete reads ended more than `days` ago, their readings with them; how many."""
    gone = session.execute(
        delete(ErpRead)
        .where(
            ErpRead.status != ErpReadStatus.READING,
            ErpRead.finished_at < func.now() - timedelta(days=days),
        )
        .returning(ErpRead.id)
    )
    return len(gone.all())
