"""The stats document: the sync queue from the database and the broker's depths.

`queue` counts full-sync batches by status: every batch still `queued` or
`processing`, and those that finished in the last 24 hours, so the numbers describe
today's work rather than growing forever (`queue_covers` says so to the reader).
`last_syncs` is each site's last completed inventory run (nightly or manual) and the
status of its latest one. `broker` is what the broker holds right now
(sync/context.py `Broker.depths`).
"""

from __future__ import annotations

import logging
from typing import Any

from sqlalchemy import text
from sqlalchemy.orm import Session

from sync.context import Context
from sync.errors import Unavailable
from sync.runs import RunKind

log = logging.getLogger(__name__)

STATUSES = ("queued", "processing", "completed", "failed", "cancelled")

BATCH_COUNTS = text(
    """
    SELECT status, count(*) AS n FROM sync_batches
    WHERE status IN ('queued', 'processing') OR finished_at > now() - interval '24 hours'
    GROUP BY status
    """
)
#: What `queue` counts, said in the document itself (clients showed these numbers as
#: "the queue" of everything, webhooks included).
QUEUE_COVERS = (
    "full-sync batches (up to 500 SKUs each): those queued or processing now, and those "
    "finished in the last 24 hours; webhook events are in `broker`"
)
#: Inventory runs only: a store plugin's record (`webhook:<resource>` runs,
#: sync/unified.py) says nothing about whether the site's stock was synced.
_LAST_SYNCS = text(
    """
    SELECT s.id, s.name,
        (SELECT max(finished_at) FROM sync_runs r
         WHERE r.site_id = s.id AND r.status = 'completed' AND r.kind = ANY(:kinds))
            AS last_sync,
        (SELECT status FROM sync_runs r WHERE r.site_id = s.id AND r.kind = ANY(:kinds)
         ORDER BY r.id DESC LIMIT 1) AS last_status
    FROM sites s ORDER BY s.id
    """
)


def batch_counts(session: Session) -> dict[str, int]:
    """Batches by status (live ones, and those finished in the last 24 hours)."""
    counts = {status: 0 for status in STATUSES}
    for status, n in session.execute(BATCH_COUNTS):
        counts[status] = n
    return counts


def queue_counts(session: Session) -> dict[str, int]:
    counts = batch_counts(session)
    return {
        "total": sum(counts.values()),
        "pending": counts["queued"],
        "processing": counts["processing"],
        "completed": counts["completed"],
        "failed": counts["failed"],
        "cancelled": counts["cancelled"],
    }


def last_syncs(session: Session) -> list[dict[str, Any]]:
    return [
        {
            "site_id": row.id,
            "name": row.name,
            "last_sync": row.last_sync,
            "last_status": row.last_status,
        }
        for row in session.execute(_LAST_SYNCS, {"kinds": [kind.value for kind in RunKind]})
    ]


def collect(ctx: Context) -> dict[str, Any]:
    """The whole document; `broker` is null (and `broker_error` says why) if the broker
    cannot be reached: the database half is still worth answering."""
    with ctx.sessions() as session:
        document: dict[str, Any] = {
            "queue": queue_counts(session),
            "queue_covers": QUEUE_COVERS,
            "last_syncs": last_syncs(session),
        }
    try:
        document["broker"] = ctx.broker.depths()
    except Unavailable as exc:
        log.warning("stats.broker_unavailable", extra={"error": exc.message})
        document["broker"] = None
        document["broker_error"] = exc.message
    return document
