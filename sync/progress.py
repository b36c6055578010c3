"""How runs stand, from their rows: progress, descriptions, listings, a site's current run.

What the API, the CLI, the dashboard and the demo show about runs comes from these
functions, so every door shows the same numbers. Progress is computed from the run's
row and its batches' rows, never from memory or the broker.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID

from sqlalchemy import case, func, select, text
from sqlalchemy.orm import Session

from models import Item, RunStatus, SyncRun
from sync.erp_reads import read_activity
from sync.errors import NotFound
from sync.runs import LIVE

#: Items shown with a run's detail.
RECENT_ITEMS = 20


@dataclass(frozen=True)
class Progress:
    run_id: int
    status: str
    total: int
    synced: int
    unchanged: int
    failed: int
    #: SKUs the site opted out of (sync/sellable.py): read, never written.
    opted_out: int
    skipped: int
    #: Of `skipped`, the SKUs a nightly run left at the night's end for the next night
    #: to take first (sync/runs.py `hold_over`).
    held_over: int
    #: SKUs in batches not finished yet (queued or processing).
    pending: int
    percent: float
    #: SKUs finished per second since the run started.
    rate: float | None
    #: Seconds until the pending SKUs are done at that rate; None if unknown.
    eta_seconds: float | None
    #: What a live run does before it has batches: "listing catalog: page 57 of ~70".
    activity: str | None = None
    #: The run's plan when it does not fit its budgets (sync/plan.py), else None.
    plan_warning: str | None = None


def run_progress(session: Session, run_id: int, now: datetime | None = None) -> Progress:
    """Where the run stands, computed from its row and its batches' rows."""
    run = session.get(SyncRun, run_id)
    if run is None:
        raise NotFound(f"no run {run_id}")
    pending = session.execute(
        text(
            """
            SELECT coalesce(sum(jsonb_array_length(skus)), 0) FROM sync_batches
            WHERE run_id = :run_id AND status IN ('queued', 'processing')
            """
        ),
        {"run_id": run_id},
    ).scalar_one()
    done = run.synced + run.unchanged + run.failed + run.opted_out
    finished = done + run.skipped
    # A run of no SKUs is done when it completed; one that failed or was cancelled before
    # it counted any is at 0, not drawn as a full bar (issue 21, item 7).
    whole = 100.0 if run.status == RunStatus.COMPLETED else 0.0
    percent = 100.0 * finished / run.total if run.total else whole
    rate = eta = None
    if run.started_at is not None:
        end = run.finished_at or now or session.execute(select(func.now())).scalar_one()
        elapsed = (end - run.started_at).total_seconds()
        if elapsed > 0:
            rate = done / elapsed
            if rate > 0 and run.status == RunStatus.RUNNING:
                eta = pending / rate
    return Progress(
        run_id=run.id,
        status=str(run.status),
        total=run.total,
        synced=run.synced,
        unchanged=run.unchanged,
        failed=run.failed,
        opted_out=run.opted_out,
        skipped=run.skipped,
        held_over=run.held_over,
        pending=int(pending),
        percent=round(percent, 2),
        rate=rate,
        eta_seconds=eta,
        activity=_activity(session, run),
        plan_warning=_plan_warning(run),
    )


def _plan_warning(run: SyncRun) -> str | None:
    """The plan's line for a run that does not fit its budgets, while it is live."""
    plan = run.plan
    if run.status not in LIVE or not isinstance(plan, dict) or plan.get("fits", True):
        return None
    return str(plan.get("summary"))


def _activity(session: Session, run: SyncRun) -> str | None:
    """The catalog listing's page, from the place it commits with each chunk
    (sync/catalog.py), and the source's read (sync/erp_reads.py) the run makes
    meanwhile, then that read or the one it waits for: until it is cut, a run's counts
    stay at 0/0 however long its store and its ERP take to list."""
    if run.status != RunStatus.RUNNING or run.batches_total > 0:
        return None
    if run.catalog_listed_at is not None:
        return read_activity(session, run)
    listing = "listing catalog"
    if run.catalog_pages:
        of = f" of ~{run.catalog_pages_of:,}" if run.catalog_pages_of else ""
        listing = f"listing catalog: page {run.catalog_pages:,}{of}"
    reading = read_activity(session, run, own=True)
    return f"{listing}; {reading}" if reading else listing


def describe_run(run: SyncRun, progress: Progress) -> dict[str, Any]:
    return {
        "id": run.id,
        "log_id": str(run.log_id),
        "site_id": run.site_id,
        "kind": run.kind,
        "trigger": run.trigger,
        "status": progress.status,
        "total": progress.total,
        "synced": progress.synced,
        "unchanged": progress.unchanged,
        "failed": progress.failed,
        "opted_out": progress.opted_out,
        "skipped": progress.skipped,
        "held_over": progress.held_over,
        "ends_by": run.ends_by,
        "pending": progress.pending,
        "percent": progress.percent,
        "rate": None if progress.rate is None else round(progress.rate, 2),
        "eta_seconds": None if progress.eta_seconds is None else round(progress.eta_seconds, 1),
        "activity": progress.activity,
        "plan": run.plan,
        "error": run.error,
        "started_at": run.started_at,
        "finished_at": run.finished_at,
        "created_at": run.created_at,
    }


def recent_items(session: Session, site_id: int, limit: int = RECENT_ITEMS) -> list[dict[str, Any]]:
    """The site's items most recently written or confirmed by a sync, newest first."""
    rows = session.scalars(
        select(Item)
        .where(Item.site_id == site_id, Item.last_synced_at.is_not(None))
        .order_by(Item.last_synced_at.desc(), Item.id.desc())
        .limit(limit)
    )
    return [
        {
            "sku": item.sku,
            "product_id": item.product_id,
            "variant_id": item.variant_id,
            "quantity": item.quantity,
            "last_synced_at": item.last_synced_at,
        }
        for item in rows
    ]


def run_detail(session: Session, run_id: int | UUID) -> dict[str, Any]:
    """A run's description and its site's recently synced items; the run by its id or
    its public `log_id` (the plugin endpoint's `syncLogId`)."""
    if isinstance(run_id, UUID):
        run = session.scalars(select(SyncRun).where(SyncRun.log_id == run_id)).one_or_none()
    else:
        run = session.get(SyncRun, run_id)
    if run is None:
        raise NotFound(f"no run {run_id}")
    detail = describe_run(run, run_progress(session, run.id))
    detail["recent_items"] = recent_items(session, run.site_id)
    return detail


def list_runs(
    session: Session, site_id: int | None, status: str | None, limit: int, offset: int
) -> list[dict[str, Any]]:
    """Runs newest first, optionally of one site or in one status."""
    query = select(SyncRun).order_by(SyncRun.id.desc()).limit(limit).offset(offset)
    if site_id is not None:
        query = query.where(SyncRun.site_id == site_id)
    if status is not None:
        query = query.where(SyncRun.status == status)
    return [describe_run(run, run_progress(session, run.id)) for run in session.scalars(query)]


def current_run(session: Session, site_id: int) -> dict[str, Any] | None:
    """The site's live run if it has one, else its latest; None if it never ran."""
    live_first = case((SyncRun.status.in_(LIVE), 0), else_=1)
    run = session.scalars(
        select(SyncRun)
        .where(SyncRun.site_id == site_id)
        .order_by(live_first, SyncRun.id.desc())
        .limit(1)
    ).first()
    return None if run is None else describe_run(run, run_progress(session, run.id))
