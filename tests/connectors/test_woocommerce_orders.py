"""A WooCommerce REST v3 order to an OrderSnapshot (connectors/woocommerce_orders.py;
docs/platforms.md section 1), on orders the sandbox's own builder writes
(`sandbox.woocommerce.orders.order_json`, `refund_json`)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from typing import Any

import pytest

from connectors.errors import PermanentError
from connectors.types import OrderLine, OrderSnapshot, OrderState
from connectors.woocommerce_orders import parse_order
from sandbox.woocommerce.catalog import Catalog
from sandbox.woocommerce.orders import Order, OrderBook, order_json, refund_json

#: 20 SKUs: products 100..108 are simple (SKU-000001..9), 109 is variable with 110..112.
CATALOG_ITEMS = 20


def _book() -> tuple[Catalog, OrderBook]:
    catalog = Catalog(CATALOG_ITEMS, 0.0, 0)
    return catalog, OrderBook(catalog)


def _place(book: OrderBook, catalog: Catalog, status: str, **units: int) -> Order:
    lines = [(catalog.records[catalog.by_sku[s.replace("_", "-")]], q) for s, q in units.items()]
    order, _changed = book.place(lines, status)
    return order


def _no_refunds(order_id: str) -> Iterable[Mapping[str, Any]]:
    raise AssertionError("an order without refunds costs no API call")


@pytest.mark.parametrize(
    ("status", "state", "applied"),
    [
        ("pending", OrderState.OPEN, False),
        ("on-hold", OrderState.OPEN, True),
        ("processing", OrderState.OPEN, True),
        ("completed", OrderState.OPEN, True),
        ("wc-shipped", OrderState.OPEN, True),
        ("cancelled", OrderState.CANCELLED, False),
        ("failed", OrderState.CANCELLED, False),
        ("refunded", OrderState.REFUNDED, False),
        ("checkout-draft", OrderState.NOT_PLACED, False),
        ("draft", OrderState.NOT_PLACED, False),
        ("auto-draft", OrderState.NOT_PLACED, False),
    ],
)
def test_each_status_is_a_state_and_says_whether_wc_took_the_stock(
    status: str, state: OrderState, applied: bool
) -> None:
    catalog, book = _book()
    order = _place(book, catalog, status, SKU_000001=2)
    snapshot = parse_order(order_json(order), _no_refunds)
    assert (snapshot.state, snapshot.store_applied) == (state, applied)


def test_an_order_is_its_id_number_time_and_lines_summed_by_normalised_sku() -> None:
    payload = {
        "id": 727,
        "number": "WC-727",
        "status": "processing",
        "date_modified_gmt": "2026-12-01T12:00:00",
        "line_items": [
            {"id": 1, "product_id": 100, "variation_id": 0, "sku": " sku-000001 ", "quantity": 2},
            {"id": 2, "product_id": 109, "variation_id": 110, "sku": "SKU-000010", "quantity": 1},
            {"id": 3, "product_id": 100, "variation_id": 0, "sku": "SKU-000001", "quantity": 1},
            {"id": 4, "product_id": 500, "variation_id": 0, "sku": "", "quantity": 4},
        ],
        "refunds": [],
    }
    assert parse_order(payload, _no_refunds) == OrderSnapshot(
        order_id="727",
        number="WC-727",
        updated_at=datetime(2026, 12, 1, 12, 0, tzinfo=UTC),
        state=OrderState.OPEN,
        store_applied=True,
        lines=(OrderLine("SKU-000001", 3), OrderLine("SKU-000010", 1)),
    )


def test_refunded_units_are_read_from_the_refunds_route_and_taken_off_their_lines() -> None:
    catalog, book = _book()
    order = _place(book, catalog, "processing", SKU_000001=3, SKU_000010=2)
    first, variation = order.lines
    book.refund(order, [(first, 1)], restock=True)
    book.refund(order, [(first, 1), (variation, 2)], restock=False)
    asked: list[str] = []

    def refunds(order_id: str) -> list[dict[str, Any]]:
        asked.append(order_id)
        return [refund_json(r) for r in reversed(order.refunds)]

    snapshot = parse_order(order_json(order), refunds)
    assert asked == [str(order.id)]
    assert snapshot.lines == (OrderLine("SKU-000001", 1), OrderLine("SKU-000010", 0))
    assert snapshot.state is OrderState.OPEN


@pytest.mark.parametrize(
    "payload",
    [
        None,
        [],
        {"status": "processing", "date_modified_gmt": "2026-12-01T12:00:00", "line_items": []},
        {"id": 7, "date_modified_gmt": "2026-12-01T12:00:00", "line_items": []},
        {"id": 7, "status": "processing", "line_items": []},
        {"id": 7, "status": "processing", "date_modified_gmt": "soon", "line_items": []},
        {"id": 7, "status": "processing", "date_modified_gmt": "2026-12-01T12:00:00"},
        {
            "id": 7,
            "status": "processing",
            "date_modified_gmt": "2026-12-01T12:00:00",
            "line_items": [{"sku": "A", "quantity": "2"}],
        },
    ],
    ids=["none", "list", "no-id", "no-status", "no-time", "bad-time", "no-lines", "bad-qty"],
)
def test_a_payload_that_is_not_an_order_is_a_permanent_error(payload: Any) -> None:
    with pytest.raises(PermanentError, match="woocommerce: order"):
        parse_order(payload, _no_refunds)
