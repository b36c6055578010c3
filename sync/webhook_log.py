"""The webhook log: search it, read one request, replay a failed event.

Newest first, paged by `limit` with either `offset` or `cursor` (the `next_cursor` of
the previous page: rows with a smaller id). A cursor stays right while new rows
arrive, an offset does not; `offset` is there for clients that jump to a page.

Replay hands a failed row back to the normal path: status `queued` (committed first,
docs/style.md rule 5), then one message. If the broker is down the row is still
`queued`, and the outbox sweeper (sync/outbox.py) publishes it again once it has waited
longer than a message should.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from sqlalchemy import Select, func, or_, select, update
from sqlalchemy.orm import Session

from models import WebhookLog, WebhookStatus
from models.db import transaction
from sync.context import Context
from sync.errors import Conflict, NotFound, Unavailable

log = logging.getLogger(__name__)

#: What a listing shows of a row: everything but the payload (one row's detail has it)
#: and the internal dedupe key.
COLUMNS = tuple(
    column.name
    for column in WebhookLog.__table__.columns
    if column.name not in ("payload", "dedupe_key")
)


def describe(row: WebhookLog, payload: bool = False) -> dict[str, Any]:
    described = {name: getattr(row, name) for name in COLUMNS}
    described["status"] = row.status.value
    if payload:
        described["payload"] = row.payload
    return described


def _like(text: str) -> str:
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def search(filters: Mapping[str, Any]) -> Select[Any]:
    """The query for the filters (all optional), newest first."""
    query = select(WebhookLog).order_by(WebhookLog.id.desc())
    for name in ("site_id", "provider", "status", "topic"):
        if filters.get(name) is not None:
            query = query.where(getattr(WebhookLog, name) == filters[name])
    if filters.get("since") is not None:
        query = query.where(WebhookLog.received_at >= filters["since"])
    if filters.get("until") is not None:
        query = query.where(WebhookLog.received_at < filters["until"])
    if filters.get("q"):
        pattern = _like(filters["q"])
        query = query.where(or_(WebhookLog.sku.ilike(pattern), WebhookLog.entity.ilike(pattern)))
    if filters.get("cursor") is not None:
        query = query.where(WebhookLog.id < filters["cursor"])
    return query


def list_rows(
    ctx: Context, filters: Mapping[str, Any], limit: int, offset: int = 0
) -> dict[str, Any]:
    """A page of rows matching `filters`, and the cursor of the next page (or None)."""
    with ctx.sessions() as session:
        rows = list(session.scalars(search(filters).limit(limit + 1).offset(offset)))
        more = len(rows) > limit
        rows = rows[:limit]
        return {
            "items": [describe(row) for row in rows],
            "next_cursor": rows[-1].id if more else None,
        }


def get_row(session: Session, row_id: int) -> WebhookLog:
    row = session.get(WebhookLog, row_id)
    if row is None:
        raise NotFound(f"no webhook log row {row_id}")
    return row


def show_row(ctx: Context, row_id: int) -> dict[str, Any]:
    """One logged request, with its payload."""
    with ctx.sessions() as session:
        return describe(get_row(session, row_id), payload=True)


def replay(ctx: Context, row_id: int) -> dict[str, Any]:
    """Queue a failed event again; `Conflict` unless it is `failed`."""
    with transaction(ctx.sessions) as session:
        row = get_row(session, row_id)
        # Conditional on the status, so two replays of one row queue it once.
        replayed = session.execute(
            update(WebhookLog)
            .where(WebhookLog.id == row_id, WebhookLog.status == WebhookStatus.FAILED)
            .values(status=WebhookStatus.QUEUED, queued_at=func.now(), error=None)
            .returning(WebhookLog.id)
        ).first()
        if replayed is None:
            raise Conflict(f"row {row_id} is {row.status.value}; only failed events are replayed")
    try:
        ctx.broker.queue_event(row_id)
        enqueued = True
    except Unavailable as exc:
        # The row is `queued` and committed: the outbox sweeper publishes it later.
        log.warning("webhook.replay_enqueue_failed", extra={"row": row_id, "error": exc.message})
        enqueued = False
    log.info("webhook.replayed", extra={"row": row_id, "enqueued": enqueued})
    return {"id": row_id, "status": WebhookStatus.QUEUED.value, "enqueued": enqueued}
