"""A Standard Webhooks producer's messages to events (api/webhooks/standard.py).

The signature's refusals are in test_signatures.py, with BigCommerce's, which uses the
same scheme; the one difference, that the signature header is required here, is below.
"""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime
from typing import Any

import pytest

from api.webhooks import standard
from api.webhooks.event import Event, MalformedPayload, SignatureError
from models import EventKind
from tests.factories import signed

HEADERS = {"webhook-id": "msg_2KWPBgLlAfxdpx2AI54pPJ85f4W"}


def _parse(body: Any) -> list[Event]:
    raw = body if isinstance(body, bytes) else json.dumps(body).encode()
    return standard.parse(raw, HEADERS)


def _message(type_: str, data: Any) -> dict[str, Any]:
    return {"type": type_, "timestamp": "2026-12-01T12:00:00Z", "data": data}


@pytest.mark.parametrize(
    "type_", ["inventory.updated", "item.created", "product.updated", "stock.adjusted"]
)
def test_a_stock_related_type_naming_a_sku_is_a_sku_change(type_: str) -> None:
    message = _message(type_, {"sku": " sku-1 ", "quantity": 3})
    assert _parse(message) == [
        Event(
            topic=type_,
            kind=EventKind.SKU_CHANGED,
            entity="SKU-1",
            sku="SKU-1",
            delivery_id=HEADERS["webhook-id"],
            occurred_at=datetime(2026, 12, 1, 12, 0, tzinfo=UTC),
            payload=message,
        )
    ]


@pytest.mark.parametrize(
    ("type_", "data"),
    [
        ("invoice.paid", {"sku": "SKU-1"}),
        ("inventory", {"sku": "SKU-1"}),
        ("inventory.updated", {}),
        ("inventory.updated", {"sku": ""}),
        ("inventory.updated", {"sku": 42}),
        # Longer than any ERP item number (models/skus.py): it can match nothing.
        ("inventory.updated", {"sku": "S" * 21}),
    ],
    ids=["other-type", "no-dot", "no-sku", "empty-sku", "numeric-sku", "sku-too-long"],
)
def test_other_messages_parse_to_an_event_the_receiver_ignores(type_: str, data: Any) -> None:
    [event] = _parse(_message(type_, data))
    assert event.kind is None and event.topic == type_


@pytest.mark.parametrize(
    "body",
    [
        b"{nope",
        [_message("inventory.updated", {"sku": "A"})],
        {"data": {"sku": "A"}},
        {"type": "", "data": {"sku": "A"}},
        {"type": 7, "data": {"sku": "A"}},
        {"type": "inventory.updated"},
        {"type": "inventory.updated", "data": ["A"]},
    ],
    ids=["not-json", "array", "no-type", "empty-type", "numeric-type", "no-data", "list-data"],
)
def test_a_body_that_is_not_a_message_is_malformed(body: Any) -> None:
    with pytest.raises(MalformedPayload):
        _parse(body)


def test_the_signature_header_is_required() -> None:
    request = signed.standard()
    headers = request.received
    del headers["webhook-signature"]
    with pytest.raises(SignatureError, match="missing webhook-signature"):
        standard.verify(request.body, headers, signed.STANDARD_SECRET)


def test_the_key_is_the_base64_decoded_whsec_secret() -> None:
    """Signed by hand, not by the standardwebhooks package the code uses."""
    body = json.dumps(_message("inventory.updated", {"sku": "SKU-1"})).encode()
    key = base64.b64decode(signed.STANDARD_SECRET.removeprefix("whsec_"))
    standard.verify(body, signed.standard_by_hand(body, key), signed.STANDARD_SECRET)
