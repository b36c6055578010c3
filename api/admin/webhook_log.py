"""The webhook log: search it, read one request, replay a failed event.

Newest first, paged by `limit` with either `offset` or `cursor` (the `next_cursor` of
the previous page: rows with a smaller id). A cursor stays right while new rows
arrive, an offset does not; `offset` is there for clients that jump to a page.

Replay hands a failed row back to the normal path: status `queued` (committed
first, STYLE.md rule 5), then one message. If the broker is down the row is still
`queued`, and the outbox sweeper (sync/outbox.py) publishes it again once it has waited
longer than a message should.
"""

from __future__ import annotations

import logging
from typing import Any

import redis
from celery import Celery
from kombu.exceptions import KombuError
from sqlalchemy import Select, func, or_, select, update
from sqlalchemy.orm import Session, sessionmaker

from api.admin import schemas
from api.admin.errors import Conflict, NotFound
from api.admin.http import Doc, Param, admin_blueprint, endpoint, page_params
from api.resources import resources
from models import WebhookLog, WebhookStatus
from models.db import transaction
from workers.events import enqueue_event

log = logging.getLogger(__name__)
webhook_log = admin_blueprint("webhook_log")

#: What a listing shows of a row: everything but the payload (one row's GET has it) and
#: the internal dedupe key.
COLUMNS = tuple(
    column.name
    for column in WebhookLog.__table__.columns
    if column.name not in ("payload", "dedupe_key")
)
FILTERS = [
    Param("site_id", schemas.ID, "Only this site's requests."),
    Param(
        "provider", schemas.text(32, 1), "woocommerce, shopify, bigcommerce, standard, zoho, ..."
    ),
    Param("status", {"enum": [s.value for s in WebhookStatus]}, "Only rows in this status."),
    Param("topic", schemas.text(100, 1), "Exact topic, e.g. products/update."),
    Param("since", {"type": "string", "format": "date-time"}, "Received at or after."),
    Param("until", {"type": "string", "format": "date-time"}, "Received before."),
    Param("q", schemas.text(200, 1), "Text search in SKU and entity (case-insensitive)."),
    Param("cursor", schemas.ID, "`next_cursor` of the previous page."),
]


def describe(row: WebhookLog, payload: bool = False) -> dict[str, Any]:
    described = {name: getattr(row, name) for name in COLUMNS}
    described["status"] = row.status.value
    if payload:
        described["payload"] = row.payload
    return described


def _like(text: str) -> str:
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def search(filters: dict[str, Any]) -> Select[Any]:
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
    session: Session, filters: dict[str, Any], limit: int, offset: int = 0
) -> dict[str, Any]:
    rows = list(session.scalars(search(filters).limit(limit + 1).offset(offset)))
    more = len(rows) > limit
    rows = rows[:limit]
    return {
        "items": [describe(row) for row in rows],
        "next_cursor": rows[-1].id if more else None,
    }


def replay(sessions: sessionmaker[Session], celery: Celery, row_id: int) -> dict[str, Any]:
    """Queue a failed event again; Conflict unless it is `failed`."""
    with transaction(sessions) as session:
        row = session.get(WebhookLog, row_id)
        if row is None:
            raise NotFound(f"no webhook log row {row_id}")
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
        enqueue_event(celery, row_id)
        enqueued = True
    except (redis.RedisError, KombuError, OSError) as exc:
        # The row is `queued` and committed: the outbox sweeper publishes it later.
        log.warning(
            "webhook.replay_enqueue_failed", extra={"row": row_id, "error": type(exc).__name__}
        )
        enqueued = False
    log.info("webhook.replayed", extra={"row": row_id, "enqueued": enqueued})
    return {"id": row_id, "status": WebhookStatus.QUEUED.value, "enqueued": enqueued}


def get_row(session: Session, row_id: int) -> WebhookLog:
    row = session.get(WebhookLog, row_id)
    if row is None:
        raise NotFound(f"no webhook log row {row_id}")
    return row


# --- routes -------------------------------------------------------------------------


@endpoint(
    webhook_log,
    "GET",
    "/api/webhooks/log",
    Doc(
        "Search the webhook log, newest first",
        "webhooks",
        query=[*FILTERS, *page_params()],
        response=schemas.listing("WebhookLogRow"),
    ),
)
def index(query: dict[str, Any]) -> dict[str, Any]:
    with resources().sessions() as session:
        return list_rows(session, query, query["limit"], query["offset"])


@endpoint(
    webhook_log,
    "GET",
    "/api/webhooks/log/<id:row_id>",
    Doc(
        "One logged request, with its payload",
        "webhooks",
        response=schemas.ref("WebhookLogRow"),
        errors=(404,),
    ),
)
def show(row_id: int) -> dict[str, Any]:
    with resources().sessions() as session:
        return describe(get_row(session, row_id), payload=True)


@endpoint(
    webhook_log,
    "POST",
    "/api/webhooks/log/<id:row_id>/replay",
    Doc(
        "Queue a failed event again (409 unless it is failed)",
        "webhooks",
        status=202,
        response={
            "type": "object",
            "properties": {
                "id": schemas.ID,
                "status": {"type": "string"},
                "enqueued": {"type": "boolean"},
            },
        },
        errors=(404, 409),
    ),
)
def replay_row(row_id: int) -> dict[str, Any]:
    res = resources()
    return replay(res.sessions, res.celery, row_id)
