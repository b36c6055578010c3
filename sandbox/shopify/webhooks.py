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
