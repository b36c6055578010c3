"""WooCommerce deliveries to events, and the creation ping (api/webhooks/woocommerce.py;
payloads as in docs/platforms.md section 1).

The signature's refusals are in test_signatures.py, with the other providers that sign
base64(HMAC-SHA256(secret, body)).
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import pytest

from api.webhooks import woocommerce
from api.webhooks.event import Event, MalformedPayload
from models import EventKind
from tests.factories import signed

NOON = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)

#: A v3 product as a `product.*` delivery carries it (trimmed to the fields we read).
PRODUCT = {
    "id": 794,
    "name": "Premium Quality",
    "type": "simple",
    "parent_id": 0,
    "sku": " premium-1 ",
    "manage_stock": True,
    "stock_quantity": 7,
    "stock_status": "instock",
    "date_modified_gmt": "2026-12-01T12:00:00",
}
#: A v3 order as an `order.*` delivery carries it (trimmed to what the connector reads).
ORDER = {
    "id": 727,
    "number": "727",
    "status": "processing",
    "date_modified_gmt": "2026-12-01T12:00:00",
    "line_items": [
        {"id": 315, "product_id": 794, "variation_id": 0, "sku": "premium-1", "quantity": 2}
    ],
    "refunds": [],
}
#: A variation's update arrives as `product.updated` with its own id and its parent's.
VARIATION = {**PRODUCT, "id": 733, "type": "variation", "parent_id": 732, "sku": "mug-blue"}


def _parse(payload: Any, topic: str = "product.updated") -> list[Event]:
    body = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
    return woocommerce.parse(body, {"x-wc-webhook-topic": topic})


@pytest.mark.parametrize("topic", ["product.created", "product.updated", "product.restored"])
def test_a_product_change_is_an_upsert_keyed_by_id_and_modification_time(topic: str) -> None:
    assert _parse(PRODUCT, topic) == [
        Event(
            topic=topic,
            kind=EventKind.STORE_PRODUCT_UPSERT,
            entity="794",
            sku="PREMIUM-1",
            delivery_id="794:2026-12-01T12:00:00",
            occurred_at=NOON,
            payload=PRODUCT,
        )
    ]


def test_a_variation_change_is_about_its_parent_product() -> None:
    [event] = _parse(VARIATION)
    assert (event.entity, event.sku, event.delivery_id) == (
        "732",
        "MUG-BLUE",
        "733:2026-12-01T12:00:00",
    )


def test_a_deletion_carries_only_the_id() -> None:
    assert _parse({"id": 794}, "product.deleted") == [
        Event("product.deleted", EventKind.STORE_PRODUCT_DELETE, "794", payload={"id": 794})
    ]


def test_the_delivery_id_header_is_not_the_idempotency_key() -> None:
    """`X-WC-Webhook-Delivery-ID` is wp_hash(id . time()): two deliveries of one state
    differ in it and must share a key; a later state must not."""
    modified = "2026-12-01T12:00:00"
    first, again = signed.woocommerce(modified=modified), signed.woocommerce(modified=modified)
    later = signed.woocommerce(modified="2026-12-01T12:00:01")
    assert first.received["x-wc-webhook-delivery-id"] != again.received["x-wc-webhook-delivery-id"]
    [key, same, other] = [
        woocommerce.parse(r.body, r.received)[0].delivery_id for r in (first, again, later)
    ]
    assert key == same != other


@pytest.mark.parametrize("topic", ["order.created", "order.updated"])
def test_an_order_created_or_updated_is_a_store_order_keyed_apart_from_products(
    topic: str,
) -> None:
    """Created and updated alike (a late `order.created` may already show a later
    status); the key cannot collide with product 727's at the same second."""
    assert _parse(ORDER, topic) == [
        Event(
            topic=topic,
            kind=EventKind.STORE_ORDER,
            entity="727",
            delivery_id="order:727:2026-12-01T12:00:00",
            occurred_at=NOON,
            payload=ORDER,
        )
    ]


def test_an_order_without_a_modification_time_has_no_key() -> None:
    order = {key: value for key, value in ORDER.items() if key != "date_modified_gmt"}
    [event] = _parse(order, "order.updated")
    assert (event.kind, event.delivery_id, event.occurred_at) == (EventKind.STORE_ORDER, None, None)


def test_an_order_without_an_id_is_malformed() -> None:
    with pytest.raises(MalformedPayload):
        _parse({"status": "processing"}, "order.created")


@pytest.mark.parametrize(
    ("topic", "payload"),
    [
        ("order.deleted", {"id": 5}),
        ("order.restored", {"id": 5}),
        ("customer.updated", {"id": 5}),
        ("coupon.deleted", {"id": 5}),
        ("product.unknown", {"id": 5}),
        (
            "action.woocommerce_payment_complete",
            {"action": "woocommerce_payment_complete", "arg": 1234},
        ),
    ],
    ids=["order-deleted", "order-restored", "customer", "coupon", "product-unknown", "action"],
)
def test_other_topics_parse_to_an_event_the_receiver_ignores(
    topic: str, payload: dict[str, Any]
) -> None:
    [event] = _parse(payload, topic)
    assert event.kind is None and event.topic == topic


@pytest.mark.parametrize(
    "body",
    [
        b"{nope",
        b'{"id": 794, "price": NaN}',
        [PRODUCT],
        {"sku": "A"},
        {"id": None},
        {"id": True},
        {"id": 7.5},
        {"id": ""},
    ],
    ids=["not-json", "nan", "array", "no-id", "null-id", "bool-id", "float-id", "empty-id"],
)
def test_a_body_that_is_not_a_product_is_malformed(body: Any) -> None:
    with pytest.raises(MalformedPayload):
        _parse(body)


def test_a_delivery_without_a_topic_is_malformed() -> None:
    with pytest.raises(MalformedPayload, match="Topic"):
        woocommerce.parse(json.dumps(PRODUCT).encode(), {})


@pytest.mark.parametrize(
    ("body", "headers", "ping"),
    [
        (b"webhook_id=7", {}, True),
        (b"webhook_id=7\r\n", {"content-type": "application/x-www-form-urlencoded"}, True),
        (b"webhook_id=7", {"x-wc-webhook-signature": "c2ln"}, False),
        (b"webhook_id=seven", {}, False),
        (b"webhook_id=7&also=1", {}, False),
        (b'{"webhook_id": 7}', {}, False),
    ],
    ids=["ping", "ping-with-newline", "signed", "id-not-a-number", "more-fields", "json"],
)
def test_the_creation_ping_is_an_unsigned_form_body_naming_the_hook(
    body: bytes, headers: dict[str, str], ping: bool
) -> None:
    assert woocommerce.is_ping(body, headers) is ping
