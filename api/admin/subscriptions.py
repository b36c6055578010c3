"""Subscriptions to the sync lifecycle events (`PRODUCT_SYNC_STARTED`, ...): CRUD.

Creation goes through `sync.lifecycle.subscribe`, which makes the `whsec_` signing
secret; the secret is returned once, on creation or rotation, and never again.
Deleting a subscription deletes its delivery history too (ON DELETE CASCADE); set
`active: false` to stop deliveries and keep the history.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from api.admin import schemas
from api.admin.errors import Invalid, NotFound
from api.admin.http import Doc, Param, admin_blueprint, endpoint, page_params
from api.admin.sites import committing
from api.resources import resources
from models import EventSubscription, Site
from models.crypto import Vault
from sync import lifecycle

subscriptions = admin_blueprint("subscriptions")


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


def _check_site(session: Session, site_id: int | None) -> None:
    if site_id is not None and session.get(Site, site_id) is None:
        raise Invalid(f"site_id: no site {site_id}")


def get_subscription(session: Session, subscription_id: int) -> EventSubscription:
    subscription = session.get(EventSubscription, subscription_id)
    if subscription is None:
        raise NotFound(f"no subscription {subscription_id}")
    return subscription


def create_subscription(session: Session, vault: Vault, body: dict[str, Any]) -> dict[str, Any]:
    _check_site(session, body.get("site_id"))
    try:
        subscription, secret = lifecycle.subscribe(
            session, vault, body["url"], body.get("topics", lifecycle.TOPICS), body.get("site_id")
        )
    except lifecycle.SubscriptionError as exc:
        raise Invalid(str(exc)) from None
    return describe(subscription, secret)


def update_subscription(
    session: Session, vault: Vault, subscription_id: int, changes: dict[str, Any]
) -> dict[str, Any]:
    subscription = get_subscription(session, subscription_id)
    if "site_id" in changes:
        _check_site(session, changes["site_id"])
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
        secret = lifecycle.new_secret()
        subscription.secret_sealed = vault.seal(secret)
    session.flush()
    return describe(subscription, secret)


# --- routes -------------------------------------------------------------------------


@endpoint(
    subscriptions,
    "GET",
    "/api/events/subscriptions",
    Doc(
        "List lifecycle event subscriptions",
        "subscriptions",
        query=[
            Param("site_id", schemas.ID, "Only this site's (site-wide ones excluded)."),
            *page_params(),
        ],
        response=schemas.listing("Subscription"),
    ),
)
def index(query: dict[str, Any]) -> dict[str, Any]:
    statement = select(EventSubscription).order_by(EventSubscription.id)
    if query["site_id"] is not None:
        statement = statement.where(EventSubscription.site_id == query["site_id"])
    with resources().sessions() as session:
        rows = session.scalars(statement.limit(query["limit"]).offset(query["offset"]))
        return {"items": [describe(row) for row in rows]}


@endpoint(
    subscriptions,
    "POST",
    "/api/events/subscriptions",
    Doc(
        "Subscribe a URL to lifecycle events (all topics by default, all sites without "
        "site_id); the signing secret is in the answer, once",
        "subscriptions",
        body=schemas.SUBSCRIPTION_CREATE,
        status=201,
        response=schemas.ref("Subscription"),
        errors=(422,),
    ),
)
def create(body: dict[str, Any]) -> dict[str, Any]:
    return committing(lambda session, vault: create_subscription(session, vault, body))


@endpoint(
    subscriptions,
    "GET",
    "/api/events/subscriptions/<id:subscription_id>",
    Doc(
        "Show a subscription", "subscriptions", response=schemas.ref("Subscription"), errors=(404,)
    ),
)
def show(subscription_id: int) -> dict[str, Any]:
    with resources().sessions() as session:
        return describe(get_subscription(session, subscription_id))


@endpoint(
    subscriptions,
    "PATCH",
    "/api/events/subscriptions/<id:subscription_id>",
    Doc(
        "Change a subscription's URL, topics, site or state; rotate its secret",
        "subscriptions",
        body=schemas.SUBSCRIPTION_UPDATE,
        response=schemas.ref("Subscription"),
        errors=(404, 422),
    ),
)
def update(subscription_id: int, body: dict[str, Any]) -> dict[str, Any]:
    return committing(
        lambda session, vault: update_subscription(session, vault, subscription_id, body)
    )


@endpoint(
    subscriptions,
    "DELETE",
    "/api/events/subscriptions/<id:subscription_id>",
    Doc(
        "Delete a subscription and its delivery history", "subscriptions", status=204, errors=(404,)
    ),
)
def delete(subscription_id: int) -> None:
    committing(lambda session, _vault: session.delete(get_subscription(session, subscription_id)))
