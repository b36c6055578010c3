"""Hostile input from issue 19, shared by the receiver's tests, the route fuzz
(tests/api/test_routes_fuzz.py) and the end-to-end test over HTTP
(tests/functional/test_hostile_input.py).

Each body here is correctly signed where the case is about what comes after the
signature, so a refusal proves the body was judged, not the signature.
"""

from __future__ import annotations

import base64
import json
from typing import Any

from tests.factories import signed

#: 5,000 levels: json's C scanner raised RecursionError, a 500.
DEEP_ARRAY = b"[" * 5000 + b"]" * 5000
DEEP_OBJECT = b'{"a":' * 5000 + b"1" + b"}" * 5000
UNCLOSED = b"[" * 5000
DEEP_BODIES = {"array": DEEP_ARRAY, "object": DEEP_OBJECT, "unclosed": UNCLOSED}

#: Numbers json reads and jsonb refuses: a stored one failed the intake's whole batch.
NON_FINITE = {"1e400": b"1e400", "-1e400": b"-1e400", "NaN": b"NaN", "Infinity": b"Infinity"}

#: Digits to str.isdigit, not ASCII: int() refused some (a 500) and read "\u0661" as 1.
UNICODE_IDS = {
    "superscript-two": "\u00b2",
    "circled-one": "\u2460",
    "arabic-indic-one": "\u0661",
    "fullwidth-one": "\uff11",
}

#: Event times as Unix seconds that Python's calendar cannot hold (a 500 before).
OUT_OF_RANGE_TIMES = {"1e20": 1e20, "1e300": 1e300, "-1e13": -1e13}

#: The providers whose bodies carry a numeric event time, and where.
TIMED_PROVIDERS = ("standard", "bigcommerce", "zoho", "businesscentral")

_STANDARD_KEY = base64.b64decode(signed.STANDARD_SECRET.removeprefix("whsec_"))


def signed_body(provider: str, body: bytes) -> signed.Signed:
    """`body` sent as `provider` sends it, with a valid signature (or secret) for the
    secrets of tests/factories/signed.py, whatever the body holds."""
    json_type = {"Content-Type": "application/json"}
    if provider == "woocommerce":
        return signed.Signed(
            body,
            {
                **json_type,
                "X-WC-Webhook-Topic": "product.updated",
                "X-WC-Webhook-Signature": signed._b64_hmac(signed.WC_SECRET, body),
            },
        )
    if provider == "shopify":
        return signed.Signed(
            body,
            {
                **json_type,
                "X-Shopify-Topic": "products/update",
                "X-Shopify-Hmac-Sha256": signed._b64_hmac(signed.SHOPIFY_SECRET, body),
            },
        )
    if provider == "bigcommerce":
        key = signed.BC_CLIENT_SECRET.encode()
        headers = {"X-Webhook-Secret": signed.BC_HEADER_SECRET}
        return signed.Signed(body, {**json_type, **headers, **signed.standard_by_hand(body, key)})
    if provider == "standard":
        return signed.Signed(body, {**json_type, **signed.standard_by_hand(body, _STANDARD_KEY)})
    if provider == "zoho":
        return signed.Signed(body, {**json_type, "X-Zoho-Webhook-Token": signed.ZOHO_TOKEN})
    if provider == "businesscentral":
        return signed.Signed(body, json_type)
    raise ValueError(f"unknown provider {provider!r}")


def timed(provider: str, when: float) -> signed.Signed:
    """A correctly signed `provider` delivery whose event time is the number `when`."""
    body: dict[str, Any]
    if provider == "standard":
        body = {"type": "inventory.updated", "timestamp": when, "data": {"sku": "SKU-1"}}
    elif provider == "bigcommerce":
        body = {
            "scope": "store/product/updated",
            "data": {"type": "product", "id": 10},
            "created_at": when,
        }
    elif provider == "zoho":
        body = {"item": {"item_id": "4815000000044208", "sku": "SKU-1", "last_modified_time": when}}
    elif provider == "businesscentral":
        body = {
            "value": [
                {
                    "subscriptionId": "sub-1",
                    "clientState": signed.CLIENT_STATE,
                    "resource": f"api/v2.0/companies({signed.COMPANY})/items"
                    "(3f2504e0-4f89-11d3-9a0c-0305e82c3301)",
                    "changeType": "updated",
                    "lastModifiedDateTime": when,
                }
            ]
        }
    else:
        raise ValueError(f"{provider} sends no numeric time")
    return signed_body(provider, json.dumps(body).encode())


def with_number(provider: str, number: bytes) -> signed.Signed:
    """A correctly signed `provider` delivery, otherwise valid, with a top-level `price`
    of `number` (JSON-ish bytes such as b"1e400")."""
    valid = signed.VALID[provider]().body
    return signed_body(provider, valid[:-1] + b', "price": ' + number + b"}")


def refused_status(provider: str) -> int:
    """What a refused delivery is answered: Business Central deletes a subscription on
    any 4xx but 408/429, so its refusals are logged and answered 200."""
    return 200 if provider == "businesscentral" else 400
