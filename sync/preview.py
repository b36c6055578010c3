"""Previews: what a full sync of a site would write, found by a run that writes nothing.

A new site's first full sync may change thousands of store numbers at once; the
merchant sees them first. A preview is a run of kind `preview` through the same path
as any run (catalog refresh, batches, the ERP read, sync/push.py's decisions) with the
store write left out (`push_in_session(dry_run=True)`): each batch keeps the writes it
would make (`sync_batches.changes`), and the run's `synced` counts them. It holds the
site's one live run like any other, emits no lifecycle event, and leaves the store,
the items' pushed numbers and the echo memory as they were.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from models import SyncBatch, SyncRun
from sync.context import Context
from sync.errors import Invalid, NotFound
from sync.runs import RunKind, start_run


def start_preview(ctx: Context, site_id: int, *, trigger: str) -> int:
    """Start a preview of the site; its run id (refusals as `start_run`'s)."""
    return start_run(ctx, site_id, kind=RunKind.PREVIEW, trigger=trigger)


def preview_changes(ctx: Context, run_id: int, *, limit: int, offset: int) -> dict[str, Any]:
    """The writes a preview found, by SKU: what the store shows and what a sync would
    write; `total` counts them all."""
    with ctx.sessions() as session:
        run = session.get(SyncRun, run_id)
        if run is None:
            raise NotFound(f"no run {run_id}")
        if run.kind != RunKind.PREVIEW:
            raise Invalid(f"run {run_id} is a {run.kind} run, not a preview: it wrote its changes")
        found: dict[str, Any] = {}
        for changes in session.scalars(
            select(SyncBatch.changes).where(
                SyncBatch.run_id == run_id, SyncBatch.changes.is_not(None)
            )
        ):
            found.update(changes)
        rows = [
            {"sku": sku, "store": store, "would_write": would}
            for sku, (store, would) in sorted(found.items())
        ]
        return {
            "run_id": run_id,
            "status": run.status.value,
            "total": len(rows),
            "items": rows[offset : offset + limit],
        }
