"""`GET /api/inventory/stats`: the sync queue from the database and the broker's depths.

`queue` counts full-sync batches by status: every batch still `queued` or
`processing`, and those that finished in the last 24 hours, so the numbers describe
today's work rather than growing forever. `last_syncs` is each site's last completed
run. `broker` is what Redis holds right now: the length of each queue's lists (kombu's
Redis transport keeps one list per priority step, `<queue>` for 0 and `<queue>:<n>`
with the `sep` of celeryconfig.py) and the messages handed to workers but not yet
acknowledged (`unacked`, which includes tasks waiting for their countdown).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from typing import Any

import redis
from sqlalchemy import text
from sqlalchemy.orm import Session

import celeryconfig
from api.admin import schemas
from api.admin.http import Doc, admin_blueprint, endpoint
from api.resources import resources

log = logging.getLogger(__name__)
stats = admin_blueprint("stats")

#: kombu's Redis transport: the hash of delivered, unacknowledged messages.
UNACKED_KEY = "unacked"
STATUSES = ("queued", "processing", "completed", "failed", "cancelled")

BATCH_COUNTS = text(
    """
    SELECT status, count(*) AS n FROM sync_batches
    WHERE status IN ('queued', 'processing') OR finished_at > now() - interval '24 hours'
    GROUP BY status
    """
)
_LAST_SYNCS = text(
    """
    SELECT s.id, s.name,
        (SELECT max(finished_at) FROM sync_runs r
         WHERE r.site_id = s.id AND r.status = 'completed') AS last_sync,
        (SELECT status FROM sync_runs r WHERE r.site_id = s.id
         ORDER BY r.id DESC LIMIT 1) AS last_status
    FROM sites s ORDER BY s.id
    """
)


def queue_counts(session: Session) -> dict[str, int]:
    counts = {status: 0 for status in STATUSES}
    for status, n in session.execute(BATCH_COUNTS):
        counts[status] = n
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
        for row in session.execute(_LAST_SYNCS)
    ]


def queue_keys(queue: str, options: Mapping[str, Any]) -> list[str]:
    """The Redis lists holding `queue`'s messages, one per priority step."""
    sep = options.get("sep", "\x06\x16")
    steps = options.get("priority_steps") or [0]
    return [queue if step == 0 else f"{queue}{sep}{step}" for step in steps]


def broker_depths(
    client: redis.Redis,
    options: Mapping[str, Any],
    queues: Iterable[str] = celeryconfig.QUEUES,
) -> dict[str, Any]:
    """Messages waiting per queue (all priorities summed), and unacknowledged ones."""
    queues = list(queues)
    pipe = client.pipeline(transaction=False)
    for queue in queues:
        for key in queue_keys(queue, options):
            pipe.llen(key)
    pipe.hlen(UNACKED_KEY)
    answers = pipe.execute()
    depths, index = {}, 0
    for queue in queues:
        width = len(queue_keys(queue, options))
        depths[queue] = int(sum(answers[index : index + width]))
        index += width
    return {"queues": depths, "unacked": int(answers[index])}


def collect(session: Session, client: redis.Redis, options: Mapping[str, Any]) -> dict[str, Any]:
    """The whole stats document; `broker` is null (and `broker_error` set) if Redis is down."""
    document: dict[str, Any] = {"queue": queue_counts(session), "last_syncs": last_syncs(session)}
    try:
        document["broker"] = broker_depths(client, options)
    except redis.RedisError as exc:
        # The database half is still worth answering; say why the broker half is missing.
        log.warning("stats.broker_unavailable", extra={"error": type(exc).__name__})
        document["broker"] = None
        document["broker_error"] = type(exc).__name__
    return document


@endpoint(
    stats,
    "GET",
    "/api/inventory/stats",
    Doc(
        "Sync queue counts (batches by status), each site's last sync, broker queue depths",
        "stats",
        response=schemas.ref("Stats"),
    ),
)
def show() -> dict[str, Any]:
    res = resources()
    with res.sessions() as session:
        return collect(session, res.redis, res.celery.conf.broker_transport_options)
