"""Order webhooks are logged without the customer (api/webhooks/order_bodies.py): what
is kept reads to the same snapshot as the whole body."""

from __future__ import annotations

import json
from typing import Any

from api.webhooks import shopify, woocommerce
from connectors import shopify_orders, woocommerce_orders
from sandbox.shopify.orders import OrderBook as ShopifyBook
from sandbox.shopify.orders import Refund, RefundLine, order_payload
from sandbox.woocommerce.catalog import Catalog
from sandbox.woocommerce.orders import OrderBook as WooBook
from sandbox.woocommerce.orders import order_json

EMAIL = "ann.buyer@example.test"
CUSTOMER = {
    "email": EMAIL,
    "billing": {"first_name": "Ann", "email": EMAIL, "address_1": "1 Main Street"},
    "shipping": {"first_name": "Ann", "address_1": "1 Main Street"},
    "customer_note": f"call {EMAIL}",
    "customer": {"email": EMAIL, "phone": "+33 6 00 00 00 00"},
}


def _logged(module: Any, body: dict[str, Any], headers: dict[str, str]) -> Any:
    [event] = module.parse(json.dumps(body).encode(), headers)
    assert "example.test" not in json.dumps(event.payload)
    assert "Main Street" not in json.dumps(event.payload)
    return event.payload


def test_a_woocommerce_order_is_logged_without_its_customer() -> None:
    catalog = Catalog(20, 0.0, 0)
    order, _ = WooBook(catalog).place(
        [(catalog.records[catalog.by_sku["SKU-000003"]], 2)], "processing"
    )
    body = {**order_json(order), **CUSTOMER}
    payload = _logged(woocommerce, body, {"x-wc-webhook-topic": "order.created"})

    def no_refunds(order_id: str) -> list[Any]:
        return []

    assert woocommerce_orders.parse_order(payload, no_refunds) == woocommerce_orders.parse_order(
        body, no_refunds
    )


def test_a_shopify_order_is_logged_without_its_customer_and_keeps_its_refunds() -> None:
    book = ShopifyBook()
    order = book.open([(0, "SKU-1", 1, 3), (1, "SKU-2", 2, 1)])
    order.refunds.append(
        Refund(
            book.next_id(),
            "2026-12-01T12:00:00Z",
            [RefundLine(book.next_id(), order.lines[0], 1, "return")],
        )
    )
    body = {**order_payload(order, 1), **CUSTOMER}
    payload = _logged(shopify, body, {"x-shopify-topic": "orders/updated"})
    assert shopify_orders.parse_order(payload) == shopify_orders.parse_order(body)
    assert shopify_orders.parse_order(payload).lines[0].units == 2
