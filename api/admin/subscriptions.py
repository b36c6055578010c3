"""Subscriptions to the sync lifecycle events (`PRODUCT_SYNC_STARTED`, ...): CRUD, a
test event on demand, and where a delivery stands.

Routes only: every operation is `sync.subscribers`, which makes the `whsec_` signing
secret; the secret is returned once, on creation or rotation, and never again.
"""

from __future__ import annotations

from typing import Any

from api.admin import schemas
from api.admin.http import Doc, Param, admin_blueprint, endpoint, page_params
from api.resources import context
from sync import subscribers as service
from sync.lifecycle import TOPICS

subscriptions = admin_blueprint("subscriptions")


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
    items = service.list_subscriptions(context(), query["site_id"], query["limit"], query["offset"])
    return {"items": items}


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
    return service.subscribe(
        context(), body["url"], body.get("topics", TOPICS), body.get("site_id")
    )


@endpoint(
    subscriptions,
    "GET",
    "/api/events/subscriptions/<id:subscription_id>",
    Doc(
        "Show a subscription", "subscriptions", response=schemas.ref("Subscription"), errors=(404,)
    ),
)
def show(subscription_id: int) -> dict[str, Any]:
    return service.show_subscription(context(), subscription_id)


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
    return service.update_subscription(context(), subscription_id, body)


@endpoint(
    subscriptions,
    "DELETE",
    "/api/events/subscriptions/<id:subscription_id>",
    Doc(
        "Delete a subscription and its delivery history", "subscriptions", status=204, errors=(404,)
    ),
)
def delete(subscription_id: int) -> None:
    service.delete_subscription(context(), subscription_id)


@endpoint(
    subscriptions,
    "POST",
    "/api/events/subscriptions/<id:subscription_id>/test",
    Doc(
        "Send the subscriber a SUBSCRIPTION_TEST event now (signed and retried like any "
        "event); follow it at /api/events/deliveries/{id}",
        "subscriptions",
        status=202,
        response=schemas.ref("Delivery"),
        errors=(404, 409),
    ),
)
def test(subscription_id: int) -> dict[str, Any]:
    return service.send_test_event(context(), subscription_id)


@endpoint(
    subscriptions,
    "GET",
    "/api/events/deliveries/<id:delivery_id>",
    Doc(
        "Where one event delivery stands: attempts, last answer, delivered or not",
        "subscriptions",
        response=schemas.ref("Delivery"),
        errors=(404,),
    ),
)
def delivery(delivery_id: int) -> dict[str, Any]:
    return service.show_delivery(context(), delivery_id)
