"""How WooCommerce encodes, signs and labels a webhook delivery (docs/platforms.md section 1).

Built from `WC_Webhook::deliver()` and `generate_signature()`: the body is
`trim(wp_json_encode(payload))`, the signature is base64 of the raw HMAC-SHA256 digest
of exactly those bytes, keyed with the webhook secret.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from typing import Any

USER_AGENT = "WooCommerce/9.0 Hookshot (WordPress/6.5)"
#: The id of the webhook `SandboxConfig.webhook_url` describes, set up outside the REST
#: API; webhooks made through `/wc/v3/webhooks` are numbered after it.
WEBHOOK_ID = 1
#: Stands in for WordPress's secret `wp_salt()`, used by `wp_hash()`.
_WP_SALT = b"sandbox-wp-salt"


def encode_body(payload: Any) -> bytes:
    """`wp_json_encode`: compact, ASCII-only, and with `/` escaped as `\\/` like PHP.

    Receivers must verify these exact bytes; re-encoding parsed JSON would not match.
    """
    text = json.dumps(payload, separators=(",", ":"), ensure_ascii=True)
    return text.replace("/", "\\/").strip().encode()


def signature(secret: str, body: bytes) -> str:
    return base64.b64encode(hmac.new(secret.encode(), body, hashlib.sha256).digest()).decode()


def delivery_headers(
    *,
    source: str,
    resource: str,
    event: str,
    secret: str,
    body: bytes,
    webhook_id: int = WEBHOOK_ID,
) -> dict[str, str]:
    """The headers `WC_Webhook::deliver()` sets.

    The delivery id is `wp_hash(webhook_id . time())`: two deliveries of one webhook in
    the same second share it, so it is no dedupe key (docs/platforms.md section 1).
    """
    delivery_id = hmac.new(_WP_SALT, f"{webhook_id}{int(time.time())}".encode(), "md5")
    return {
        "Content-Type": "application/json",
        "User-Agent": USER_AGENT,
        "X-WC-Webhook-Source": source,
        "X-WC-Webhook-Topic": f"{resource}.{event}",
        "X-WC-Webhook-Resource": resource,
        "X-WC-Webhook-Event": event,
        "X-WC-Webhook-Signature": signature(secret, body),
        "X-WC-Webhook-ID": str(webhook_id),
        "X-WC-Webhook-Delivery-ID": delivery_id.hexdigest(),
    }


def ping_request(webhook_id: int) -> tuple[bytes, dict[str, str]]:
    """`WC_Webhook::deliver_ping()`'s body and headers: `webhook_id=<id>`, no signature
    and no `X-WC-Webhook-*` header (docs/platforms.md section 1). WordPress sets no
    Content-Type for a string body; libcurl, its usual transport, then sends the form
    type (UNCONFIRMED, as the section says)."""
    headers = {"User-Agent": USER_AGENT, "Content-Type": "application/x-www-form-urlencoded"}
    return f"webhook_id={webhook_id}".encode(), headers
