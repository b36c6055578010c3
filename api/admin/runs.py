"""Sync runs: start manual full syncs, list and inspect runs, pause / resume / cancel.

The plain functions serve the API and the CLI alike; progress always comes from
`sync.controls.run_progress`, i.e. from the run's and its batches' rows.
"""

from __future__ import annotations

from typing import Any

from celery import Celery
from sqlalchemy import select, text
from sqlalchemy.orm import Session, sessionmaker

from api.admin import schemas
from api.admin.errors import Conflict, NotFound
from api.admin.http import Doc, Param, admin_blueprint, endpoint, page_params
from api.resources import resources
from models import Item, RunStatus, Site, SyncRun
from models.db import transaction
from sync.controls import Progress, RunStateError, run_progress
from sync.runs import LIVE
from workers import runs as run_control

runs = admin_blueprint("runs")

#: Namespace of the advisory lock taken while checking for a live run and starting one.
START_LOCK = 0x53594E43
RECENT_ITEMS = 20


def start_manual_sync(
    sessions: sessionmaker[Session], celery: Celery, site_id: int, trigger: str = "api"
) -> int:
    """Start a manual full sync of the site; return the run id.

    Refused (Conflict) while the site has a run queued, running or paused. The check and
    the start happen under a per-site advisory lock, so two operators pressing "Start
    Sync" together get one run and one 409, not two runs.
    """
    with transaction(sessions) as session:
        session.execute(
            # hashint8: any bigint id to the lock's int4 key; a collision only serialises.
            text("SELECT pg_advisory_xact_lock(:ns, hashint8(:site))"),
            {"ns": START_LOCK, "site": site_id},
        )
        site = session.get(Site, site_id)
        if site is None:
            raise NotFound(f"no site {site_id}")
        if not site.active:
            raise Conflict(f"site {site_id} is deactivated")
        live = session.execute(
            select(SyncRun.id, SyncRun.status)
            .where(SyncRun.site_id == site_id, SyncRun.status.in_(LIVE))
            .order_by(SyncRun.id)
            .limit(1)
        ).first()
        if live is not None:
            raise Conflict(f"site {site_id} already has run {live.id} {live.status}")
        # Commits the run in its own transaction while this one holds the lock.
        return run_control.start_sync(celery, sessions, site_id, trigger=trigger)


def start_all(
    sessions: sessionmaker[Session], celery: Celery, trigger: str = "api"
) -> dict[str, Any]:
    """Start a run for every active site that has none going."""
    with sessions() as session:
        site_ids = session.scalars(select(Site.id).where(Site.active).order_by(Site.id)).all()
    started, skipped = [], []
    for site_id in site_ids:
        try:
            started.append(
                {
                    "site_id": site_id,
                    "run_id": start_manual_sync(sessions, celery, site_id, trigger),
                }
            )
        except (Conflict, NotFound) as refusal:
            # A site with a run going (or deleted meanwhile) is reported, not an error.
            skipped.append({"site_id": site_id, "reason": refusal.message})
    return {"started": started, "skipped": skipped}


def describe_run(run: SyncRun, progress: Progress) -> dict[str, Any]:
    return {
        "id": run.id,
        "site_id": run.site_id,
        "kind": run.kind,
        "trigger": run.trigger,
        "status": progress.status,
        "total": progress.total,
        "synced": progress.synced,
        "unchanged": progress.unchanged,
        "failed": progress.failed,
        "skipped": progress.skipped,
        "pending": progress.pending,
        "percent": progress.percent,
        "rate": None if progress.rate is None else round(progress.rate, 2),
        "eta_seconds": None if progress.eta_seconds is None else round(progress.eta_seconds, 1),
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


def run_detail(session: Session, run_id: int) -> dict[str, Any]:
    run = session.get(SyncRun, run_id)
    if run is None:
        raise NotFound(f"no run {run_id}")
    detail = describe_run(run, run_progress(session, run_id))
    detail["recent_items"] = recent_items(session, run.site_id)
    return detail


def list_runs(
    session: Session, site_id: int | None, status: str | None, limit: int, offset: int
) -> list[dict[str, Any]]:
    query = select(SyncRun).order_by(SyncRun.id.desc()).limit(limit).offset(offset)
    if site_id is not None:
        query = query.where(SyncRun.site_id == site_id)
    if status is not None:
        query = query.where(SyncRun.status == status)
    return [describe_run(run, run_progress(session, run.id)) for run in session.scalars(query)]


def control_run(sessions: sessionmaker[Session], celery: Celery, run_id: int, action: str) -> None:
    """Pause, resume or cancel; NotFound for no such run, Conflict for a wrong state."""
    with sessions() as session:
        if session.get(SyncRun, run_id) is None:
            raise NotFound(f"no run {run_id}")
    try:
        if action == "pause":
            run_control.pause(sessions, run_id)
        elif action == "resume":
            run_control.resume(celery, sessions, run_id)
        else:
            run_control.cancel(celery, sessions, run_id)
    except RunStateError as exc:
        raise Conflict(str(exc)) from None


# --- routes -------------------------------------------------------------------------

_RUN_IDS = {
    "type": "object",
    "properties": {
        "started": {"type": "array", "items": {"type": "object"}},
        "skipped": {"type": "array", "items": {"type": "object"}},
    },
}


@endpoint(
    runs,
    "POST",
    "/api/inventory/sync/<id:site_id>",
    Doc(
        "Start a manual full sync of a site",
        "runs",
        status=202,
        response=_RUN_IDS,
        errors=(404, 409),
    ),
)
def start_one(site_id: int) -> dict[str, Any]:
    res = resources()
    run_id = start_manual_sync(res.sessions, res.celery, site_id)
    return {"started": [{"site_id": site_id, "run_id": run_id}], "skipped": []}


@endpoint(
    runs,
    "POST",
    "/api/inventory/sync/all",
    Doc(
        "Start a manual full sync of every active site without a run going",
        "runs",
        status=202,
        response=_RUN_IDS,
    ),
)
def start_every() -> dict[str, Any]:
    res = resources()
    return start_all(res.sessions, res.celery)


@endpoint(
    runs,
    "GET",
    "/api/sync/runs",
    Doc(
        "List runs, newest first, with their progress",
        "runs",
        query=[
            Param("site_id", schemas.ID, "Only this site's runs."),
            Param("status", {"enum": [s.value for s in RunStatus]}, "Only runs in this status."),
            *page_params(),
        ],
        response=schemas.listing("Run"),
    ),
)
def index(query: dict[str, Any]) -> dict[str, Any]:
    with resources().sessions() as session:
        items = list_runs(
            session, query["site_id"], query["status"], query["limit"], query["offset"]
        )
    return {"items": items}


@endpoint(
    runs,
    "GET",
    "/api/sync/runs/<id:run_id>",
    Doc(
        "A run's progress (total, synced, failed, pending, percent, rate, ETA) and the "
        "site's recently synced items",
        "runs",
        response=schemas.ref("RunDetail"),
        errors=(404,),
    ),
)
def show(run_id: int) -> dict[str, Any]:
    with resources().sessions() as session:
        return run_detail(session, run_id)


def _control(action: str) -> None:
    @endpoint(
        runs,
        "POST",
        f"/api/sync/runs/<id:run_id>/{action}",
        Doc(
            f"{action.capitalize()} a run",
            "runs",
            response=schemas.ref("RunDetail"),
            errors=(404, 409),
        ),
        name=f"{action}_run",
    )
    def control(run_id: int) -> dict[str, Any]:
        res = resources()
        control_run(res.sessions, res.celery, run_id, action)
        with res.sessions() as session:
            return run_detail(session, run_id)


for _action in ("pause", "resume", "cancel"):
    _control(_action)
