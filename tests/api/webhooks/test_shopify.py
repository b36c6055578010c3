"""Shopify deliveries to events (api/webhooks/shopify.py; docs/platforms.md section 5).

The signature's refusals are in test_signatures.py, with the other providers that sign
base64(HMAC-SHA256(secret, body)).
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import pytest

from api.webhooks import shopify
from api.webhooks.event import Event, MalformedPayload
from models import EventKind

#: The REST product a `products/*` delivery carries (trimmed).
PRODUCT = {
    "id": 632910392,
    "title": "IPod Nano - 8GB",
    "updated_at": "2026-12-01T07:00:00-05:00",
    "variants": [{"id": 808950810, "sku": "IPOD2008PINK", "inventory_item_id": 808950810}],
}
#: The REST InventoryLevel an `inventory_levels/update` delivery carries.
LEVEL = {
    "inventory_item_id": 271878346596884015,
    "location_id": 24826418,
    "available": 7,
    "updated_at": "2026-12-01T07:00:00-05:00",
}
#: The REST Order an `orders/*` delivery carries (trimmed).
ORDER = {
    "id": 450789469,
    "admin_graphql_api_id": "gid://shopify/Order/450789469",
    "name": "#1001",
    "updated_at": "2026-12-01T07:00:00-05:00",
    "cancelled_at": None,
    "line_items": [
        {"id": 466157049, "variant_id": 39072856, "sku": "IPOD2008GREEN", "quantity": 1}
    ],
    "refunds": [],
}
WEBHOOK_ID = "b54557e4-bdd9-4b37-8a5f-bf7d70bcd043"
#: As deliveries send it: nanoseconds.
TRIGGERED_AT = "2026-12-01T12:00:00.516267807Z"


def _parse(payload: Any, topic: str, **headers: str) -> list[Event]:
    body = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
    return shopify.parse(body, {"x-shopify-topic": topic, **headers})


@pytest.mark.parametrize(
    ("topic", "payload", "kind", "gid"),
    [
        ("products/create", PRODUCT, EventKind.STORE_PRODUCT_UPSERT, "Product/632910392"),
        ("products/update", PRODUCT, EventKind.STORE_PRODUCT_UPSERT, "Product/632910392"),
        ("products/delete", {"id": 632910392}, EventKind.STORE_PRODUCT_DELETE, "Product/632910392"),
        # The level's inventory item, not its location.
        (
            "inventory_levels/update",
            LEVEL,
            EventKind.STORE_STOCK,
            "InventoryItem/271878346596884015",
        ),
        ("orders/create", ORDER, EventKind.STORE_ORDER, "Order/450789469"),
        ("orders/updated", ORDER, EventKind.STORE_ORDER, "Order/450789469"),
        ("orders/cancelled", ORDER, EventKind.STORE_ORDER, "Order/450789469"),
    ],
)
def test_each_handled_topic_is_an_event_about_its_object_by_its_graphql_id(
    topic: str, payload: dict[str, Any], kind: EventKind, gid: str
) -> None:
    """Deliveries carry REST ids; the mirror and the connector speak GraphQL GIDs, so
    the event names its object the way they do (docs/style.md rule 18)."""
    headers = {"x-shopify-webhook-id": WEBHOOK_ID, "x-shopify-triggered-at": TRIGGERED_AT}
    [event] = _parse(payload, topic, **headers)
    assert (event.topic, event.kind, event.payload) == (topic, kind, payload)
    assert event.entity == f"gid://shopify/{gid}"
    assert event.delivery_id == WEBHOOK_ID
    assert event.occurred_at == datetime(2026, 12, 1, 12, 0, 0, 516267, tzinfo=UTC)


def test_a_delivery_without_webhook_id_or_time_has_neither() -> None:
    [event] = _parse(PRODUCT, "products/update", **{"x-shopify-triggered-at": "just now"})
    assert event.delivery_id is None and event.occurred_at is None


@pytest.mark.parametrize(
    "topic", ["refunds/create", "orders/paid", "inventory_items/update", "products/other"]
)
def test_other_topics_parse_to_an_event_the_receiver_ignores(topic: str) -> None:
    """`refunds/create` among them: Shopify follows a refund with `orders/updated`,
    whose Order carries the refund (docs/platforms.md section 5)."""
    [event] = _parse({"id": 450789469}, topic)
    assert event.kind is None and event.topic == topic


@pytest.mark.parametrize(
    ("topic", "body"),
    [
        ("products/update", b"{nope"),
        ("products/update", [PRODUCT]),
        ("products/update", {"title": "no id"}),
        ("products/update", {"id": None}),
        ("products/update", {"id": False}),
        ("products/update", {"id": "five"}),
        ("products/update", {"id": -5}),
        # A GID of another type names another object.
        ("products/update", {"id": "gid://shopify/Order/5"}),
        # A level names no `id` of its own: the item id is what is required.
        ("inventory_levels/update", {"location_id": 24826418, "available": 7}),
        ("inventory_levels/update", {**LEVEL, "inventory_item_id": [1]}),
        ("orders/updated", {"name": "#1001"}),
        ("orders/cancelled", {**ORDER, "id": "gid://shopify/Product/5"}),
    ],
    ids=[
        "not-json",
        "array",
        "no-id",
        "null-id",
        "bool-id",
        "word-id",
        "negative-id",
        "other-gid",
        "level-no-item",
        "level-list-item",
        "order-no-id",
        "order-product-gid",
    ],
)
def test_a_body_without_its_object_id_is_malformed(topic: str, body: Any) -> None:
    with pytest.raises(MalformedPayload):
        _parse(body, topic)


@pytest.mark.parametrize("headers", [{}, {"x-shopify-topic": ""}], ids=["absent", "empty"])
def test_a_delivery_without_a_topic_is_malformed(headers: dict[str, str]) -> None:
    with pytest.raises(MalformedPayload, match="Topic"):
        shopify.parse(json.dumps(PRODUCT).encode(), headers)


def test_an_id_already_a_gid_of_its_type_is_kept() -> None:
    [event] = _parse({"id": "gid://shopify/Product/5"}, "products/update")
    assert event.entity == "gid://shopify/Product/5"
