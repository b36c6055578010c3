"""How Shopify signs and labels a webhook delivery (docs/platforms.md section 5).

`X-Shopify-Hmac-Sha256` is base64 of the raw HMAC-SHA256 digest of exactly the body's
bytes, keyed with the app's client secret; the other headers are not signed. Public so
that whatever else must sign like Shopify (the demo's crafted retries, the ingest
benchmark) uses this formula rather than a copy of it.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import uuid
from datetime import UTC, datetime
from typing import Any

WEBHOOK_API_VERSION = "2026-04"
SHOP_DOMAIN = "sandbox.myshopify.com"


def now() -> str:
    """Shopify's timestamp form: UTC, milliseconds, `Z` (as `X-Shopify-Triggered-At`)."""
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def signature(secret: str, body: bytes) -> str:
    """`X-Shopify-Hmac-Sha256` for `body`, keyed with the app's client secret."""
    return base64.b64encode(hmac.new(secret.encode(), body, hashlib.sha256).digest()).decode()


def delivery_headers(
    *, topic: str, secret: str, body: bytes, triggered_at: str | None = None
) -> dict[str, str]:
    """The headers of one delivery of `body` on `topic`.

    `X-Shopify-Webhook-Id` is new per call: Shopify keeps it across the retries of one
    delivery (section 5), so a caller replaying a retry sends these same headers again.
    """
    return {
        "Content-Type": "application/json",
        "X-Shopify-Topic": topic,
        "X-Shopify-Hmac-Sha256": signature(secret, body),
        "X-Shopify-Shop-Domain": SHOP_DOMAIN,
        "X-Shopify-API-Version": WEBHOOK_API_VERSION,
        "X-Shopify-Webhook-Id": str(uuid.uuid4()),
        "X-Shopify-Event-Id": str(uuid.uuid4()),
        "X-Shopify-Triggered-At": triggered_at or now(),
    }


def product_payload(number: int, variants: list[dict[str, Any]]) -> dict[str, Any]:
    """The REST Product a `products/create` or `products/update` delivery carries
    (shopify.dev webhook reference, trimmed to what identifies it): numeric REST ids for
    the product, its variants and their inventory items, each object's GID only in
    `admin_graphql_api_id` (docs/platforms.md section 5, "Ids").

    `variants` are the GraphQL nodes of the product's variants (`ShopifyState.variant_node`).
    """
    return {
        "id": number,
        "title": f"Product {number}",
        "status": "active",
        "updated_at": now(),
        "admin_graphql_api_id": f"gid://shopify/Product/{number}",
        "variants": [
            {
                "id": _rest_id(node["id"]),
                "product_id": number,
                "sku": node["sku"],
                "inventory_item_id": _rest_id(node["inventoryItem"]["id"]),
                "inventory_quantity": node["inventoryQuantity"],
                "inventory_management": "shopify",
                "admin_graphql_api_id": node["id"],
            }
            for node in variants
        ],
    }


def deleted_payload(number: int) -> dict[str, Any]:
    """A `products/delete` delivery's body: the REST id alone (shopify.dev webhook
    reference; no `admin_graphql_api_id`)."""
    return {"id": number}


def _rest_id(gid: str) -> int:
    return int(gid.rpartition("/")[2])
