"""WooCommerce webhooks (docs/platforms.md section 1).

Signature: `X-WC-Webhook-Signature` = base64(HMAC-SHA256(secret, raw body)). The
delivery-id header is `wp_hash(webhook_id . time())`: not stable, not even unique, so
the idempotency key is (resource id, `date_modified_gmt`) as docs/platforms.md section 1 advises.
A variation's update arrives as `product.updated` with the variation's id and
`parent_id`; the entity is then the parent product, which is what we re-read.

`order.created` and `order.updated` are both a store order (the whole REST v3 order,
built at delivery time; docs/platforms.md section 1, "Order webhooks"): created and
updated are treated alike, an upsert by order id, because a late `order.created` may
already show a later status and `checkout-draft` orders reach only `order.updated`.
`order.deleted` and `order.restored` stay ignored. An order's key is prefixed `order:`
so it never meets a product's (resource id, `date_modified_gmt`) key.
"""

from __future__ import annotations

import re

from api.webhooks.event import Event, Headers, MalformedPayload, Secret, SignatureError, parse_time
from api.webhooks.order_bodies import WOOCOMMERCE_ORDER, kept
from api.webhooks.signatures import entity_id, load_json, require_hmac_base64, require_object
from models import EventKind
from models.skus import try_normalize_sku

TOPICS = {
    "product.created": EventKind.STORE_PRODUCT_UPSERT,
    "product.updated": EventKind.STORE_PRODUCT_UPSERT,
    "product.restored": EventKind.STORE_PRODUCT_UPSERT,
    "product.deleted": EventKind.STORE_PRODUCT_DELETE,
    "order.created": EventKind.STORE_ORDER,
    "order.updated": EventKind.STORE_ORDER,
}

#: The creation ping: a form body `webhook_id=<id>` with no X-WC-* headers and no
#: signature; answered 200 so WooCommerce stops pinging on every save (section 1).
_PING = re.compile(rb"^webhook_id=\d+$")


def is_ping(raw_body: bytes, headers: Headers) -> bool:
    return "x-wc-webhook-signature" not in headers and bool(_PING.match(raw_body.strip()))


def verify(raw_body: bytes, headers: Headers, secret: Secret, query: Headers | None = None) -> None:
    if not isinstance(secret, str):
        raise SignatureError("site secret is not a WooCommerce secret")
    require_hmac_base64(secret, raw_body, headers.get("x-wc-webhook-signature"), "signature")


def parse(raw_body: bytes, headers: Headers) -> list[Event]:
    topic = headers.get("x-wc-webhook-topic", "")
    if not topic:
        raise MalformedPayload("missing X-WC-Webhook-Topic")
    body = require_object(load_json(raw_body), "body")
    kind = TOPICS.get(topic)
    if kind is None:
        # Ignored with 200 whatever the body: a custom `action.<hook>` topic sends
        # {action, arg} and no id (docs/platforms.md section 1), and a 400 counts
        # towards WooCommerce disabling the hook.
        return [Event(topic=topic, kind=None, entity="", payload=body)]
    resource_id = entity_id(body.get("id"), "id")
    modified = body.get("date_modified_gmt")
    occurred_at = parse_time(f"{modified}Z" if isinstance(modified, str) else None)
    if kind is EventKind.STORE_ORDER:
        return [
            Event(
                topic=topic,
                kind=kind,
                entity=resource_id,
                delivery_id=f"order:{resource_id}:{modified}"
                if isinstance(modified, str)
                else None,
                occurred_at=occurred_at,
                payload=kept(body, WOOCOMMERCE_ORDER),
            )
        ]
    parent = body.get("parent_id")
    entity = str(parent) if isinstance(parent, int) and parent > 0 else resource_id
    return [
        Event(
            topic=topic,
            kind=kind,
            entity=entity,
            sku=try_normalize_sku(body.get("sku")),
            delivery_id=f"{resource_id}:{modified}" if isinstance(modified, str) else None,
            occurred_at=occurred_at,
            payload=body,
        )
    ]
