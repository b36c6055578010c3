"""Dynamics 365 Business Central subscriptions (docs/platforms.md section 7).

Three rules shape this module:
- Creating or renewing a subscription makes BC call us with `?validationToken=`; we
  must echo it as plain text with 200 or the subscription is not made.
- Authenticity is only `clientState`, a shared secret echoed in every notification.
- Any 4xx other than 408/429 makes BC *delete the subscription*. So the receiver never
  answers 4xx here: refusals are logged and answered 200 (or 503 for our outages).
One POST may carry several notifications; each becomes its own event.
"""

from __future__ import annotations

import re
from typing import Any

from api.webhooks.event import Event, Headers, MalformedPayload, Secret, SignatureError, parse_time
from api.webhooks.signatures import load_json, require_equal, require_object
from models import EventKind

#: Refusals are answered 200: see the module docstring.
REFUSAL_STATUS = 200

_ITEM = re.compile(r"items\(([0-9a-fA-F-]{36})\)\s*$")

KINDS = {
    "created": EventKind.ERP_ITEM_CHANGED,
    "updated": EventKind.ERP_ITEM_CHANGED,
    # The item is re-read like any change: a 404 is what zeroes its SKUs everywhere.
    "deleted": EventKind.ERP_ITEM_CHANGED,
    "collection": EventKind.ERP_COLLECTION,
}


def _notifications(raw_body: bytes) -> list[dict[str, Any]]:
    body = require_object(load_json(raw_body), "body")
    value = body.get("value")
    if not isinstance(value, list) or not value:
        raise MalformedPayload("value is not a non-empty list")
    return [require_object(item, "notification") for item in value]


def verify(raw_body: bytes, headers: Headers, secret: Secret, query: Headers | None = None) -> None:
    if not isinstance(secret, str):
        raise SignatureError("source secret is not a clientState")
    try:
        notifications = _notifications(raw_body)
    except MalformedPayload:
        raise SignatureError("malformed") from None
    for notification in notifications:
        state = notification.get("clientState")
        require_equal(secret, state if isinstance(state, str) else None, "clientState")


def parse(raw_body: bytes, headers: Headers) -> list[Event]:
    events = []
    for notification in _notifications(raw_body):
        change = notification.get("changeType")
        resource = notification.get("resource")
        if not isinstance(change, str) or not isinstance(resource, str):
            raise MalformedPayload("notification lacks changeType or resource")
        match = _ITEM.search(resource)
        modified = notification.get("lastModifiedDateTime")
        # Without its time a notification names no one change: no delivery id, or two
        # changes of one item would be taken for one delivery for a day.
        delivery = (
            f"{notification.get('subscriptionId')}:{resource}:{modified}"
            if isinstance(modified, str) and modified
            else None
        )
        events.append(
            Event(
                topic=f"items.{change}",
                kind=KINDS.get(change),
                entity=match.group(1).lower() if match else resource,
                delivery_id=delivery,
                occurred_at=parse_time(modified),
                payload=notification,
            )
        )
    return events
