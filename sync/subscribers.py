"""Subscribers to the sync lifecycle events (`PRODUCT_SYNC_STARTED`, ...): add, list,
show, change, delete, and send one a test event.

A subscriber gets a Standard Webhooks `whsec_` signing secret (docs/platforms.md
section 9), returned once, on creation or rotation, and stored sealed. Deleting a
subscriber deletes its delivery history too (ON DELETE CASCADE); set `active: false`
to stop deliveries and keep the history. What is delivered, and how, is
sync/lifecycle.py.
"""

from __future__ import annotations

import base64
import secrets
from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from models import EventDelivery, EventSubscription, Site
from models.db import transaction
from sync.context import Context
from sync.errors import Conflict, Invalid, NotFound
from sync.lifecycle import TOPICS, record_test_event


def new_secret() -> str:
    """A Standard Webhooks symmetric secret: 32 random bytes, `whsec_` + base64."""
    return "whsec_" + base64.b64encode(secrets.token_bytes(32)).decode()


def describe(subscription: EventSubscription, secret: str | None = None) -> dict[str, Any]:
    described = {
        "id": subscription.id,
        "url": subscription.url,
        "topics": subscription.topics,
        "site_id": subscription.site_id,
        "active": subscription.active,
        "deactivated_reason": subscription.deactivated_reason,
        "created_at": subscription.created_at,
    }
    if secret is not None:
        described["secret"] = secret
    return described


def _check(session: Session, url: str | None, topics: Sequence[str] | None, site_id: Any) -> None:
    if url is not None and not url.startswith(("https://", "http://")):
        raise Invalid(f"url must be http(s), got {url[:40]!r}")
    if topics is not None:
        unknown = sorted(set(topics) - set(TOPICS))
        if unknown or not topics:
            raise Invalid(f"topics must be among {', '.join(TOPICS)}; got {unknown}")
    if site_id is not None and session.get(Site, site_id) is None:
        raise Invalid(f"site_id: no site {site_id}")


def get_subscription(session: Session, subscription_id: int) -> EventSubscription:
    subscription = session.get(EventSubscription, subscription_id)
    if subscription is None:
        raise NotFound(f"no subscription {subscription_id}")
    return subscription


def subscribe(
    ctx: Context, url: str, topics: Sequence[str] = TOPICS, site_id: int | None = None
) -> dict[str, Any]:
    """Add a subscriber (to one site's runs, or every site's without `site_id`); the
    answer carries its secret, once."""
    secret = new_secret()
    with transaction(ctx.sessions) as session:
        _check(session, url, topics, site_id)
        subscription = EventSubscription(
            url=url,
            secret_sealed=ctx.vault.seal(secret),
            topics=sorted(set(topics)),
            site_id=site_id,
        )
        session.add(subscription)
        session.flush()
        return describe(subscription, secret)


def list_subscriptions(
    ctx: Context, site_id: int | None, limit: int, offset: int
) -> list[dict[str, Any]]:
    statement = select(EventSubscription).order_by(EventSubscription.id)
    if site_id is not None:
        statement = statement.where(EventSubscription.site_id == site_id)
    with ctx.sessions() as session:
        return [describe(row) for row in session.scalars(statement.limit(limit).offset(offset))]


def show_subscription(ctx: Context, subscription_id: int) -> dict[str, Any]:
    with ctx.sessions() as session:
        return describe(get_subscription(session, subscription_id))


def update_subscription(
    ctx: Context, subscription_id: int, changes: Mapping[str, Any]
) -> dict[str, Any]:
    """Change URL, topics, site or state; `rotate_secret` returns a new secret, once."""
    with transaction(ctx.sessions) as session:
        subscription = get_subscription(session, subscription_id)
        _check(session, changes.get("url"), changes.get("topics"), changes.get("site_id"))
        if "site_id" in changes:
            subscription.site_id = changes["site_id"]
        if "url" in changes:
            subscription.url = changes["url"]
        if "topics" in changes:
            subscription.topics = sorted(changes["topics"])
        if "active" in changes:
            subscription.active = changes["active"]
            subscription.deactivated_reason = (
                None if changes["active"] else "deactivated by an operator"
            )
        secret = None
        if changes.get("rotate_secret"):
            secret = new_secret()
            subscription.secret_sealed = ctx.vault.seal(secret)
        session.flush()
        return describe(subscription, secret)


def delete_subscription(ctx: Context, subscription_id: int) -> None:
    with transaction(ctx.sessions) as session:
        session.delete(get_subscription(session, subscription_id))


def send_test_event(ctx: Context, subscription_id: int) -> dict[str, Any]:
    """A `SUBSCRIPTION_TEST` event to this subscriber alone, queued now: to check its
    URL and its signature check before real events count on them. Delivered, retried
    and recorded like any event; `delivery` follows it."""
    with transaction(ctx.sessions) as session:
        subscription = get_subscription(session, subscription_id)
        if not subscription.active:
            reason = subscription.deactivated_reason or "inactive"
            raise Conflict(f"subscription {subscription_id} is inactive ({reason}): activate it")
        [delivery_id] = record_test_event(session, subscription)
        described = describe_delivery(session.get_one(EventDelivery, delivery_id))
    # The operator is waiting for this one: a broker outage is theirs to hear (503).
    ctx.broker.queue_deliveries([delivery_id])
    return described


def describe_delivery(delivery: EventDelivery) -> dict[str, Any]:
    """Where one delivery stands: its attempts and their outcome (never its body)."""
    return {
        "id": delivery.id,
        "subscription_id": delivery.subscription_id,
        "event_id": delivery.event_id,
        "topic": delivery.topic,
        "entity": delivery.entity,
        "status": str(delivery.status),
        "attempts": delivery.attempts,
        "last_status": delivery.last_status,
        "last_error": delivery.last_error,
        "next_attempt_at": delivery.next_attempt_at,
        "delivered_at": delivery.delivered_at,
        "created_at": delivery.created_at,
    }


def show_delivery(ctx: Context, delivery_id: int) -> dict[str, Any]:
    with ctx.sessions() as session:
        delivery = session.get(EventDelivery, delivery_id)
        if delivery is None:
            raise NotFound(f"no delivery {delivery_id}")
        return describe_delivery(delivery)
