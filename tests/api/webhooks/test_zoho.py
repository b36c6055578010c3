"""Zoho Inventory workflow webhooks: the merchant-set token, and item bodies as JSON or
as Zoho's form option (api/webhooks/zoho.py; docs/platforms.md section 6).

The optional HMAC signature's refusals are in test_signatures.py, with the other
providers that sign base64(HMAC-SHA256(key, body)).
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from urllib.parse import urlencode

import pytest

from api.webhooks import zoho
from api.webhooks.event import Event, MalformedPayload, Secret, SignatureError
from connectors.zoho_connection import NUDGE_HEADER, NUDGE_VALUE
from models import EventKind
from tests.factories import signed

ITEM = {
    "item_id": "4815000000044208",
    "name": "Bags-small",
    "sku": " bag-s ",
    "status": "active",
    "stock_on_hand": 2,
    "available_stock": 2,
    "last_modified_time": "2026-12-01T17:30:00+0530",
}
BODY = {"item": ITEM}
JSON = {"content-type": "application/json"}
FORM = {"content-type": "application/x-www-form-urlencoded; charset=UTF-8"}


def _form(**fields: str) -> bytes:
    return urlencode(fields).encode()


@pytest.mark.parametrize(
    ("raw", "headers"),
    [
        (json.dumps(BODY).encode(), JSON),
        (json.dumps(BODY).encode(), {}),
        (_form(JSONString=json.dumps(BODY)), FORM),
    ],
    ids=["json", "no-content-type", "form"],
)
def test_an_item_notice_is_an_erp_item_change(raw: bytes, headers: dict[str, str]) -> None:
    assert zoho.parse(raw, headers) == [
        Event(
            topic="item.changed",
            kind=EventKind.ERP_ITEM_CHANGED,
            entity="4815000000044208",
            sku="BAG-S",
            # Zoho sends no delivery id: (item id, last_modified_time) stands in.
            delivery_id="4815000000044208:2026-12-01T17:30:00+0530",
            occurred_at=datetime(2026, 12, 1, 12, 0, tzinfo=UTC),
            payload=BODY,
        )
    ]


def test_an_item_without_a_usable_sku_is_still_a_change_of_that_item() -> None:
    """The worker re-reads the item by id; its SKU may have just been removed."""
    [event] = zoho.parse(json.dumps({"item": {"item_id": "4815000000044208"}}).encode(), JSON)
    assert (event.kind, event.entity, event.sku) == (
        EventKind.ERP_ITEM_CHANGED,
        "4815000000044208",
        None,
    )
    # Without its time the notice names no one change: no delivery id.
    assert event.delivery_id is None


@pytest.mark.parametrize(
    ("raw", "headers"),
    [
        (b"{nope", JSON),
        (b"[]", JSON),
        (json.dumps({"items": [ITEM]}).encode(), JSON),
        (json.dumps({"item": "4815000000044208"}).encode(), JSON),
        (json.dumps({"item": {**ITEM, "item_id": ""}}).encode(), JSON),
        (json.dumps({"item": {**ITEM, "item_id": None}}).encode(), JSON),
        (json.dumps({"item": {**ITEM, "item_id": True}}).encode(), JSON),
        (_form(item=json.dumps(ITEM)), FORM),
        (_form(JSONString="{nope"), FORM),
        (b"JSONString", FORM),
        (b"JSONString=\xff", FORM),
        # A JSON body sent as a form is read as the form it says it is.
        (json.dumps(BODY).encode(), FORM),
    ],
    ids=[
        "not-json",
        "array",
        "no-item",
        "item-not-object",
        "empty-item-id",
        "null-item-id",
        "bool-item-id",
        "form-without-jsonstring",
        "form-jsonstring-not-json",
        "form-not-a-form",
        "form-not-utf8",
        "json-labelled-form",
    ],
)
def test_a_body_that_is_not_an_item_notice_is_malformed(
    raw: bytes, headers: dict[str, str]
) -> None:
    with pytest.raises(MalformedPayload):
        zoho.parse(raw, headers)


@pytest.mark.parametrize("secret", [signed.ZOHO_TOKEN, {"token": signed.ZOHO_TOKEN}])
@pytest.mark.parametrize(
    ("headers", "query"),
    [({"x-zoho-webhook-token": signed.ZOHO_TOKEN}, None), ({}, {"token": signed.ZOHO_TOKEN})],
    ids=["header", "query"],
)
def test_the_token_is_accepted_as_a_header_or_a_parameter(
    secret: Secret, headers: dict[str, str], query: dict[str, str] | None
) -> None:
    zoho.verify(b"{}", headers, secret, query)


@pytest.mark.parametrize(
    ("headers", "query"),
    [
        ({}, None),
        ({}, {}),
        ({"x-zoho-webhook-token": ""}, {"token": ""}),
        ({"x-zoho-webhook-token": "guess"}, None),
        ({}, {"token": "guess"}),
        ({"x-zoho-webhook-token": signed.ZOHO_TOKEN.upper()}, None),
        ({"x-zoho-webhook-token": signed.ZOHO_TOKEN + " "}, None),
    ],
    ids=["none", "empty-query", "empty", "wrong-header", "wrong-query", "case", "padded"],
)
def test_a_missing_or_wrong_token_is_refused(
    headers: dict[str, str], query: dict[str, str] | None
) -> None:
    with pytest.raises(SignatureError, match="token"):
        zoho.verify(b"{}", headers, signed.ZOHO_TOKEN, query)


def test_a_valid_signature_does_not_replace_the_token() -> None:
    request = signed.zoho(token="guess", hmac_key=signed.ZOHO_HMAC_KEY)
    secret = {"token": signed.ZOHO_TOKEN, "hmac_key": signed.ZOHO_HMAC_KEY}
    with pytest.raises(SignatureError, match="token"):
        zoho.verify(request.body, request.received, secret)


def test_a_document_rules_webhook_is_a_nudge_to_read_the_change_feed() -> None:
    """An invoice names no item change we could read one by one: the header the manual
    steps ask for (connectors/zoho_connection.py) makes it one read of the feed."""
    body = {"invoices": {"invoice_id": "1", "line_items": [{"sku": "A", "quantity": 2}]}}
    headers = {
        "content-type": "application/json",
        NUDGE_HEADER.lower(): NUDGE_VALUE,
    }

    [event] = zoho.parse(json.dumps(body).encode(), headers)

    assert (event.kind, event.topic, event.entity, event.delivery_id) == (
        EventKind.ERP_STOCK_NUDGE,
        "stock.moved",
        "change-feed",
        None,
    )
    # Without the header, the same body is no item notice.
    with pytest.raises(MalformedPayload):
        zoho.parse(json.dumps(body).encode(), {"content-type": "application/json"})
