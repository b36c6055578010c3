"""A sync run's life in the database: create, begin, cut into batches, close.

Every change of a run's state is one transaction on its row, so two workers (or a
worker and an operator) never disagree about it, and each returns the lifecycle event
deliveries it recorded, for the caller to publish after commit (STYLE.md rule 5).

A run is closed exactly once: when `finished_at` is set, by `close_run`, which is
also when `PRODUCT_SYNC_COMPLETED` or `..._FAILED` is recorded. Runs finish by
counting rows, not by chords (DESIGN.md flow 7): each batch's completion decrements
`batches_pending` in one `UPDATE ... RETURNING`, and the one that reaches zero closes.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from datetime import date
from typing import TYPE_CHECKING

from sqlalchemy import func, select, text
from sqlalchemy.orm import Session

from models import BatchStatus, RunStatus, Site, SyncBatch, SyncRun
from models.db import transaction
from sync import lifecycle
from sync.catalog import refresh_catalog

if TYPE_CHECKING:
    from workers.context import WorkerContext


class RunKind(enum.StrEnum):
    #: The nightly run (at most one per site per local date).
    FULL = "full"
    #: Started by an operator ("Start Sync").
    MANUAL = "manual"


#: Statuses in which a run may still process batches or be paused/cancelled.
LIVE = (RunStatus.QUEUED, RunStatus.RUNNING, RunStatus.PAUSED)

_CUT = text(
    """
    INSERT INTO sync_batches (run_id, seq, skus, status, created_at, updated_at)
    SELECT :run_id, n / :size, jsonb_agg(sku ORDER BY sku), 'queued', now(), now()
    FROM (
        SELECT sku, row_number() OVER (ORDER BY sku) - 1 AS n
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
    deliveries: list[int] = field(default_factory=list)


@dataclass
class Cut:
    batch_ids: list[int] = field(default_factory=list)
    #: False when the run was paused meanwhile: the batches wait for `resume`.
    enqueue: bool = False
    deliveries: list[int] = field(default_factory=list)


def create_run(
    session: Session, site_id: int, kind: str, trigger: str, local_date: date | None = None
) -> SyncRun:
    """A queued run. For `full` runs, the unique index on (site, local_date) raises
    IntegrityError on a second one for the same day; the caller decides what that means."""
    run = SyncRun(
        site_id=site_id, kind=kind, trigger=trigger, status=RunStatus.QUEUED, local_date=local_date
    )
    session.add(run)
    session.flush()
    return run


def begin_run(session: Session, run_id: int) -> Begun | None:
    """Mark the run running; None if it must not start (cancelled, failed, or batched).

    A start task retried after a failed catalog refresh (or queued again by `resume`)
    finds the run already started with no batches, and carries on without announcing
    it twice.
    """
    run = session.get(SyncRun, run_id, with_for_update=True)
    if (
        run is None
        or run.batches_total > 0
        or run.status not in (RunStatus.QUEUED, RunStatus.RUNNING)
    ):
        return None
    begun = Begun(site_id=run.site_id, kind=run.kind)
    run.status = RunStatus.RUNNING
    if run.started_at is None:
        run.started_at = session.execute(select(func.now())).scalar_one()
        session.flush()
        begun.deliveries = lifecycle.record_run_event(session, run, lifecycle.STARTED)
    return begun


def cut_batches(session: Session, run_id: int, batch_size: int) -> Cut:
    """Cut the site's active SKUs into batches, in SQL, without loading the SKUs here.

    Done once per run (a second start task finds `batches_total` set). A run paused
    during its catalog refresh is cut all the same, so `resume` has batches to queue.
    """
    run = session.get_one(SyncRun, run_id, with_for_update=True)
    if run.batches_total > 0 or run.status not in (RunStatus.RUNNING, RunStatus.PAUSED):
        return Cut()
    ids = list(
        session.scalars(_CUT, {"run_id": run_id, "site_id": run.site_id, "size": batch_size})
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
    return Cut(batch_ids=ids, enqueue=run.status == RunStatus.RUNNING)


def prepare_batches(ctx: WorkerContext, run_id: int) -> Cut:
    """Refresh the site's catalog mirror from its store, then cut the run's batches."""
    with ctx.sessions() as session:
        site_id = session.get_one(SyncRun, run_id).site_id
        site = session.get_one(Site, site_id)
    refresh_catalog(ctx, site, ctx.storefront(site))
    with transaction(ctx.sessions) as session:
        return cut_batches(session, run_id, ctx.settings.batch_size)


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


def cancel_queued_batches(session: Session, run: SyncRun) -> int:
    """Cancel the run's queued batches; their SKUs count as skipped. Returns how many."""
    skipped = (
        session.execute(
            text(
                """
            UPDATE sync_batches SET status = 'cancelled', finished_at = now(), updated_at = now()
            WHERE run_id = :run_id AND status = 'queued'
            RETURNING jsonb_array_length(skus)
            """
            ),
            {"run_id": run.id},
        )
        .scalars()
        .all()
    )
    run.skipped += sum(skipped)
    run.batches_pending -= len(skipped)
    return len(skipped)
