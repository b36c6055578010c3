"""Zoho Inventory workflow webhooks (docs/platforms.md section 6).

Zoho documents no signature for Inventory webhooks, so the source's secret travels as a
custom header (`X-Zoho-Webhook-Token`) or custom parameter (`?token=`) that the merchant
sets on the webhook. Where the merchant's setup can sign (a Deluge function, a proxy),
configure `{"token": ..., "hmac_key": ...}` and `X-Zoho-Webhook-Signature` must then be
base64(HMAC-SHA256(hmac_key, raw body)) as well. Bodies are JSON, or a form whose
`JSONString` field holds the JSON (Zoho's form option).

Zoho sends no delivery id. What stands in: (item id, `last_modified_time`), which a
redelivery of one change repeats and a new change of the item moves on, as WooCommerce's
(id, `date_modified_gmt`). Not a hash of the body: the merchant chooses the body, and
one without a changing field would make every later change of the item look like a
redelivery. A body without `last_modified_time` gets no delivery id (the window alone
coalesces its repeats). Two changes of one item within its second share the key; the
one accepted is processed when its window closes (5 s later by default), by which time
the ERP holds both.

A document that moves stock (an invoice, a shipment, an inventory adjustment) fires no
item rule. A rule on its module whose webhook carries `X-Stocksync-Event: stock-moved`
is a nudge: the worker reads the source's change feed at once instead of at its next
poll (a minute apart on Zoho's budget). The window coalesces a burst of nudges into one
read.
"""

from __future__ import annotations

from urllib.parse import parse_qs

from api.webhooks.event import Event, Headers, MalformedPayload, Secret, SignatureError, parse_time
from api.webhooks.signatures import (
    entity_id,
    load_json,
    require_equal,
    require_hmac_base64,
    require_object,
)
from models import EventKind
from models.skus import try_normalize_sku

TOPIC = "item.changed"
#: `X-Stocksync-Event` of the webhook the manual steps have the merchant add to
#: workflow rules on invoices, shipments and inventory adjustments: stock moved.
STOCK_MOVED = "stock-moved"
NUDGE_TOPIC = "stock.moved"


def verify(raw_body: bytes, headers: Headers, secret: Secret, query: Headers | None = None) -> None:
    token = secret if isinstance(secret, str) else secret.get("token")
    if not token:
        raise SignatureError("source secret has no token")
    provided = headers.get("x-zoho-webhook-token") or (query or {}).get("token")
    require_equal(token, provided, "token")
    if not isinstance(secret, str) and secret.get("hmac_key"):
        require_hmac_base64(
            secret["hmac_key"], raw_body, headers.get("x-zoho-webhook-signature"), "signature"
        )


def _body(raw_body: bytes, headers: Headers) -> object:
    if headers.get("content-type", "").startswith("application/x-www-form-urlencoded"):
        try:
            form = parse_qs(raw_body.decode(), strict_parsing=True)
        except (UnicodeDecodeError, ValueError):
            raise MalformedPayload("form body is unreadable") from None
        if "JSONString" not in form:
            raise MalformedPayload("form body has no JSONString")
        return load_json(form["JSONString"][0].encode())
    return load_json(raw_body)


def parse(raw_body: bytes, headers: Headers) -> list[Event]:
    body = require_object(_body(raw_body, headers), "body")
    if headers.get("x-stocksync-event") == STOCK_MOVED:
        # A rule on a module of documents (invoices, shipments, adjustments): what it
        # moved is read from the change feed, so the body is kept, not relied on.
        return [
            Event(
                topic=NUDGE_TOPIC,
                kind=EventKind.ERP_STOCK_NUDGE,
                entity="change-feed",
                sku=None,
                delivery_id=None,
                occurred_at=None,
                payload=body,
            )
        ]
    item = require_object(body.get("item"), "item")
    item_id = entity_id(item.get("item_id"), "item.item_id")
    modified = item.get("last_modified_time")
    return [
        Event(
            topic=TOPIC,
            kind=EventKind.ERP_ITEM_CHANGED,
            entity=item_id,
            sku=try_normalize_sku(item.get("sku")),
            delivery_id=f"{item_id}:{modified}" if isinstance(modified, str) and modified else None,
            occurred_at=parse_time(modified),
            payload=body,
        )
    ]
