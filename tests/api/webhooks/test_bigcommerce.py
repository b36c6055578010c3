"""BigCommerce deliveries to events, and its two-part authenticity
(api/webhooks/bigcommerce.py; payloads as BigCommerce's webhook-events reference shows
them, docs/platforms.md section 3).

The Standard Webhooks signature's refusals are in test_signatures.py, with the standard
provider's; here is what is BigCommerce's own: the custom secret header, always
required, and which secret shapes allow which deliveries.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import pytest

from api.webhooks import bigcommerce
from api.webhooks.event import Event, MalformedPayload, Secret, SignatureError
from models import EventKind
from tests.factories import signed

CREATED_AT = 1561479233
PRODUCT = {"type": "product", "id": 205}
PRODUCT_INVENTORY = {
    "type": "product",
    "id": 205,
    "inventory": {"product_id": 205, "method": "absolute", "value": 12},
}
#: A SKU's own id is 461; the product it belongs to, 205, is what we re-read.
SKU = {"type": "sku", "id": 461, "sku": {"product_id": 205, "variant_id": 509}}
SKU_INVENTORY = {
    "type": "sku",
    "id": 461,
    "inventory": {"product_id": 205, "method": "relative", "value": -3, "variant_id": 509},
}
#: Order notices carry ids only (docs/platforms.md section 3, `store_order_*.json`).
ORDER = {"type": "order", "id": 250}
ORDER_STATUS = {**ORDER, "status": {"previous_status_id": 11, "new_status_id": 2}}
ORDER_REFUND = {**ORDER, "refund": {"refund_id": 7}}
BOTH = {"header_secret": signed.BC_HEADER_SECRET, "client_secret": signed.BC_CLIENT_SECRET}


def _delivery(scope: str, data: Any) -> dict[str, Any]:
    return {
        "scope": scope,
        "store_id": "1025646",
        "data": data,
        "hash": "a833a57fadd56a32dc752fb6ca0841dc9602a495",
        "created_at": CREATED_AT,
        "producer": "stores/abc123",
    }


def _parse(body: Any, headers: dict[str, str] | None = None) -> list[Event]:
    raw = body if isinstance(body, bytes) else json.dumps(body).encode()
    return bigcommerce.parse(raw, headers or {})


@pytest.mark.parametrize(
    ("scope", "data", "kind"),
    [
        ("store/product/created", PRODUCT, EventKind.STORE_PRODUCT_UPSERT),
        ("store/product/updated", PRODUCT, EventKind.STORE_PRODUCT_UPSERT),
        ("store/product/deleted", PRODUCT, EventKind.STORE_PRODUCT_DELETE),
        ("store/product/inventory/updated", PRODUCT_INVENTORY, EventKind.STORE_STOCK),
        ("store/product/inventory/order/updated", PRODUCT_INVENTORY, EventKind.STORE_STOCK),
        ("store/sku/created", SKU, EventKind.STORE_PRODUCT_UPSERT),
        ("store/sku/updated", SKU, EventKind.STORE_PRODUCT_UPSERT),
        ("store/sku/inventory/updated", SKU_INVENTORY, EventKind.STORE_STOCK),
        ("store/sku/inventory/order/updated", SKU_INVENTORY, EventKind.STORE_STOCK),
    ],
)
def test_each_handled_scope_is_an_event_about_the_product(
    scope: str, data: dict[str, Any], kind: EventKind
) -> None:
    delivery = _delivery(scope, data)
    assert _parse(delivery, {"webhook-id": "msg_1"}) == [
        Event(
            topic=scope,
            kind=kind,
            entity="205",
            delivery_id="msg_1",
            occurred_at=datetime.fromtimestamp(CREATED_AT, UTC),
            payload=delivery,
        )
    ]


@pytest.mark.parametrize(
    ("scope", "data"),
    [
        ("store/order/created", ORDER),
        ("store/order/updated", ORDER),
        ("store/order/statusUpdated", ORDER_STATUS),
        ("store/order/refund/created", ORDER_REFUND),
    ],
)
def test_each_order_scope_is_an_event_about_the_order(scope: str, data: dict[str, Any]) -> None:
    delivery = _delivery(scope, data)
    assert _parse(delivery, {"webhook-id": "msg_2"}) == [
        Event(
            topic=scope,
            kind=EventKind.STORE_ORDER,
            entity="250",
            delivery_id="msg_2",
            occurred_at=datetime.fromtimestamp(CREATED_AT, UTC),
            payload=delivery,
        )
    ]


def test_a_classic_delivery_has_no_delivery_id() -> None:
    """The payload `hash` covers only `data`, so two genuine updates of one product share
    it: it is not an idempotency key, and only `webhook-id` is used."""
    [event] = _parse(_delivery("store/product/updated", PRODUCT))
    assert event.delivery_id is None


@pytest.mark.parametrize(
    ("scope", "data"),
    [
        ("store/order/archived", ORDER),
        ("store/customer/updated", {"type": "customer", "id": 32}),
        ("store/information/updated", {"type": "store"}),
    ],
    ids=["order-archived", "customer", "store-information"],
)
def test_other_scopes_parse_to_an_event_the_receiver_ignores(scope: str, data: Any) -> None:
    [event] = _parse(_delivery(scope, data))
    assert event.kind is None and event.topic == scope


@pytest.mark.parametrize(
    "body",
    [
        b"{nope",
        [_delivery("store/product/updated", PRODUCT)],
        {**_delivery("store/product/updated", PRODUCT), "scope": None},
        {**_delivery("store/product/updated", PRODUCT), "scope": ""},
        {**_delivery("store/product/updated", PRODUCT), "data": None},
        {**_delivery("store/product/updated", PRODUCT), "data": [205]},
        _delivery("store/product/updated", {"type": "product"}),
        _delivery("store/sku/updated", {"type": "sku", "id": 461, "sku": {"product_id": True}}),
        _delivery("store/order/created", {"type": "order"}),
        _delivery("store/order/statusUpdated", {"type": "order", "id": None}),
    ],
    ids=[
        "not-json",
        "array",
        "no-scope",
        "empty-scope",
        "no-data",
        "list-data",
        "no-id",
        "bool-product-id",
        "order-without-id",
        "order-null-id",
    ],
)
def test_a_body_that_is_not_a_delivery_is_malformed(body: Any) -> None:
    with pytest.raises(MalformedPayload):
        _parse(body)


def _delivered(
    standard: bool, header_secret: str | None = signed.BC_HEADER_SECRET
) -> tuple[bytes, dict[str, str]]:
    """A delivery with or without the Standard Webhooks headers, carrying
    `header_secret` in the custom header (or no such header when None)."""
    request = signed.bigcommerce()
    headers = {
        name: value
        for name, value in request.received.items()
        if name != "x-webhook-secret" and (standard or not name.startswith("webhook-"))
    }
    if header_secret is not None:
        headers["x-webhook-secret"] = header_secret
    return request.body, headers


@pytest.mark.parametrize(
    "secret",
    [signed.BC_HEADER_SECRET, {"header_secret": signed.BC_HEADER_SECRET}],
    ids=["string", "mapping"],
)
def test_without_a_client_secret_a_classic_delivery_stands_on_the_header_secret(
    secret: Secret,
) -> None:
    """Not every hook is known to carry the Standard Webhooks headers (docs/platforms.md
    section 3): a site configured without a client secret takes the custom header alone."""
    bigcommerce.verify(*_delivered(standard=False), secret)


@pytest.mark.parametrize(
    "drop", [(), ("webhook-signature",), ("webhook-id", "webhook-timestamp", "webhook-signature")]
)
def test_with_a_client_secret_an_unsigned_delivery_is_refused(drop: tuple[str, ...]) -> None:
    """The signature was checked only when its headers were there: anyone who saw one
    delivery's X-Webhook-Secret could forge any body by leaving them out."""
    body, headers = _delivered(standard=True)
    forged = {name: value for name, value in headers.items() if name not in drop}
    if not drop:
        forged["webhook-signature"] = "v1,"
    with pytest.raises(SignatureError, match=r"missing webhook-|signature"):
        bigcommerce.verify(body, forged, BOTH)


@pytest.mark.parametrize(
    "header_secret", [None, "", "not-the-header-secret"], ids=["missing", "empty", "wrong"]
)
@pytest.mark.parametrize("standard", [True, False], ids=["signed", "classic"])
def test_the_header_secret_is_always_required(header_secret: str | None, standard: bool) -> None:
    with pytest.raises(SignatureError, match="X-Webhook-Secret"):
        bigcommerce.verify(*_delivered(standard, header_secret), BOTH)


@pytest.mark.parametrize(
    "secret",
    [signed.BC_HEADER_SECRET, {"header_secret": signed.BC_HEADER_SECRET}],
    ids=["string", "mapping"],
)
def test_a_signed_delivery_needs_a_configured_client_secret(secret: Secret) -> None:
    """Without one the signature cannot be checked; accepting it unchecked would let a
    forged signature pass as if it had been."""
    request = signed.bigcommerce()
    with pytest.raises(SignatureError, match="client_secret"):
        bigcommerce.verify(request.body, request.received, secret)


def test_the_signature_is_keyed_with_the_client_secret_bytes() -> None:
    """BigCommerce's sample: Webhook(base64(client_secret)), so the key is the secret's
    own bytes, not a base64 decoding of it. Signed by hand, not by the package."""
    body = json.dumps(_delivery("store/product/updated", PRODUCT)).encode()
    headers = {
        **signed.standard_by_hand(body, signed.BC_CLIENT_SECRET.encode()),
        "x-webhook-secret": signed.BC_HEADER_SECRET,
    }
    bigcommerce.verify(body, headers, BOTH)
