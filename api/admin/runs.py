"""Sync runs: start manual full syncs, list and inspect runs, pause / resume / cancel.

Routes only: starting is `sync.runs.start_run` (one live run per site, 409 otherwise),
the controls are `sync.controls`, and what is shown of a run is `sync.progress`, the
same functions the CLI and the dashboard use.
"""

from __future__ import annotations

from typing import Any
from uuid import UUID

from api.admin import schemas
from api.admin.http import Doc, Param, admin_blueprint, endpoint, page_params
from api.resources import context
from models import RunStatus
from sync import preview
from sync.controls import CONTROLS
from sync.progress import list_runs, run_detail
from sync.runs import start_all, start_run

runs = admin_blueprint("runs")


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
    run_id = start_run(context(), site_id, trigger="api")
    return {"started": [{"site_id": site_id, "run_id": run_id}], "skipped": []}


@endpoint(
    runs,
    "POST",
    "/api/inventory/preview/<id:site_id>",
    Doc(
        "Start a preview of a site: what a full sync would write, writing nothing",
        "runs",
        status=202,
        response=_RUN_IDS,
        errors=(404, 409),
        description="Follow it as any run; its findings are at `GET /api/sync/runs/<id>/changes`.",
    ),
)
def start_preview_of(site_id: int) -> dict[str, Any]:
    run_id = preview.start_preview(context(), site_id, trigger="api")
    return {"started": [{"site_id": site_id, "run_id": run_id}], "skipped": []}


@endpoint(
    runs,
    "GET",
    "/api/sync/runs/<id:run_id>/changes",
    Doc(
        "The writes a preview found: per SKU, what the store shows and what a sync would write",
        "runs",
        query=page_params(default_limit=200, max_limit=1000),
        response=schemas.ref("PreviewChanges"),
        errors=(404, 422),
    ),
)
def changes(run_id: int, query: dict[str, Any]) -> dict[str, Any]:
    return preview.preview_changes(context(), run_id, limit=query["limit"], offset=query["offset"])


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
    return start_all(context(), trigger="api")


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
    with context().sessions() as session:
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
    with context().sessions() as session:
        return run_detail(session, run_id)


@endpoint(
    runs,
    "GET",
    "/api/sync/logs/<uuid:log_id>",
    Doc(
        "A run by its public id: the `syncLogId` the plugin endpoint answered",
        "runs",
        response=schemas.ref("RunDetail"),
        errors=(404,),
    ),
)
def show_by_log_id(log_id: UUID) -> dict[str, Any]:
    with context().sessions() as session:
        return run_detail(session, log_id)


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
        ctx = context()
        CONTROLS[action](ctx, run_id)
        with ctx.sessions() as session:
            return run_detail(session, run_id)


for _action in CONTROLS:
    _control(_action)
