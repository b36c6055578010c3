"""Deliveries the sandboxes never send on their own: a platform's retry of a delivery
already made, a forged signature and a malformed body.

Built with each platform's real signing formula (docs/platforms.md sections 1 and 5), so
the only thing wrong with each request is the one thing it is meant to get wrong.
"""

from __future__ import annotations

import json
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime

import requests

from sandbox.shopify.state import ITEM_BASE, LOCATION_NUMBER
from sandbox.shopify.webhooks import delivery_headers as shopify_headers
from sandbox.woocommerce.webhooks import delivery_headers, encode_body

#: Where the receiver names what became of a request (README, Webhooks): the demo reads
#: it as any client would, from the documented answer, not from the receiver's code.
OUTCOME_HEADER = "Stocksync-Outcome"


@dataclass(frozen=True)
class Sent:
    what: str
    #: The receiver's answer to each request: status code and outcome ("200 duplicate").
    answers: tuple[str, ...]


def shopify_retries(url: str, client_secret: str, variant_index: int, available: int) -> Sent:
    """One `inventory_levels/update` delivered three times with one `X-Shopify-Webhook-Id`,
    as Shopify retries a delivery whose answer it did not get (docs/platforms.md section 5)."""
    level = {"inventory_item_id": ITEM_BASE + variant_index + 1, "available": available}
    body = json.dumps({**level, "location_id": LOCATION_NUMBER}).encode()
    headers = shopify_headers(topic="inventory_levels/update", secret=client_secret, body=body)
    answers = tuple(_post(url, body, headers) for _ in range(3))
    return Sent("one Shopify delivery sent 3 times (a platform retry)", answers)


def woocommerce_forged(url: str, product_id: int) -> Sent:
    """A well-formed `product.updated` signed with a key that is not the site's."""
    body = encode_body({"id": product_id, "date_modified_gmt": _wc_now()})
    headers = _wc_headers(secrets.token_urlsafe(24), body)
    return Sent("a WooCommerce delivery with a forged signature", (_post(url, body, headers),))


def woocommerce_malformed(url: str, secret: str) -> Sent:
    """A correctly signed delivery whose body is not JSON: authentic, but unreadable."""
    body = b'{"id": 12, "date_modified_gmt": '
    headers = _wc_headers(secret, body)
    return Sent("a WooCommerce delivery with a malformed body", (_post(url, body, headers),))


def _wc_headers(secret: str, body: bytes) -> dict[str, str]:
    return delivery_headers(
        source="http://demo-store.example/",
        resource="product",
        event="updated",
        secret=secret,
        body=body,
    )


def _wc_now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S")


def _post(url: str, body: bytes, headers: dict[str, str]) -> str:
    response = requests.post(url, data=body, headers=headers, timeout=10)
    # No outcome header: not the receiver's answer (a proxy's error page); the code says enough.
    outcome = response.headers.get(OUTCOME_HEADER, "")
    return f"{response.status_code} {outcome}".strip()
