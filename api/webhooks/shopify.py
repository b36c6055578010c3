"""Shopify webhooks (docs/platforms.md section 5).

Signature: `X-Shopify-Hmac-Sha256` = base64(HMAC-SHA256(app client secret, raw body)).
`X-Shopify-Webhook-Id` is stable across retries: the idempotency key. Retries carry the
original payload, which is one more reason to read current state before writing.
"""

from __future__ import annotations

from api.webhooks.event import Event, Headers, MalformedPayload, Secret, SignatureError, parse_time
from api.webhooks.signatures import entity_id, load_json, require_hmac_base64, require_object
from models import EventKind

TOPICS = {
    "products/create": EventKind.STORE_PRODUCT_UPSERT,
    "products/update": EventKind.STORE_PRODUCT_UPSERT,
    "products/delete": EventKind.STORE_PRODUCT_DELETE,
    "inventory_levels/update": EventKind.STORE_STOCK,
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
    if kind is EventKind.STORE_STOCK:
        entity = entity_id(body.get("inventory_item_id"), "inventory_item_id")
    else:
        entity = entity_id(body.get("id"), "id")
    return [
        Event(
            topic=topic,
            kind=kind,
            entity=entity,
            delivery_id=headers.get("x-shopify-webhook-id") or None,
            occurred_at=parse_time(headers.get("x-shopify-triggered-at")),
            payload=body,
        )
    ]
