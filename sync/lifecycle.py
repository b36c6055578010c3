"""Sync lifecycle events: who gets them, what they say, and how each attempt is kept.

The topics commerce platforms send their partners (docs/platforms.md section 8):
- a product sync run emits `PRODUCT_SYNC_STARTED`, then `PRODUCT_SYNC_COMPLETED` or
  `PRODUCT_SYNC_FAILED` (a cancelled run is a failed one with status `cancelled`);
- a category sync run (the store plugin's categories) the `COLLECTION_SYNC_*` three;
- a site emits `MERCHANT_CONNECTED` when its first connection test passes, and
  `MERCHANT_DISABLED` / `MERCHANT_ENABLED` when it is deactivated and re-activated.
`SUBSCRIPTION_TEST` goes to one subscriber that asked for it, whatever its topics.

Events are Standard Webhooks messages (section 9): `webhook-id` unique per event and
the same on every retry, `webhook-timestamp` of the attempt, and `webhook-signature`
`v1,<base64 HMAC-SHA256 of "id.timestamp.body">` made by the `standardwebhooks` library
with the subscriber's `whsec_` secret. Beside them, `X-Stocksync-Topic`,
`X-Stocksync-Entity` (`run`, `site` or `test`), `X-Stocksync-Entity-Id` and
`X-Stocksync-Event-Id` let a subscriber route a request before reading its body. Success
is 2xx only; 410 Gone deactivates the subscriber.

Each delivery names its entity (`run:12`, `site:3`; a test event `test:<event id>`).
A subscriber gets one entity's events in the order they happened: a delivery is not
attempted while an earlier one of the same subscriber and entity is pending
(`claim_attempt`), and the end of one hands over to the next (`record_attempt`). So a
`COMPLETED` never arrives before its `STARTED`, however often the `STARTED` had to be
retried; one that failed for good (every attempt of the schedule) no longer holds the
next back. "Earlier" is by id: the events of one site are recorded under its row lock
(sync/sites.py, sync/merchant_events.py), and a run's by the run's own transitions, so
id order is the order they happened.

`record_event` writes one delivery row per subscriber inside the caller's transaction
(the change and its event commit together); the caller publishes the returned ids after
commit, and a sweeper publishes any it missed.
"""

from __future__ import annotations

import json
import logging
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, exists, func, select, update
from sqlalchemy.orm import Session, aliased
from standardwebhooks import Webhook

from models import DeliveryStatus, EventDelivery, EventSubscription, RunStatus, SyncRun
from models.crypto import Vault
from sync.context import Broker
from sync.errors import Unavailable

log = logging.getLogger(__name__)

STARTED = "PRODUCT_SYNC_STARTED"
COMPLETED = "PRODUCT_SYNC_COMPLETED"
FAILED = "PRODUCT_SYNC_FAILED"
COLLECTION_STARTED = "COLLECTION_SYNC_STARTED"
COLLECTION_COMPLETED = "COLLECTION_SYNC_COMPLETED"
COLLECTION_FAILED = "COLLECTION_SYNC_FAILED"
MERCHANT_CONNECTED = "MERCHANT_CONNECTED"
MERCHANT_DISABLED = "MERCHANT_DISABLED"
MERCHANT_ENABLED = "MERCHANT_ENABLED"
#: What a subscriber may subscribe to.
TOPICS = (
    STARTED,
    COMPLETED,
    FAILED,
    COLLECTION_STARTED,
    COLLECTION_COMPLETED,
    COLLECTION_FAILED,
    MERCHANT_CONNECTED,
    MERCHANT_DISABLED,
    MERCHANT_ENABLED,
)
#: Sent only to the subscriber that asks for it (`record_test_event`).
TEST = "SUBSCRIPTION_TEST"
#: The run kind of the store plugin's category pushes (sync/unified.py).
CATEGORY_RUN = "webhook:categories"
#: A category run's topic for each of the product topics the callers name.
_COLLECTION = {
    STARTED: COLLECTION_STARTED,
    COMPLETED: COLLECTION_COMPLETED,
    FAILED: COLLECTION_FAILED,
}

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


def run_topic(run: SyncRun, topic: str) -> str | None:
    """The topic a run emits at the phase the product topic `topic` names: a category
    run's `COLLECTION_SYNC_*`; none for a preview (it syncs nothing) nor for the
    plugin's orders, customers and products, which are records, not syncs."""
    if run.kind == CATEGORY_RUN:
        return _COLLECTION[topic]
    if run.kind == "preview" or run.kind.startswith("webhook:"):
        return None
    return topic


def record_run_event(session: Session, run: SyncRun, topic: str) -> list[int]:
    """The run's event at the phase `topic` (`STARTED`, `COMPLETED`, `FAILED`) names,
    for the subscribers of its site (`record_event`)."""
    emitted = run_topic(run, topic)
    if emitted is None:
        return []
    return record_event(session, emitted, f"run:{run.id}", run.site_id, run_data(run))


def record_whole_run(session: Session, run: SyncRun) -> list[int]:
    """Both events of a run that began and ended in one transaction (the store plugin's
    pushes, sync/unified.py): its `STARTED` as it began (running, nothing counted yet),
    then its end. They commit together, and reach each subscriber in that order."""
    topic = run_topic(run, STARTED)
    if topic is None:
        return []
    began = run_data(run) | {
        "status": str(RunStatus.RUNNING),
        **dict.fromkeys(("synced", "unchanged", "failed", "skipped"), 0),
        **dict.fromkeys(("finished_at", "duration_seconds", "error"), None),
    }
    first = record_event(session, topic, f"run:{run.id}", run.site_id, began)
    end = COMPLETED if run.status == RunStatus.COMPLETED else FAILED
    return first + record_run_event(session, run, end)


def record_event(
    session: Session, topic: str, entity: str, site_id: int, data: dict[str, Any]
) -> list[int]:
    """One pending delivery of a new event per active subscriber of `topic` for the
    site (its own subscribers and those of every site), in the caller's transaction;
    their ids, for the caller to publish after commit."""
    subscribers = session.scalars(
        select(EventSubscription.id).where(
            EventSubscription.active,
            EventSubscription.topics.contains([topic]),
            (EventSubscription.site_id.is_(None)) | (EventSubscription.site_id == site_id),
        )
    ).all()
    return _deliveries(session, subscribers, topic, entity, data)


def record_test_event(session: Session, subscription: EventSubscription) -> list[int]:
    """A `SUBSCRIPTION_TEST` event for this subscriber alone (to check its URL and its
    signature check): delivered, retried and recorded like any other. Each is its own
    entity (`test:<event id>`), so a new test never waits behind an earlier one still
    being retried: the operator who fixed the URL sees the answer now."""
    data = {"subscription_id": subscription.id, "url": subscription.url}
    event_id = _new_event_id()
    return _deliveries(session, [subscription.id], TEST, f"test:{event_id}", data, event_id)


def _new_event_id() -> str:
    return f"msg_{uuid.uuid4().hex}"


def _deliveries(
    session: Session,
    subscribers: Sequence[int],
    topic: str,
    entity: str,
    data: dict[str, Any],
    event_id: str | None = None,
) -> list[int]:
    if not subscribers:
        return []
    now = session.execute(select(func.now())).scalar_one()
    payload = {"type": topic, "timestamp": now.isoformat(), "data": data}
    event_id = event_id or _new_event_id()
    deliveries = [
        EventDelivery(
            subscription_id=subscription_id,
            event_id=event_id,
            topic=topic,
            entity=entity,
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
    topic: str
    entity: str
    body: str
    #: Never in a repr: an attempt may end up in a log line or a failed assertion.
    secret: str = field(repr=False)

    def headers(self, at: datetime) -> dict[str, str]:
        signature = Webhook(self.secret).sign(self.event_id, at, self.body)
        kind, _, entity_id = self.entity.partition(":")
        return {
            "Content-Type": "application/json",
            "webhook-id": self.event_id,
            "webhook-timestamp": str(int(at.timestamp())),
            "webhook-signature": signature,
            "X-Stocksync-Topic": self.topic,
            "X-Stocksync-Entity": kind,
            "X-Stocksync-Entity-Id": entity_id,
            "X-Stocksync-Event-Id": self.event_id,
        }


def _first_in_line() -> ColumnElement[bool]:
    """No earlier delivery of the same subscriber and entity is still pending: the
    condition for attempting one (the module's ordering rule)."""
    earlier = aliased(EventDelivery)
    return ~exists().where(
        earlier.subscription_id == EventDelivery.subscription_id,
        earlier.entity == EventDelivery.entity,
        earlier.id < EventDelivery.id,
        earlier.status == DeliveryStatus.PENDING,
    )


def claim_attempt(session: Session, vault: Vault, delivery_id: int) -> Attempt | None:
    """Take the delivery's next attempt if it is due, pending, first in its entity's
    line, and its subscriber active. A delivery waiting for an earlier one is taken up
    when that one ends (`record_attempt` names it)."""
    now = func.now()
    row = session.execute(
        update(EventDelivery)
        .where(
            EventDelivery.id == delivery_id,
            EventSubscription.id == EventDelivery.subscription_id,
            EventSubscription.active,
            EventDelivery.status == DeliveryStatus.PENDING,
            EventDelivery.next_attempt_at <= now,
            _first_in_line(),
        )
        .values(
            attempts=EventDelivery.attempts + 1,
            next_attempt_at=now + ATTEMPT_LEASE,
            updated_at=now,
        )
        .returning(
            EventDelivery.attempts,
            EventDelivery.event_id,
            EventDelivery.topic,
            EventDelivery.entity,
            EventDelivery.payload,
            EventSubscription.url,
            EventSubscription.secret_sealed,
        )
        .execution_options(synchronize_session=False)
    ).one_or_none()
    if row is None:
        return None
    body = json.dumps(row.payload, separators=(",", ":"), sort_keys=True)
    secret = str(vault.open(row.secret_sealed))
    return Attempt(
        delivery_id, row.attempts, row.url, row.event_id, row.topic, row.entity, body, secret
    )


@dataclass(frozen=True)
class Outcome:
    """After an attempt: seconds until the next one (None: it ended), and the delivery
    now first in its entity's line, to publish at once (None if none waits)."""

    retry_in: float | None
    next_in_line: int | None = None


def record_attempt(
    session: Session,
    attempt: Attempt,
    status: int | None,
    error: str | None,
    schedule: Sequence[float],
) -> Outcome:
    """Keep the attempt's outcome: when to try again, or which delivery is next.

    2xx: delivered. 410: the subscriber is deactivated and its pending deliveries
    cancelled. Anything else: retried after `schedule[attempt - 1]` seconds, until the
    schedule runs out and the delivery is failed.
    """
    now = session.execute(select(func.now())).scalar_one()
    entry = {"at": now.isoformat(), "status": status, "error": error}
    delivery = session.get_one(EventDelivery, attempt.delivery_id, with_for_update=True)
    delivery.history = [*delivery.history, entry]
    delivery.last_status, delivery.last_error = status, error
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
        return Outcome(delay)
    if delivery.status == DeliveryStatus.CANCELLED:
        return Outcome(None)
    follower = session.scalars(
        select(EventDelivery.id)
        .where(
            EventDelivery.subscription_id == delivery.subscription_id,
            EventDelivery.entity == delivery.entity,
            EventDelivery.status == DeliveryStatus.PENDING,
            EventDelivery.id > delivery.id,
        )
        .order_by(EventDelivery.id)
        .limit(1)
    ).first()
    return Outcome(None, follower)


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
    """Pending deliveries first in their entity's line and due for longer than
    `overdue`: their message was never sent (a wait longer than a countdown may be) or
    was lost. Oldest first. One waiting behind an earlier delivery is not due: that
    one's end publishes it."""
    return list(
        session.scalars(
            select(EventDelivery.id)
            .where(
                EventDelivery.status == DeliveryStatus.PENDING,
                EventDelivery.next_attempt_at <= func.now() - overdue,
                _first_in_line(),
                # An inactive subscriber's pending rows wait for it to come back; left
                # in, they could fill every page and starve the active ones.
                EventSubscription.id == EventDelivery.subscription_id,
                EventSubscription.active,
            )
            .order_by(EventDelivery.next_attempt_at)
            .limit(limit)
        )
    )


def publish(broker: Broker, deliveries: Sequence[int]) -> None:
    """Queue committed deliveries. With the broker down they only wait, and the change
    that recorded them stands: the sweeper publishes pending deliveries a minute after
    they are due (workers/lifecycle.py `OVERDUE`)."""
    try:
        broker.queue_deliveries(deliveries)
    except Unavailable:
        log.warning("lifecycle.not_queued", extra={"deliveries": len(deliveries)})
