"""Signature checks shared by providers that use the same formula.

All comparisons are constant-time (`hmac.compare_digest`). Every decoding error on
attacker-controlled input becomes `SignatureError("malformed")`: the standardwebhooks
library itself leaks ValueError/binascii.Error on garbage headers (docs/style.md rule 6).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
from typing import Any

from standardwebhooks import Webhook, WebhookVerificationError

from api import json_body
from api.webhooks.event import Headers, MalformedPayload, SignatureError


def hmac_sha256_base64(secret: str | bytes, raw_body: bytes) -> str:
    key = secret.encode() if isinstance(secret, str) else secret
    return base64.b64encode(hmac.new(key, raw_body, hashlib.sha256).digest()).decode()


def require_equal(expected: str, provided: str | None, what: str) -> None:
    """Constant-time equality of two secrets or signatures; `what` names the header."""
    if not provided:
        raise SignatureError(f"missing {what}")
    if not hmac.compare_digest(expected.encode(), provided.encode()):
        raise SignatureError(f"{what} does not match")


def require_hmac_base64(secret: str, raw_body: bytes, provided: str | None, what: str) -> None:
    require_equal(hmac_sha256_base64(secret, raw_body), provided, what)


_STANDARD_HEADERS = ("webhook-id", "webhook-timestamp", "webhook-signature")


def verify_standard(raw_body: bytes, headers: Headers, secret: str | bytes) -> None:
    """Standard Webhooks (docs/platforms.md section 9): `webhook-id`, `webhook-timestamp`
    (within 5 minutes), `webhook-signature` with any matching `v1` entry.

    `secret` is `whsec_<base64>` or the raw key bytes (BigCommerce's client secret).
    The library only checks the signature here (`json_parse=False`): its own json.loads
    would refuse a signed body that is not JSON as a bad signature, and let a deeply
    nested one raise RecursionError; the provider's `parse` reads the body instead.
    """
    if isinstance(secret, bytes):
        secret = base64.b64encode(secret).decode()
    for name in _STANDARD_HEADERS:
        if not headers.get(name):
            raise SignatureError(f"missing {name}")
    try:
        Webhook(secret).verify(
            raw_body, {name: headers[name] for name in _STANDARD_HEADERS}, json_parse=False
        )
    except WebhookVerificationError as exc:
        raise SignatureError(str(exc).lower()) from None
    except (ValueError, TypeError, binascii.Error, KeyError, UnicodeDecodeError):
        raise SignatureError("malformed") from None


def load_json(raw_body: bytes) -> Any:
    """Decode a JSON body (api/json_body.py: bounded depth, finite numbers only), or
    raise `MalformedPayload`."""
    try:
        return json_body.load(raw_body)
    except json_body.NotJson as exc:
        raise MalformedPayload(str(exc)) from None


def require_object(value: Any, what: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise MalformedPayload(f"{what} is not an object")
    return value


def entity_id(value: Any, what: str) -> str:
    """A platform id: an int or a non-empty string."""
    if isinstance(value, bool) or not isinstance(value, int | str) or value == "":
        raise MalformedPayload(f"{what} is missing or not an id")
    return str(value)
