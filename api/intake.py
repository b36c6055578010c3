"""The accept path: one durable row per request, nothing else before the 200.

The receiver writes each request's `webhook_log` row with a single autocommit INSERT:
one round trip, durable when it returns (PostgreSQL group-commits concurrent requests
itself). Accepted events are written `received`; the relay (sync/relay.py, its own
process) then opens the dedupe window, publishes and marks them. Killed at any line,
nothing is lost: a row is either not written (the platform gets no 200 and retries) or
written and picked up by the relay.

Measured (bench/ingest.py): keeping dedupe and publishing in the web process, even on
background threads with group commit, cost more in thread hand-offs and contention for
the interpreter than it saved; a web process that only verifies and inserts is faster.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import psycopg2
from sqlalchemy import Engine

from api.webhooks.event import Event
from models import WebhookLog, WebhookStatus


@dataclass(frozen=True)
class Owner:
    """The site or source a webhook URL names."""

    kind: str
    id: int
    site_id: int | None
    source_id: int | None
    accepting: bool


def window_key(owner: Owner, event: Event) -> str:
    """The dedupe window of an event: per (owner, kind, entity), DESIGN.md flow 2."""
    return f"stocksync:window:{owner.kind}:{owner.id}:{event.kind}:{event.entity}"


def event_row(provider: str, owner: Owner, event: Event) -> dict[str, Any]:
    """The log row of an accepted event."""
    return {
        "provider": provider,
        "site_id": owner.site_id,
        "source_id": owner.source_id,
        "topic": event.topic[:100],
        "kind": event.kind,
        "delivery_id": event.delivery_id[:200] if event.delivery_id else None,
        "entity": event.entity[:200],
        "sku": event.sku,
        "dedupe_key": window_key(owner, event)[:300],
        "occurred_at": event.occurred_at,
        "payload": event.payload,
    }


COLUMNS = (
    "provider",
    "site_id",
    "source_id",
    "topic",
    "kind",
    "delivery_id",
    "entity",
    "sku",
    "dedupe_key",
    "occurred_at",
    "payload",
    "status",
    "error",
)
#: Written with psycopg2 directly: on the hottest line of the receiver, SQLAlchemy's
#: statement building cost more CPU than the rest of the request (cProfile, 1.5 ms of
#: 3.7). The table is `models.WebhookLog`; a test checks this list against it.
_TARGET = f"{WebhookLog.__tablename__} ({', '.join(COLUMNS)})"
_PLACEHOLDERS = ", ".join(["%s"] * len(COLUMNS))
INSERT_SQL = f"INSERT INTO {_TARGET} VALUES ({_PLACEHOLDERS}) RETURNING id"  # noqa: S608


def record(
    engine: Engine, values: dict[str, Any], status: WebhookStatus
) -> tuple[WebhookStatus, int]:
    """Write one row durably; return its status (`duplicate` for a delivery seen before)
    and its id, which every later log line about the event carries as `event`.

    The INSERT runs in autocommit: it is its own transaction, durable on return.
    """
    row = {**values, "status": status}
    try:
        return status, _insert(engine, row)
    except psycopg2.errors.UniqueViolation:
        # The one insert that can race (uq_webhook_log_delivery): a platform retry of a
        # delivery already held. Log the retry itself as a duplicate.
        duplicate = {**row, "status": WebhookStatus.DUPLICATE, "error": "delivery seen before"}
        return WebhookStatus.DUPLICATE, _insert(engine, duplicate)


def _insert(engine: Engine, row: dict[str, Any]) -> int:
    params = [row.get(column) for column in COLUMNS]
    params[COLUMNS.index("payload")] = _json(row.get("payload"))
    params[COLUMNS.index("status")] = str(row["status"])
    connection = engine.raw_connection()
    try:
        # Autocommit: the INSERT is its own transaction, one round trip.
        connection.driver_connection.autocommit = True  # type: ignore[union-attr]
        cursor = connection.cursor()
        try:
            cursor.execute(INSERT_SQL, params)
            row_id: int = cursor.fetchone()[0]  # type: ignore[index]
        finally:
            cursor.close()
    finally:
        connection.close()  # back to the pool
    return row_id


def _json(value: Any) -> str | None:
    return None if value is None else json.dumps(value)
