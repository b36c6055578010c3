"""`GET /api/overview`: every site with its current run, webhook state and recent items.

What the dashboard polls every second or two: one request, a few indexed queries per
site, instead of one request per site and panel. The current run is the site's live
run (queued, running, paused) if it has one, else its latest.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import case, select
from sqlalchemy.orm import Session

from api.admin import schemas
from api.admin.http import Doc, admin_blueprint, endpoint
from api.admin.runs import describe_run, recent_items
from api.admin.sites import describe, last_received
from api.resources import resources
from models import Site, SyncRun
from sync.controls import run_progress
from sync.runs import LIVE

overview = admin_blueprint("overview")
RECENT = 10


def current_run(session: Session, site_id: int) -> dict[str, Any] | None:
    live_first = case((SyncRun.status.in_(LIVE), 0), else_=1)
    run = session.scalars(
        select(SyncRun)
        .where(SyncRun.site_id == site_id)
        .order_by(live_first, SyncRun.id.desc())
        .limit(1)
    ).first()
    return None if run is None else describe_run(run, run_progress(session, run.id))


def site_overview(session: Session, site: Site) -> dict[str, Any]:
    return {
        **describe(site),
        "webhooks": {
            "active": site.webhooks_active,
            "last_received_at": last_received(session, site.id),
        },
        "run": current_run(session, site.id),
        "recent_items": recent_items(session, site.id, RECENT),
    }


_SITE_OVERVIEW = {
    "allOf": [
        schemas.ref("Site"),
        {
            "type": "object",
            "required": ["webhooks", "run", "recent_items"],
            "properties": {
                "webhooks": {"type": "object"},
                "run": {"oneOf": [schemas.ref("Run"), {"type": "null"}]},
                "recent_items": {"type": "array", "items": schemas.ref("Item")},
            },
        },
    ]
}


@endpoint(
    overview,
    "GET",
    "/api/overview",
    Doc(
        "Every site with its current run's progress, webhook state and recent items "
        "(what the dashboard polls)",
        "dashboard",
        response={
            "type": "object",
            "properties": {"sites": {"type": "array", "items": _SITE_OVERVIEW}},
        },
    ),
)
def show() -> dict[str, Any]:
    with resources().sessions() as session:
        sites = session.scalars(select(Site).order_by(Site.id)).all()
        return {"sites": [site_overview(session, site) for site in sites]}
