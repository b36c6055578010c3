"""BigCommerce inventory webhooks as the sandbox sends them: payload and signature.

Payload (docs/platforms.md section 3, `docs/webhooks/callbacks/data/*.json`): a light body
naming what changed, `{scope, store_id, data, hash, created_at, producer}`. For a SKU
(variant) event `data.id` is the V2 SKU id and `data.inventory.variant_id` the variant
id: they differ, as in BigCommerce's own sample (`id` 461, `variant_id` 509).

Authenticity (docs/platforms.md sections 3 and 9): Standard Webhooks headers keyed with the
raw bytes of the app's client secret, as `standardwebhooks.Webhook(base64(secret))`
verifies, plus the classic custom header a merchant sets when creating the hook.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import uuid
from collections.abc import Mapping
from typing import Any

SKU_SCOPE = "store/sku/inventory/updated"
PRODUCT_SCOPE = "store/product/inventory/updated"
SKU_ORDER_SCOPE = "store/sku/inventory/order/updated"
PRODUCT_ORDER_SCOPE = "store/product/inventory/order/updated"
#: The custom header the sandbox's configured webhook (`SandboxConfig.webhook_url`) is
#: "created" with, and stocksync's hooks are (docs/platforms.md section 3).
SECRET_HEADER = "X-Webhook-Secret"


def data_hash(data: dict[str, Any]) -> str:
    """SHA-1 of the JSON-encoded `data` (compact separators, keys in sent order).

    BigCommerce documents only "SHA-1 of the JSON-encoded payload data"; its samples'
    hashes cannot be reproduced from the data shown, so the exact encoding is a guess.
    """
    encoded = json.dumps(data, separators=(",", ":")).encode()
    return hashlib.sha1(encoded, usedforsecurity=False).hexdigest()


def inventory_payload(
    *,
    store_id: str,
    store_hash: str,
    product_id: int,
    variant_id: int | None,
    sku_id: int | None,
    value: int,
    created_at: int,
    by_order: bool = False,
) -> dict[str, Any]:
    """A `store/sku/inventory/...` event if `variant_id` is set, else a product one.

    The SKU scopes fire only for items tracked by variant and the product scopes for
    items tracked by product (docs/platforms.md section 3). A change from the API or the
    control panel is `.../inventory/updated` with `method` `absolute` and the new level;
    one an order made (`by_order`) is `.../inventory/order/updated`, and follows the
    event text: `method` `relative`, `value` the change. Section 3 notes the sample of
    that scope shows `absolute`, so which one BigCommerce sends is UNCONFIRMED; stocksync
    never reads `method` or `value`.
    """
    method = "relative" if by_order else "absolute"
    inventory: dict[str, Any] = {"product_id": product_id, "method": method, "value": value}
    if variant_id is not None:
        scope = SKU_ORDER_SCOPE if by_order else SKU_SCOPE
        inventory["variant_id"] = variant_id
        data: dict[str, Any] = {"type": "sku", "id": sku_id, "inventory": inventory}
    else:
        scope = PRODUCT_ORDER_SCOPE if by_order else PRODUCT_SCOPE
        data = {"type": "product", "id": product_id, "inventory": inventory}
    return envelope(scope, data, store_id=store_id, store_hash=store_hash, created_at=created_at)


def product_payload(
    scope: str, *, store_id: str, store_hash: str, product_id: int, created_at: int
) -> dict[str, Any]:
    """A `store/product/updated` or `store/product/deleted` event: it names the product
    and nothing else (docs/platforms.md section 3, `product_updated.json`)."""
    data = {"type": "product", "id": product_id}
    return envelope(scope, data, store_id=store_id, store_hash=store_hash, created_at=created_at)


def order_data(order_id: int, **extra: Any) -> dict[str, Any]:
    """The `data` of a `store/order/*` event: ids only (docs/platforms.md section 3,
    `store_order_*.json`); `statusUpdated` adds `status`, `refund/created` `refund`."""
    return {"type": "order", "id": order_id, **extra}


def envelope(
    scope: str, data: dict[str, Any], *, store_id: str, store_hash: str, created_at: int
) -> dict[str, Any]:
    """The body every BigCommerce event shares around its `data`."""
    return {
        "scope": scope,
        "store_id": store_id,
        "data": data,
        "hash": data_hash(data),
        "created_at": created_at,
        "producer": f"stores/{store_hash}",
    }


def signed_headers(
    body: bytes, *, client_secret: str, hook_headers: Mapping[str, str], timestamp: int
) -> dict[str, str]:
    """Standard Webhooks headers for `body` (docs/platforms.md section 9) plus the hook's own.

    Signed content is `"{id}.{timestamp}.{body}"`; the signature is `v1,` and the base64
    HMAC-SHA256 of it, keyed with the client secret's raw bytes. `hook_headers` are the
    `headers` the hook was created with, echoed on every callback (section 3): where
    stocksync's `X-Webhook-Secret` travels. Each call makes a new `webhook-id`: every
    delivery to every hook is its own message.
    """
    msg_id = f"msg_{uuid.uuid4().hex}"
    signed = f"{msg_id}.{timestamp}.".encode() + body
    digest = hmac.new(client_secret.encode(), signed, hashlib.sha256).digest()
    return {
        **hook_headers,
        "Content-Type": "application/json",
        "webhook-id": msg_id,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": f"v1,{base64.b64encode(digest).decode()}",
    }
