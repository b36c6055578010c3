"""The accept path: write the log row, dedupe in Redis, enqueue, in that order.

Why this order (DESIGN.md flows 1-2, "correct when any process is killed at any line"):
1. The row is committed first, as `received`. Killed after this line, the outbox
   sweeper enqueues it later; a platform retry of the same delivery hits the unique
   index on (provider, site, delivery id) and is logged `duplicate`.
2. One Redis round trip (`SET NX PX window`) on (owner, kind, entity): the first event
   of a window is processed when the window closes and reads the state then; later
   ones are `duplicate`. Redis down: the row stays `received` for the sweeper.
3. Enqueue with countdown = window, then mark `queued` (only if still `received`, so a
   fast worker's `processed` is never overwritten). Killed between enqueue and mark, the
   sweeper may enqueue again; the task's row lock makes the second run a no-op.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import redis
from celery import Celery
from kombu.exceptions import KombuError
from sqlalchemy import insert, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from api.webhooks.event import Event
from models import WebhookLog, WebhookStatus
from workers.events import enqueue_event

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Owner:
    """The site or source a webhook URL names."""

    kind: str
    id: int
    site_id: int | None
    source_id: int | None
    accepting: bool


def window_key(owner: Owner, event: Event) -> str:
    return f"stocksync:window:{owner.kind}:{owner.id}:{event.kind}:{event.entity}"


def write_row(sessions: sessionmaker[Session], **values: Any) -> int:
    with sessions.begin() as session:
        row_id: int = session.execute(
            insert(WebhookLog).values(**values).returning(WebhookLog.id)
        ).scalar_one()
    return row_id


def _mark(
    sessions: sessionmaker[Session], row_id: int, status: WebhookStatus, **extra: Any
) -> None:
    with sessions.begin() as session:
        session.execute(
            update(WebhookLog)
            .where(WebhookLog.id == row_id, WebhookLog.status == WebhookStatus.RECEIVED)
            .values(status=status, **extra)
        )


def accept(
    sessions: sessionmaker[Session],
    client: redis.Redis,
    celery: Celery,
    provider: str,
    owner: Owner,
    event: Event,
    window_seconds: float,
) -> WebhookStatus:
    """Log, dedupe and enqueue one verified event; return the status it ended in."""
    values: dict[str, Any] = {
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
    try:
        row_id = write_row(sessions, status=WebhookStatus.RECEIVED, **values)
    except IntegrityError:
        # The one insert that can race: a platform retry of a delivery we already hold
        # (uq_webhook_log_delivery). Log the retry itself as a duplicate.
        write_row(sessions, status=WebhookStatus.DUPLICATE, error="delivery seen before", **values)
        return WebhookStatus.DUPLICATE
    try:
        first = client.set(values["dedupe_key"], row_id, nx=True, px=int(window_seconds * 1000))
    except redis.RedisError as exc:
        log.warning("webhook.redis_down", extra={"row": row_id, "error": type(exc).__name__})
        return WebhookStatus.RECEIVED
    if not first:
        _mark(sessions, row_id, WebhookStatus.DUPLICATE, error="coalesced into the open window")
        return WebhookStatus.DUPLICATE
    try:
        enqueue_event(celery, row_id, countdown=window_seconds)
    except (redis.RedisError, KombuError, OSError) as exc:
        log.warning("webhook.enqueue_failed", extra={"row": row_id, "error": type(exc).__name__})
        return WebhookStatus.RECEIVED
    _mark(sessions, row_id, WebhookStatus.QUEUED, queued_at=datetime.now(UTC))
    return WebhookStatus.QUEUED
