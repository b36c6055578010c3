"""The overview the dashboard polls: every site with its current run, webhook state,
budgets and recently synced items, in one document (a few indexed queries per site), instead of
one request per site and panel."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from models import Site
from sync.consumers import worker_running
from sync.context import Context
from sync.progress import current_run, recent_items
from sync.sites import describe_site, last_received, site_budgets
from sync.subscriptions import describe_rows

#: Recently synced items shown per site.
RECENT = 10


def site_overview(ctx: Context, session: Session, site: Site) -> dict[str, Any]:
    return {
        **describe_site(site),
        # What a run waiting on a platform waits for, and the ERP's day so far.
        "budgets": site_budgets(ctx, site),
        "webhooks": {
            "active": site.webhooks_active,
            "last_received_at": last_received(session, site.id),
        },
        "run": current_run(session, site.id),
        # The store's subscriptions, then its ERP's (which feed it too).
        "subscriptions": describe_rows(session, "site", site.id)
        + describe_rows(session, "source", site.source_id),
        "recent_items": recent_items(session, site.id, RECENT),
    }


def overview(ctx: Context) -> dict[str, Any]:
    with ctx.sessions() as session:
        sites = session.scalars(select(Site).order_by(Site.id)).all()
        return {
            "sites": [site_overview(ctx, session, site) for site in sites],
            # Without one, a started run sits `queued`: the dashboard says why.
            "worker_running": worker_running(ctx.redis),
        }
