"""Shopify webhooks (docs/platforms.md section 5).

Signature: `X-Shopify-Hmac-Sha256` = base64(HMAC-SHA256(app client secret, raw body)).
`X-Shopify-Webhook-Id` is stable across retries: the idempotency key. Retries carry the
original payload, which is one more reason to read current state before writing.

Ids are normalised here, once (docs/style.md rule 18): deliveries carry numeric REST ids
(`{"id": 5}`, `products/delete` nothing else), while GraphQL, the connector and the
catalog mirror speak GIDs (`gid://shopify/Product/5`), so an event's entity is the GID
(docs/platforms.md section 5, "Ids"). A topic we do not handle keeps the raw id.

`orders/create`, `orders/updated` and `orders/cancelled` carry the whole REST Order:
a store order, named by its Order GID. `refunds/create` stays unmapped (ignored):
Shopify follows a refund with `orders/updated`, whose Order carries `refunds[]`, so the
order's own delivery says everything the refund's would (docs/platforms.md section 5,
"Order webhooks").
"""

from __future__ import annotations

from typing import Any

from api.webhooks.event import Event, Headers, MalformedPayload, Secret, SignatureError, parse_time
from api.webhooks.order_bodies import SHOPIFY_ORDER, kept
from api.webhooks.signatures import entity_id, load_json, require_hmac_base64, require_object
from models import EventKind

TOPICS = {
    "products/create": EventKind.STORE_PRODUCT_UPSERT,
    "products/update": EventKind.STORE_PRODUCT_UPSERT,
    "products/delete": EventKind.STORE_PRODUCT_DELETE,
    "inventory_levels/update": EventKind.STORE_STOCK,
    "orders/create": EventKind.STORE_ORDER,
    "orders/updated": EventKind.STORE_ORDER,
    "orders/cancelled": EventKind.STORE_ORDER,
}

#: The body field naming what changed, and that object's GraphQL type, by event kind.
OBJECTS = {
    EventKind.STORE_PRODUCT_UPSERT: ("id", "Product"),
    EventKind.STORE_PRODUCT_DELETE: ("id", "Product"),
    EventKind.STORE_STOCK: ("inventory_item_id", "InventoryItem"),
    EventKind.STORE_ORDER: ("id", "Order"),
}


def verify(raw_body: bytes, headers: Headers, secret: Secret, query: Headers | None = None) -> None:
    if not isinstance(secret, str):
        raise SignatureError("site secret is not a Shopify client secret")
    require_hmac_base64(secret, raw_body, headers.get("x-shopify-hmac-sha256"), "signature")


def parse(raw_body: bytes, headers: Headers) -> list[Event]:
    topic = headers.get("x-shopify-topic", "")
    if not topic:
        raise MalformedPayload("missing X-Shopify-Topic")
    body = require_object(load_json(raw_body), "body")
    kind = TOPICS.get(topic)
    if kind is None:
        entity = entity_id(body.get("id"), "id")
    else:
        field, type_name = OBJECTS[kind]
        entity = graphql_id(body.get(field), type_name, field)
    return [
        Event(
            topic=topic,
            kind=kind,
            entity=entity,
            delivery_id=headers.get("x-shopify-webhook-id") or None,
            occurred_at=parse_time(headers.get("x-shopify-triggered-at")),
            payload=kept(body, SHOPIFY_ORDER) if kind is EventKind.STORE_ORDER else body,
        )
    ]


def graphql_id(value: Any, type_name: str, what: str) -> str:
    """The GID of a REST id (a positive integer, or its digits), or a GID of `type_name`
    given as is; anything else is malformed."""
    raw = entity_id(value, what)
    if raw.isascii() and raw.isdigit() and int(raw) > 0:
        return f"gid://shopify/{type_name}/{int(raw)}"
    prefix = f"gid://shopify/{type_name}/"
    number = raw.removeprefix(prefix)
    if raw.startswith(prefix) and number.isascii() and number.isdigit():
        return raw
    raise MalformedPayload(f"{what} is not a Shopify {type_name} id")
