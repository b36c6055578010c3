"""Any Standard Webhooks producer (docs/platforms.md section 9), e.g. an ERP middleware.

The site's secret is the producer's `whsec_...` key. Events of type `inventory.*`,
`item.*`, `product.*` or `stock.*` that name `data.sku` mean "re-read this SKU from the
ERP and push it to this site"; `webhook-id` is the idempotency key.
"""

from __future__ import annotations

from api.webhooks.event import Event, Headers, MalformedPayload, Secret, SignatureError, parse_time
from api.webhooks.signatures import load_json, require_object, verify_standard
from models import EventKind
from models.skus import try_normalize_sku

PREFIXES = ("inventory.", "item.", "product.", "stock.")


def verify(raw_body: bytes, headers: Headers, secret: Secret, query: Headers | None = None) -> None:
    if not isinstance(secret, str):
        raise SignatureError("site secret is not a whsec_ key")
    verify_standard(raw_body, headers, secret)


def parse(raw_body: bytes, headers: Headers) -> list[Event]:
    body = require_object(load_json(raw_body), "body")
    topic = body.get("type")
    if not isinstance(topic, str) or not topic:
        raise MalformedPayload("type is missing")
    data = require_object(body.get("data"), "data")
    sku = try_normalize_sku(data.get("sku"))
    kind = EventKind.SKU_CHANGED if topic.startswith(PREFIXES) and sku else None
    return [
        Event(
            topic=topic,
            kind=kind,
            entity=sku or "",
            sku=sku,
            delivery_id=headers.get("webhook-id") or None,
            occurred_at=parse_time(body.get("timestamp")),
            payload=body,
        )
    ]
