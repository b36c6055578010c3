"""Sync lifecycle events: who gets them, what they say, and how each attempt is kept.

Each run emits `PRODUCT_SYNC_STARTED`, then `PRODUCT_SYNC_COMPLETED` or
`PRODUCT_SYNC_FAILED` (a cancelled run is a failed one with status `cancelled`), the
topics commerce platforms send their partners (docs/platforms.md section 8). Events are
Standard Webhooks messages (section 9): `webhook-id` unique per event and the same on
every retry, `webhook-timestamp` of the attempt, and `webhook-signature` `v1,<base64
HMAC-SHA256 of "id.timestamp.body">` made by the `standardwebhooks` library with the
subscriber's `whsec_` secret. Success is 2xx only; 410 Gone deactivates the subscriber.

`record_run_event` writes one delivery row per subscriber inside the caller's
transaction (the run change and its event commit together); the caller publishes the
returned ids after commit, and a sweeper publishes any it missed.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, select, text, update
from sqlalchemy.orm import Session
from standardwebhooks import Webhook

from models import DeliveryStatus, EventDelivery, EventSubscription, SyncRun
from models.crypto import Vault

STARTED = "PRODUCT_SYNC_STARTED"
COMPLETED = "PRODUCT_SYNC_COMPLETED"
FAILED = "PRODUCT_SYNC_FAILED"
TOPICS = (STARTED, COMPLETED, FAILED)

#: While an attempt is under way its delivery is not due, so a duplicate message for
#: it does nothing; an attempt that dies leaves it due again after this long.
ATTEMPT_LEASE = timedelta(minutes=2)


def run_data(run: SyncRun) -> dict[str, Any]:
    """The event's `data`: the run's counts, timing and error, JSON primitives only."""
    duration = None
    if run.started_at is not None and run.finished_at is not None:
        duration = round((run.finished_at - run.started_at).total_seconds(), 3)
    return {
        "run_id": run.id,
        "site_id": run.site_id,
        "kind": run.kind,
        "trigger": run.trigger,
        "status": str(run.status),
        "total": run.total,
        "synced": run.synced,
        "unchanged": run.unchanged,
        "failed": run.failed,
        "opted_out": run.opted_out,
        "skipped": run.skipped,
        "held_over": run.held_over,
        "store_calls": run.store_calls,
        "started_at": run.started_at.isoformat() if run.started_at else None,
        "finished_at": run.finished_at.isoformat() if run.finished_at else None,
        "duration_seconds": duration,
        "error": run.error,
    }


def record_run_event(session: Session, run: SyncRun, topic: str) -> list[int]:
    """One pending delivery per active subscriber of `topic` for the run's site; none
    for a preview, which syncs no product."""
    if run.kind == "preview":
        return []
    subscribers = session.scalars(
        select(EventSubscription.id).where(
            EventSubscription.active,
            EventSubscription.topics.contains([topic]),
            (EventSubscription.site_id.is_(None)) | (EventSubscription.site_id == run.site_id),
        )
    ).all()
    if not subscribers:
        return []
    now = session.execute(select(func.now())).scalar_one()
    payload = {"type": topic, "timestamp": now.isoformat(), "data": run_data(run)}
    event_id = f"msg_{uuid.uuid4().hex}"
    deliveries = [
        EventDelivery(
            subscription_id=subscription_id,
            event_id=event_id,
            topic=topic,
            payload=payload,
            status=DeliveryStatus.PENDING,
            next_attempt_at=now,
        )
        for subscription_id in subscribers
    ]
    session.add_all(deliveries)
    session.flush()
    return [delivery.id for delivery in deliveries]


@dataclass(frozen=True)
class Attempt:
    """One claimed attempt: where to send what, signed how."""

    delivery_id: int
    number: int
    url: str
    event_id: str
    body: str
    secret: str

    def headers(self, at: datetime) -> dict[str, str]:
        signature = Webhook(self.secret).sign(self.event_id, at, self.body)
        return {
            "Content-Type": "application/json",
            "webhook-id": self.event_id,
            "webhook-timestamp": str(int(at.timestamp())),
            "webhook-signature": signature,
        }


def claim_attempt(session: Session, vault: Vault, delivery_id: int) -> Attempt | None:
    """Take the delivery's next attempt if it is due, pending and its subscriber active."""
    row = session.execute(
        text(
            """
            UPDATE event_deliveries d
            SET attempts = d.attempts + 1, next_attempt_at = now() + :lease, updated_at = now()
            FROM event_subscriptions s
            WHERE d.id = :id AND s.id = d.subscription_id AND s.active
              AND d.status = 'pending' AND d.next_attempt_at <= now()
            RETURNING d.attempts, d.event_id, d.payload, s.url, s.secret_sealed
            """
        ),
        {"id": delivery_id, "lease": ATTEMPT_LEASE},
    ).one_or_none()
    if row is None:
        return None
    body = json.dumps(row.payload, separators=(",", ":"), sort_keys=True)
    secret = str(vault.open(row.secret_sealed))
    return Attempt(delivery_id, row.attempts, row.url, row.event_id, body, secret)


def record_attempt(
    session: Session,
    attempt: Attempt,
    status: int | None,
    error: str | None,
    schedule: Sequence[float],
) -> float | None:
    """Keep the attempt's outcome; return seconds until the next attempt, or None.

    2xx: delivered. 410: the subscriber is deactivated and its pending deliveries
    cancelled. Anything else: retried after `schedule[attempt - 1]` seconds, until the
    schedule runs out and the delivery is failed.
    """
    now = session.execute(select(func.now())).scalar_one()
    entry = {"at": now.isoformat(), "status": status, "error": error}
    delivery = session.get_one(EventDelivery, attempt.delivery_id, with_for_update=True)
    delivery.history = [*delivery.history, entry]
    delivery.last_status, delivery.last_error = status, error
    delay: float | None = None
    if status is not None and 200 <= status < 300:
        delivery.status, delivery.delivered_at = DeliveryStatus.DELIVERED, now
    elif status == 410:
        _deactivate(session, delivery.subscription_id, "answered 410 Gone")
        delivery.status = DeliveryStatus.CANCELLED
    elif attempt.number > len(schedule):
        delivery.status = DeliveryStatus.FAILED
    else:
        delay = float(schedule[attempt.number - 1])
        delivery.next_attempt_at = now + timedelta(seconds=delay)
    return delay


def _deactivate(session: Session, subscription_id: int, reason: str) -> None:
    session.execute(
        update(EventSubscription)
        .where(EventSubscription.id == subscription_id)
        .values(active=False, deactivated_reason=reason)
    )
    session.execute(
        update(EventDelivery)
        .where(
            EventDelivery.subscription_id == subscription_id,
            EventDelivery.status == DeliveryStatus.PENDING,
        )
        .values(status=DeliveryStatus.CANCELLED)
    )


def due_deliveries(session: Session, overdue: timedelta, limit: int = 500) -> list[int]:
    """Pending deliveries due for longer than `overdue`: their message was never sent
    (a wait longer than a countdown may be) or was lost. Oldest first."""
    return list(
        session.scalars(
            select(EventDelivery.id)
            .where(
                EventDelivery.status == DeliveryStatus.PENDING,
                EventDelivery.next_attempt_at <= func.now() - overdue,
            )
            .order_by(EventDelivery.next_attempt_at)
            .limit(limit)
        )
    )
