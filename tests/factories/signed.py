"""Build requests signed exactly as each platform signs them, so a test breaks one thing.

WooCommerce and Shopify: base64(HMAC-SHA256(secret, raw body)), computed here
independently of the receiver's code. Standard Webhooks and BigCommerce: signed by the
`standardwebhooks` package itself, or by hand (`standard_by_hand`) for bodies it cannot
sign and to check the formula without it.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from standardwebhooks import Webhook

WC_SECRET = "wc-secret-&-quotes'"
SHOPIFY_SECRET = "shpss_client_secret"
BC_HEADER_SECRET = "bc-header-secret"
BC_CLIENT_SECRET = "bc-client-secret"
STANDARD_SECRET = "whsec_" + base64.b64encode(b"0123456789abcdef0123456789abcdef").decode()
ZOHO_TOKEN = "zoho-token"
ZOHO_HMAC_KEY = "zoho-hmac-key"
CLIENT_STATE = "bc-client-state"
COMPANY = "00000000-0000-0000-0000-000000000001"


@dataclass
class Signed:
    body: bytes
    headers: dict[str, str] = field(default_factory=dict)
    query: dict[str, str] = field(default_factory=dict)

    @property
    def received(self) -> dict[str, str]:
        """The headers as the receiver hands them to a provider: names lower-cased."""
        return {name.lower(): value for name, value in self.headers.items()}


def _b64_hmac(secret: str, body: bytes) -> str:
    return base64.b64encode(hmac.new(secret.encode(), body, hashlib.sha256).digest()).decode()


def woocommerce(
    product_id: int = 10,
    topic: str = "product.updated",
    sku: str = "SKU-1",
    secret: str = WC_SECRET,
    modified: str | None = None,
    **extra: Any,
) -> Signed:
    payload = {
        "id": product_id,
        "sku": sku,
        "parent_id": 0,
        "type": "simple",
        "date_modified_gmt": modified or datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f"),
        **extra,
    }
    body = json.dumps(payload, separators=(",", ":")).encode()
    resource, event = topic.split(".")
    return Signed(
        body,
        {
            "Content-Type": "application/json",
            "X-WC-Webhook-Source": "http://shop.test/",
            "X-WC-Webhook-Topic": topic,
            "X-WC-Webhook-Resource": resource,
            "X-WC-Webhook-Event": event,
            "X-WC-Webhook-Signature": _b64_hmac(secret, body),
            "X-WC-Webhook-ID": "7",
            "X-WC-Webhook-Delivery-ID": uuid.uuid4().hex,
        },
    )


def shopify(
    product_id: int = 10,
    topic: str = "products/update",
    secret: str = SHOPIFY_SECRET,
    webhook_id: str | None = None,
) -> Signed:
    body = json.dumps({"id": product_id, "title": "Thing", "variants": []}).encode()
    return Signed(
        body,
        {
            "Content-Type": "application/json",
            "X-Shopify-Topic": topic,
            "X-Shopify-Hmac-Sha256": _b64_hmac(secret, body),
            "X-Shopify-Shop-Domain": "sandbox.myshopify.com",
            "X-Shopify-API-Version": "2026-04",
            "X-Shopify-Webhook-Id": webhook_id or str(uuid.uuid4()),
            "X-Shopify-Event-Id": str(uuid.uuid4()),
            "X-Shopify-Triggered-At": datetime.now(UTC).isoformat(),
        },
    )


def _standard_headers(
    secret: str, body: bytes, msg_id: str | None = None, at: datetime | None = None
) -> dict[str, str]:
    msg_id = msg_id or f"msg_{uuid.uuid4().hex}"
    at = at or datetime.now(UTC)
    signature = Webhook(secret).sign(msg_id, at, body.decode())
    return {
        "webhook-id": msg_id,
        "webhook-timestamp": str(int(at.timestamp())),
        "webhook-signature": signature,
    }


def standard_by_hand(body: bytes, key: bytes, msg_id: str = "msg_1") -> dict[str, str]:
    """Standard Webhooks headers computed without the `standardwebhooks` package, for any
    body (docs/platforms.md section 9): v1 is
    base64(HMAC-SHA256(key, "{id}.{timestamp}.{body}"))."""
    timestamp = str(int(time.time()))
    content = f"{msg_id}.{timestamp}.".encode() + body
    return {
        "webhook-id": msg_id,
        "webhook-timestamp": timestamp,
        "webhook-signature": "v1,"
        + base64.b64encode(hmac.new(key, content, hashlib.sha256).digest()).decode(),
    }


def bigcommerce(
    product_id: int = 10,
    scope: str = "store/product/updated",
    header_secret: str = BC_HEADER_SECRET,
    client_secret: str = BC_CLIENT_SECRET,
    at: datetime | None = None,
    msg_id: str | None = None,
) -> Signed:
    data = {"type": "product", "id": product_id}
    body = json.dumps(
        {
            "scope": scope,
            "store_id": "1001",
            "data": data,
            "hash": hashlib.sha1(json.dumps(data).encode()).hexdigest(),  # noqa: S324
            "created_at": int(time.time()),
            "producer": "stores/sandbox",
        }
    ).encode()
    key = "whsec_" + base64.b64encode(client_secret.encode()).decode()
    return Signed(
        body,
        {
            "Content-Type": "application/json",
            "X-Webhook-Secret": header_secret,
            **_standard_headers(key, body, msg_id, at),
        },
    )


def standard(
    sku: str = "SKU-1",
    kind: str = "inventory.updated",
    secret: str = STANDARD_SECRET,
    at: datetime | None = None,
    msg_id: str | None = None,
) -> Signed:
    body = json.dumps(
        {"type": kind, "timestamp": datetime.now(UTC).isoformat(), "data": {"sku": sku}}
    ).encode()
    return Signed(
        body, {"Content-Type": "application/json", **_standard_headers(secret, body, msg_id, at)}
    )


def zoho(
    item_id: str = "4815000000044208",
    sku: str = "SKU-1",
    token: str = ZOHO_TOKEN,
    hmac_key: str | None = None,
    modified: str = "2026-12-01T13:00:00+0100",
) -> Signed:
    """With `hmac_key`, also the optional body signature (api/webhooks/zoho.py)."""
    item = {"item_id": item_id, "sku": sku, "name": "Thing", "last_modified_time": modified}
    body = json.dumps({"item": item}).encode()
    headers = {"Content-Type": "application/json", "X-Zoho-Webhook-Token": token}
    if hmac_key is not None:
        headers["X-Zoho-Webhook-Signature"] = _b64_hmac(hmac_key, body)
    return Signed(body, headers)


def businesscentral(
    item_ids: tuple[str, ...] = ("3f2504e0-4f89-11d3-9a0c-0305e82c3301",),
    client_state: str = CLIENT_STATE,
    change: str = "updated",
    modified: str | None = None,
) -> Signed:
    now = datetime.now(UTC).isoformat()
    body = json.dumps(
        {
            "value": [
                {
                    "subscriptionId": "sub-1",
                    "clientState": client_state,
                    "expirationDateTime": now,
                    "resource": f"api/v2.0/companies({COMPANY})/items({item})",
                    "changeType": change,
                    "lastModifiedDateTime": modified or now,
                }
                for item in item_ids
            ]
        }
    ).encode()
    return Signed(body, {"Content-Type": "application/json"})


#: A valid delivery of each provider, signed with the secrets above, by provider name.
VALID: dict[str, Callable[[], Signed]] = {
    "woocommerce": lambda: woocommerce(),
    "shopify": lambda: shopify(),
    "bigcommerce": lambda: bigcommerce(),
    "standard": lambda: standard(),
    "zoho": lambda: zoho(),
    "businesscentral": lambda: businesscentral(),
}
