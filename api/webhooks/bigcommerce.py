"""BigCommerce webhooks (docs/platforms.md section 3).

Authenticity: the custom secret header set when the hook was created (classic; always
required here), plus, once the site has a client secret, the Standard Webhooks signature
keyed with it on every delivery. The site's webhook secret is either the header secret
alone (classic hooks only), or `{"header_secret": ..., "client_secret": ...}`.

Idempotency: `webhook-id` when present. The payload `hash` is NOT used as a long-lived
key: it hashes only `data`, so two genuine updates of one product share it (see the
closing note of issue 4); the 5-second window already absorbs real duplicates.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from api.webhooks.event import Event, Headers, MalformedPayload, Secret, SignatureError, parse_time
from api.webhooks.signatures import (
    entity_id,
    load_json,
    require_equal,
    require_object,
    verify_standard,
)
from models import EventKind

SECRET_HEADER = "x-webhook-secret"  # noqa: S105 (a header name, not a secret)

TOPICS = {
    "store/product/created": EventKind.STORE_PRODUCT_UPSERT,
    "store/product/updated": EventKind.STORE_PRODUCT_UPSERT,
    "store/product/deleted": EventKind.STORE_PRODUCT_DELETE,
    "store/sku/created": EventKind.STORE_PRODUCT_UPSERT,
    "store/sku/updated": EventKind.STORE_PRODUCT_UPSERT,
    "store/product/inventory/updated": EventKind.STORE_STOCK,
    "store/product/inventory/order/updated": EventKind.STORE_STOCK,
    "store/sku/inventory/updated": EventKind.STORE_STOCK,
    "store/sku/inventory/order/updated": EventKind.STORE_STOCK,
    "store/order/created": EventKind.STORE_ORDER,
    "store/order/updated": EventKind.STORE_ORDER,
    "store/order/statusUpdated": EventKind.STORE_ORDER,
    "store/order/refund/created": EventKind.STORE_ORDER,
}


def _secrets(secret: Secret) -> tuple[str, str | None]:
    if isinstance(secret, str):
        return secret, None
    header = secret.get("header_secret")
    if not header:
        raise SignatureError("site secret has no header_secret")
    return header, secret.get("client_secret")


def verify(raw_body: bytes, headers: Headers, secret: Secret, query: Headers | None = None) -> None:
    header_secret, client_secret = _secrets(secret)
    require_equal(header_secret, headers.get(SECRET_HEADER), "X-Webhook-Secret")
    if client_secret:
        # Required, not checked only when its headers are there: otherwise anyone who
        # saw one delivery's X-Webhook-Secret could forge any body by leaving them out.
        verify_standard(raw_body, headers, client_secret.encode())
    elif "webhook-signature" in headers:
        raise SignatureError("signed delivery but no client_secret configured")


def _product_id(data: Mapping[str, Any]) -> str:
    """The product a notice is about: inventory and SKU notices name it inside."""
    for nested in ("inventory", "sku"):
        inner = data.get(nested)
        if isinstance(inner, dict) and inner.get("product_id") is not None:
            return entity_id(inner["product_id"], f"data.{nested}.product_id")
    return entity_id(data.get("id"), "data.id")


def _entity(kind: EventKind, data: Mapping[str, Any]) -> str:
    """Order notices name the order in `data.id` (the connector reads its lines: the
    payload carries ids only, docs/platforms.md section 3); the rest name a product."""
    if kind is EventKind.STORE_ORDER:
        return entity_id(data.get("id"), "data.id")
    return _product_id(data)


def parse(raw_body: bytes, headers: Headers) -> list[Event]:
    body = require_object(load_json(raw_body), "body")
    scope = body.get("scope")
    if not isinstance(scope, str) or not scope:
        raise MalformedPayload("scope is missing")
    kind = TOPICS.get(scope)
    # Only the scopes we handle must name a product or order: others (store/information/updated
    # has no data.id) are ignored with 200, as a 400 counts against the domain's success
    # ratio and is retried for 48 hours (docs/platforms.md section 3).
    entity = _entity(kind, require_object(body.get("data"), "data")) if kind else ""
    return [
        Event(
            topic=scope,
            kind=kind,
            entity=entity,
            delivery_id=headers.get("webhook-id") or None,
            occurred_at=parse_time(body.get("created_at")),
            payload=body,
        )
    ]
