"""Where a run starts, and its life in the database: create, begin, cut, close.

`start_run` is the one way a run starts, whatever asks for it: an operator (API,
CLI, dashboard), the nightly beat (schedules/due.py), an ERP `collection` notice
(sync/events.py) or `start_all`. It enforces one live run per site (queued, running
or paused), backed by the partial unique index `uq_sync_runs_live_per_site`, so two
triggers racing on one site get one run and one `AlreadyRunning`, on any host.

Every change of a run's state is one transaction on its row, so two workers (or a
worker and an operator) never disagree about it, and each returns the lifecycle event
deliveries it recorded, for the caller to publish after commit (docs/style.md rule 5).

A run is closed exactly once: when `finished_at` is set, by `close_run`, which is
also when `PRODUCT_SYNC_COMPLETED` or `..._FAILED` is recorded. Runs finish by
counting rows, not by chords (docs/architecture.md flow 4): each batch's completion
decrements `batches_pending` in one `UPDATE ... RETURNING`, and the one that reaches
zero closes.
"""

from __future__ import annotations

import enum
import logging
import math
import time
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from contextvars import copy_context
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

from psycopg2.errors import UniqueViolation
from sqlalchemy import func, select, text, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from models import BatchStatus, RunStatus, Site, SyncBatch, SyncRun
from models.db import transaction
from models.sync import FULL_RUN_PER_DAY, LIVE_RUN_PER_SITE, LIVE_RUN_STATUSES
from settings import Settings
from sync import lifecycle
from sync.catalog import refresh_catalog
from sync.context import Context
from sync.erp_reads import share_read
from sync.errors import AlreadyRunning, Conflict, NotFound, Unavailable
from sync.limits import Priority

log = logging.getLogger(__name__)


class RunKind(enum.StrEnum):
    #: The nightly run (at most one per site per local date).
    FULL = "full"
    #: Started by an operator ("Start Sync").
    MANUAL = "manual"
    #: What a full sync would change, written nowhere (a new site's first look; its
    #: changes are on its batches, `sync_batches.changes`).
    PREVIEW = "preview"


#: Statuses in which a run may still process batches or be paused/cancelled; a site
#: has at most one run in them (`uq_sync_runs_live_per_site`).
LIVE = LIVE_RUN_STATUSES

#: The SKUs least recently reconciled with the ERP (`erp_read_at`, never first) go in
#: the first batches, so a nightly run stopped at the night's end leaves those it just
#: reconciled, and the next night begins with the rest (`hold_over`). Within a batch,
#: SKU order: two writers lock rows in it and never deadlock (sync/push.py).
_CUT = text(
    """
    INSERT INTO sync_batches (run_id, seq, skus, status, created_at, updated_at)
    SELECT :run_id, n / :size, jsonb_agg(sku ORDER BY sku), 'queued', now(), now()
    FROM (
        SELECT sku, row_number() OVER (ORDER BY erp_read_at NULLS FIRST, sku) - 1 AS n
        FROM items WHERE site_id = :site_id AND active
    ) AS numbered
    GROUP BY n / :size
    ORDER BY n / :size
    RETURNING id
    """
)


@dataclass
class Begun:
    site_id: int
    kind: str
    #: This start task began the run (its first attempt), and announced it.
    first: bool = False
    deliveries: list[int] = field(default_factory=list)


@dataclass
class Window:
    """What `fill_window` decided for a run."""

    #: Batches marked published, for the caller to publish after commit.
    publish: list[int] = field(default_factory=list)
    #: Lifecycle deliveries, when the run closed here: held over at the night's end
    #: with nothing left in flight (`hold_over`).
    deliveries: list[int] = field(default_factory=list)


@dataclass
class Cut:
    #: Every batch cut, in order.
    batch_ids: list[int] = field(default_factory=list)
    #: The first of them, to publish now: the run's window (`fill_window`). Empty
    #: when the run was paused meanwhile: the batches wait for `resume`.
    publish: list[int] = field(default_factory=list)
    deliveries: list[int] = field(default_factory=list)
    #: Nothing cut yet: the run's start task is queued again after this many seconds.
    #: 0: its catalog listing or its source's read used its slice of time, its place
    #: saved, and goes on at once; more: another run reads the source for it
    #: (sync/erp_reads.py), and it looks again then.
    again_in: float | None = None


def start_run(
    ctx: Context,
    site_id: int,
    *,
    kind: str = RunKind.MANUAL,
    trigger: str = "api",
    local_date: date | None = None,
) -> int:
    """Start a run of the site and queue its start task; return the run's id.

    Refused with `NotFound` (no such site), `Conflict` (site deactivated, or its
    nightly run for `local_date` exists) or `AlreadyRunning` (the site has a live run).
    A live run is looked for first, so a refusal costs no failed INSERT; the unique
    indexes decide the races that check cannot see.

    If the start cannot be published (Redis down), the run is failed by name and
    `Unavailable` raised: left queued, it would refuse every later start of the site
    until the stuck-run check failed it hours later. A nightly run failed so gives its
    local date back (`local_date` cleared), so the next beat starts that night's run.
    Its lifecycle event goes out with the delivery sweep once Redis is back. A start
    task lost after this (a process killed between commit and publish) is published
    again by the maintenance task (sync/recovery.py `lost_starts`).
    """
    with transaction(ctx.sessions) as session:
        # KEY SHARE: a removal of the site (FOR UPDATE, sync/sites.py) finishes first
        # and this finds no site, or waits for this run and refuses to remove it.
        site = session.scalars(
            select(Site).where(Site.id == site_id).with_for_update(key_share=True)
        ).first()
        if site is None:
            raise NotFound(f"no site {site_id}")
        if not site.active:
            raise Conflict(f"site {site_id} is deactivated")
        going = live_run(session, site_id)
        if going is not None:
            raise AlreadyRunning(site_id, going.id, going.status)
        run_id = _create_run(session, site_id, kind, trigger, local_date).id
    try:
        ctx.broker.queue_start(run_id, kind)
    except Unavailable as exc:
        with transaction(ctx.sessions) as session:
            fail_run(session, run_id, f"could not be queued: {exc.message}")
            session.get_one(SyncRun, run_id).local_date = None
        raise
    log.info("sync.run.created", extra={"run": run_id, "site": site_id, "trigger": trigger})
    return run_id


def start_each(ctx: Context, site_ids: Iterable[int], trigger: str) -> tuple[list[int], list[str]]:
    """A run of each site, for automation (a heal, a lost feed, an ERP `collection`):
    the runs started, and why the others were not (a run going, which reads everything
    anew; deactivated or removed meanwhile). `Unavailable`, the broker down, is raised
    for the caller to retry: sites started by then answer "already running"."""
    started: list[int] = []
    refused: list[str] = []
    for site_id in site_ids:
        try:
            started.append(start_run(ctx, site_id, trigger=trigger))
        except (Conflict, NotFound) as refusal:
            refused.append(refusal.message)
    return started, refused


def start_all(ctx: Context, trigger: str = "api") -> dict[str, Any]:
    """Start a manual run of every active site that has none going.

    A site with a live run, or deleted or deactivated meanwhile, is reported under
    `skipped` with the reason, not raised: the others still start.
    """
    with ctx.sessions() as session:
        site_ids = session.scalars(select(Site.id).where(Site.active).order_by(Site.id)).all()
    started, skipped = [], []
    for site_id in site_ids:
        try:
            started.append({"site_id": site_id, "run_id": start_run(ctx, site_id, trigger=trigger)})
        except (Conflict, NotFound) as refusal:
            skipped.append({"site_id": site_id, "reason": refusal.message})
    return {"started": started, "skipped": skipped}


def live_run(session: Session, site_id: int) -> SyncRun | None:
    """The site's live run, if it has one (at most one, by the unique index)."""
    return session.scalars(
        select(SyncRun).where(SyncRun.site_id == site_id, SyncRun.status.in_(LIVE))
    ).first()


def _create_run(
    session: Session, site_id: int, kind: str, trigger: str, local_date: date | None
) -> SyncRun:
    """Insert a queued run, or raise the refusal its unique index stands for."""
    run = SyncRun(
        site_id=site_id, kind=kind, trigger=trigger, status=RunStatus.QUEUED, local_date=local_date
    )
    try:
        with session.begin_nested():
            session.add(run)
            session.flush()
    except IntegrityError as exc:
        # The one insert that can race: another trigger started a run of this site
        # first. Which index refused says which rule it broke.
        constraint = _constraint(exc)
        if constraint == LIVE_RUN_PER_SITE:
            other = live_run(session, site_id)
            raise AlreadyRunning(
                site_id, other.id if other else None, other.status if other else None
            ) from None
        if constraint == FULL_RUN_PER_DAY:
            raise Conflict(f"site {site_id} already has its nightly run for {local_date}") from None
        raise
    return run


def _constraint(exc: IntegrityError) -> str | None:
    if isinstance(exc.orig, UniqueViolation):
        return exc.orig.diag.constraint_name
    return None


def begin_run(session: Session, run_id: int, holder: str, lease_seconds: float) -> Begun | None:
    """Mark the run running; None if it must not start (cancelled, failed, batched, or
    its catalog being listed by another start task).

    A start task retried after a failed catalog refresh (or queued again by `resume`)
    finds the run already started with no batches, and carries on without announcing
    it twice.

    The catalog listing is one start task's at a time: `holder` (the task's id, which
    Celery keeps across retries) takes the run's listing lease for `lease_seconds` (the
    task's hard time limit: past it the holder is dead). A run paused mid-listing and
    resumed at once had two start tasks listing it side by side, every page read twice:
    the one still in its slice of time, and the one `resume` queued. The holder hands
    the lease back at the end of its slice, before queueing its next start
    (`prepare_batches`); a holder killed leaves it to lapse, and the sweep queues a
    start later (sync/recovery.py). Once the catalog is listed the lease is not needed:
    the ERP read is shared and the cut happens once (`cut_batches`).
    """
    run = session.get(SyncRun, run_id, with_for_update=True)
    if (
        run is None
        or run.batches_total > 0
        or run.status not in (RunStatus.QUEUED, RunStatus.RUNNING)
    ):
        return None
    now = session.execute(select(func.now())).scalar_one()
    if run.catalog_listed_at is None:
        held = run.listing_until is not None and run.listing_until > now
        if held and run.listing_by != holder:
            log.info("sync.run.listing_held", extra={"run": run_id})
            return None
        run.listing_by, run.listing_until = holder, now + timedelta(seconds=lease_seconds)
    begun = Begun(site_id=run.site_id, kind=run.kind)
    run.status = RunStatus.RUNNING
    if run.started_at is None:
        run.started_at = now
        begun.first = True
        session.flush()
        begun.deliveries = lifecycle.record_run_event(session, run, lifecycle.STARTED)
    return begun


def cut_batches(session: Session, run_id: int, settings: Settings) -> Cut:
    """Cut the site's active SKUs into batches of `settings.batch_size`, in SQL, without
    loading the SKUs here, and mark the first of them published (`fill_window`).

    Done once per run (a second start task finds `batches_total` set). A run paused
    during its catalog refresh is cut all the same, so `resume` has batches to queue.
    A nightly run gets its end here, `settings.night_hours` from its start (`hold_over`).
    """
    run = session.get_one(SyncRun, run_id, with_for_update=True)
    if run.batches_total > 0 or run.status not in (RunStatus.RUNNING, RunStatus.PAUSED):
        return Cut()
    if run.kind == RunKind.FULL and settings.night_hours and run.started_at is not None:
        run.ends_by = run.started_at + timedelta(hours=settings.night_hours)
    ids = list(
        session.scalars(
            _CUT, {"run_id": run_id, "site_id": run.site_id, "size": settings.batch_size}
        )
    )
    run.total = session.execute(
        select(func.coalesce(func.sum(func.jsonb_array_length(SyncBatch.skus)), 0)).where(
            SyncBatch.run_id == run_id
        )
    ).scalar_one()
    run.batches_total = run.batches_pending = len(ids)
    session.flush()
    if not ids:
        return Cut(deliveries=close_run(session, run))
    window = fill_window(session, run_id, settings)
    return Cut(batch_ids=ids, publish=window.publish, deliveries=window.deliveries)


#: Least number of batches a running run keeps in flight, however many runs share
#: `Settings.batches_in_flight`: a store takes 1-2 requests at once by default
#: (sync/limits.py), so 2 keep it busy while one batch is between its ERP reading and
#: its writes.
LEAST_WINDOW = 2

#: Mark the run's next waiting batches published, in order, as many as bring its batches
#: in flight (published, not finished) up to the window. Each holds a lease until its
#: message is out (`published`).
_FILL = text(
    """
    UPDATE sync_batches
    SET published_at = now(), updated_at = now(),
        lease_expires_at = now() + make_interval(secs => :lease)
    WHERE id IN (
        SELECT id FROM sync_batches
        WHERE run_id = :run_id AND status = 'queued' AND published_at IS NULL
        ORDER BY seq
        LIMIT greatest(:window - (
            SELECT count(*) FROM sync_batches
            WHERE run_id = :run_id AND published_at IS NOT NULL
              AND status IN ('queued', 'processing')
        ), 0)
    )
    RETURNING id, seq
    """
)


def fill_window(session: Session, run_id: int, settings: Settings) -> Window:
    """The batches of a running run to publish now, marked published (`published_at`):
    its next waiting ones in order, so that at most its window are in flight (queued
    with their message published, or processing). Their ids, for the caller to publish
    after commit and then mark `published`. Past a nightly run's end, none: the run is
    held over (`hold_over`), and closed if nothing of it is in flight.

    Why a window (issue 22, item 4): a run that published all its batches at once put
    its whole run in the queue ahead of every run cut after it, so the sites of a
    nightly wave were served one after another. With a few in flight each, and the next
    queued as one finishes (`sync.batches.queue_next`), the runs' batches take turns.
    The window is `settings.batches_in_flight` shared by the runs queued or running
    (those still waiting for their start or listing their catalogs included), at least
    LEAST_WINDOW: fifty runs of a nightly wave take 2 places each, one run alone all 16.

    Called as the run is cut, after each of its batches finishes, on `resume`, and by
    the sweep (sync/recovery.py `fill_windows`) for a process killed between a batch's
    end and this. The run's row is locked first, so two batches of the run finishing
    at once count each other's end and never overfill it.

    A batch marked here holds a lease of `settings.batch_lease_seconds` until its
    message is out: a process killed between this commit and the publish leaves it
    `queued` and counted in flight with no message anywhere, and the sweep publishes it
    once the lease lapses (sync/recovery.py), as it does a retry lost with its worker.
    """
    run = session.get(SyncRun, run_id, with_for_update=True, populate_existing=True)
    if run is None or run.status != RunStatus.RUNNING:
        return Window()
    if run.ends_by is not None and _night_over(session, run):
        return hold_over(session, run)
    sharing = session.scalar(
        select(func.count())
        .select_from(SyncRun)
        .where(SyncRun.status.in_([RunStatus.QUEUED, RunStatus.RUNNING]))
    )  # this run among them
    window = max(LEAST_WINDOW, math.ceil(settings.batches_in_flight / (sharing or 1)))
    rows = session.execute(
        _FILL, {"run_id": run_id, "window": window, "lease": settings.batch_lease_seconds}
    ).all()
    return Window(publish=[row.id for row in sorted(rows, key=lambda row: row.seq)])


def _night_over(session: Session, run: SyncRun) -> bool:
    """The run is past its end, and has had its first window: a run cut after its
    night (its catalog's listing took it all) still syncs that much, the SKUs least
    recently reconciled, so every night moves the catalog on."""
    now = session.execute(select(func.now())).scalar_one()
    if run.ends_by is None or now < run.ends_by:
        return False
    return bool(
        session.scalar(
            select(func.count())
            .select_from(SyncBatch)
            .where(SyncBatch.run_id == run.id, SyncBatch.published_at.is_not(None))
        )
    )


#: Why a batch left at the night's end did not run, on its row.
HELD_OVER = "held over: the night ended before its turn; the next nightly run takes its SKUs first"


def hold_over(session: Session, run: SyncRun) -> Window:
    """End a nightly run's night: its batches not published yet are cancelled and their
    SKUs counted as skipped and `held_over`; those in flight finish, and the last of
    them closes the run (or this does, if none is). The run completes with what it
    synced; the next night's cut (`_CUT`) puts the SKUs it did not reach first, as they
    are now the least recently reconciled.

    Why (issue 22, item 2): a run longer than the night went on into the day, its full
    sync competing with the day's orders for each budget, and the next night's run
    could not start while it was live. Now a catalog too long for one night is
    reconciled over two, each night at full pace, and each run says so."""
    skus, batches = cancel_queued_batches(session, run, unpublished_only=True, error=HELD_OVER)
    if batches:
        run.held_over += skus
        session.flush()
        log.info(
            "sync.run.held_over",
            extra={"run": run.id, "site": run.site_id, "skus": skus, "batches": batches},
        )
    if run.batches_pending > 0:
        return Window()
    return Window(deliveries=close_run(session, run))


#: Drop the lease a batch took with its turn (`_FILL`), now that its message is out;
#: one claimed since (a quick first attempt, perhaps released with a retry lease of its
#: own) is the claim's.
_PUBLISHED = text(
    """
    UPDATE sync_batches SET lease_expires_at = NULL
    WHERE id = ANY(CAST(:ids AS bigint[])) AND status = 'queued'
      AND (claimed_at IS NULL OR claimed_at < published_at)
    """
)


def published(session: Session, batch_ids: list[int]) -> None:
    """The messages of these batches, marked by `fill_window`, are out: each now waits
    its turn in the queue as long as the queue takes, never taken for lost."""
    if batch_ids:
        session.execute(_PUBLISHED, {"ids": batch_ids})


def prepare_batches(ctx: Context, run_id: int, holder: str) -> Cut:
    """Refresh the site's catalog mirror from its store while getting the source's
    shared read of the ERP (sync/erp_reads.py: read once per cycle for all the
    source's runs, the source's open store orders settled before it), then cut the
    run's batches.

    The two at once, the read in a thread: the store and the ERP are two platforms,
    each with its own budget, so one's wait need not follow the other's (a platform
    floor overlaps them, bench/platform_floor.py). A read another run is making is
    asked for again once the catalog is listed, when it may be complete.

    Both listings go on from their saved places and list for at most
    `ctx.listing_slice_seconds` in all; one that needs longer, or a read another run
    is making, returns a `Cut` with `again_in` for the start task to queue itself
    again; a listing cut short hands back `holder`'s listing lease first (`begin_run`),
    for the next start task to take. An error of either rises once both have ended."""
    with ctx.sessions() as session:
        site_id = session.get_one(SyncRun, run_id).site_id
        site = session.get_one(Site, site_id)
        erp = ctx.source(site.source, Priority.BULK)
    store = ctx.storefront(site, Priority.BULK)
    deadline = time.monotonic() + ctx.listing_slice_seconds
    with ThreadPoolExecutor(1, thread_name_prefix="erp-read") as reader:
        # In the task's log context, so the read's lines name the run's task.
        early = reader.submit(copy_context().run, share_read, ctx, run_id, erp, deadline)
        listed = refresh_catalog(ctx, site, store, run_id, deadline=deadline).finished
    if not listed:
        with transaction(ctx.sessions) as session:
            session.execute(_HAND_BACK, {"run": run_id, "holder": holder})
        early.result()  # a read's error rises once the lease is handed back
        return Cut(again_in=0.0)
    shared = early.result()
    if shared.read_id is None and shared.again_in:
        # Another run's read, perhaps complete by now.
        shared = share_read(ctx, run_id, erp, deadline)
    if shared.read_id is None:
        return Cut(again_in=shared.again_in)
    with transaction(ctx.sessions) as session:
        return cut_batches(session, run_id, ctx.settings)


#: The listing lease of a start task whose slice of time is used up (`begin_run`).
_HAND_BACK = text(
    "UPDATE sync_runs SET listing_by = NULL, listing_until = NULL "
    "WHERE id = :run AND listing_by = :holder"
)


def close_run(session: Session, run: SyncRun) -> list[int]:
    """Finish `run` (locked by the caller) if not finished yet; record its final event.

    A live run ends `completed`, or `failed` if any batch failed; a cancelled or
    already failed run keeps its status.
    """
    if run.finished_at is not None:
        return []
    if run.status in LIVE:
        failed = session.scalars(
            select(SyncBatch.error)
            .where(SyncBatch.run_id == run.id, SyncBatch.status == BatchStatus.FAILED)
            .order_by(SyncBatch.seq)
        ).all()
        if failed:
            run.status = RunStatus.FAILED
            run.error = f"{len(failed)} of {run.batches_total} batches failed; first: {failed[0]}"
        else:
            run.status = RunStatus.COMPLETED
    if run.status == RunStatus.COMPLETED and run.kind != RunKind.PREVIEW:
        # Its first live run done, a site added with --no-initial-sync syncs nightly.
        session.execute(
            update(Site)
            .where(Site.id == run.site_id, Site.awaiting_first_sync)
            .values(awaiting_first_sync=False)
        )
    # The wall clock: the closing batch's transaction began before its store writes.
    run.finished_at = session.execute(select(func.clock_timestamp())).scalar_one()
    session.flush()
    topic = lifecycle.COMPLETED if run.status == RunStatus.COMPLETED else lifecycle.FAILED
    return lifecycle.record_run_event(session, run, topic)


def fail_run(session: Session, run_id: int, error: str) -> list[int]:
    """Fail a live run now (catalog refresh failed, or no progress for too long).

    Its queued batches are cancelled, so their messages find nothing to do; batches
    still processing may finish and count, but the run stays failed and closed.
    """
    run = session.get_one(SyncRun, run_id, with_for_update=True)
    if run.status not in LIVE:
        return []
    cancel_queued_batches(session, run)
    run.status, run.error = RunStatus.FAILED, error
    return close_run(session, run)


def cancel_queued_batches(
    session: Session, run: SyncRun, *, unpublished_only: bool = False, error: str | None = None
) -> tuple[int, int]:
    """Cancel the run's queued batches (`unpublished_only`: those whose message was
    never published, `hold_over`), recording `error` on them; their SKUs count as
    skipped. Returns (SKUs, batches) cancelled."""
    skipped = (
        session.execute(
            text(
                """
            UPDATE sync_batches SET status = 'cancelled', error = coalesce(:error, error),
                finished_at = now(), updated_at = now()
            WHERE run_id = :run_id AND status = 'queued'
              AND (NOT :unpublished_only OR published_at IS NULL)
            RETURNING jsonb_array_length(skus)
            """
            ),
            {"run_id": run.id, "unpublished_only": unpublished_only, "error": error},
        )
        .scalars()
        .all()
    )
    run.skipped += sum(skipped)
    run.batches_pending -= len(skipped)
    return sum(skipped), len(skipped)
