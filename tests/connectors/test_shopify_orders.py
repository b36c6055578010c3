"""A Shopify REST Order to an OrderSnapshot (connectors/shopify_orders.py;
docs/platforms.md section 5), on orders the sandbox's own builder writes
(`sandbox.shopify.orders.order_payload`)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from connectors.errors import PermanentError
from connectors.shopify_orders import parse_order
from connectors.types import OrderLine, OrderSnapshot, OrderState
from sandbox.shopify.orders import Order, OrderBook, Refund, RefundLine, order_payload

LOCATION = 1


def _order(**units: int) -> tuple[OrderBook, Order]:
    book = OrderBook()
    lines = [(i, sku.replace("_", "-"), 1, q) for i, (sku, q) in enumerate(units.items())]
    return book, book.open(lines)


def _refund(book: OrderBook, order: Order, *lines: tuple[int, int, str]) -> None:
    """Record a refund of (line position, units, restock_type)."""
    refund_lines = [
        RefundLine(book.next_id(), order.lines[at], units, kind) for at, units, kind in lines
    ]
    order.refunds.append(Refund(book.next_id(), "2026-12-01T12:00:00Z", refund_lines))


def test_an_open_order_is_its_gid_name_time_and_lines_already_applied() -> None:
    _book, order = _order(SKU_000001=2, SKU_000002=1)
    order.updated_at = "2026-12-01T07:00:00-05:00"
    assert parse_order(order_payload(order, LOCATION)) == OrderSnapshot(
        order_id=f"gid://shopify/Order/{order.id}",
        number="#1001",
        updated_at=datetime(2026, 12, 1, 12, 0, tzinfo=UTC),
        state=OrderState.OPEN,
        store_applied=True,
        lines=(OrderLine("SKU-000001", 2), OrderLine("SKU-000002", 1)),
    )


def test_lines_of_one_sku_are_summed_and_lines_without_a_sku_skipped() -> None:
    payload: dict[str, Any] = order_payload(_order(SKU_000001=2)[1], LOCATION)
    line = payload["line_items"][0]
    payload["line_items"] += [
        {**line, "id": 9, "sku": " sku-000001", "quantity": 3},
        {**line, "id": 10, "sku": None, "quantity": 5},
    ]
    assert parse_order(payload).lines == (OrderLine("SKU-000001", 5),)


def test_refunded_units_leave_their_line_whatever_the_restock_type() -> None:
    book, order = _order(SKU_000001=3, SKU_000002=2)
    _refund(book, order, (0, 1, "cancel"))
    _refund(book, order, (0, 1, "no_restock"), (1, 1, "return"))
    snapshot = parse_order(order_payload(order, LOCATION))
    assert snapshot.lines == (OrderLine("SKU-000001", 1), OrderLine("SKU-000002", 1))
    assert snapshot.state is OrderState.OPEN


def test_an_order_refunded_in_full_is_refunded() -> None:
    book, order = _order(SKU_000001=2)
    _refund(book, order, (0, 2, "no_restock"))
    payload = order_payload(order, LOCATION)
    assert payload["financial_status"] == "refunded"
    snapshot = parse_order(payload)
    assert (snapshot.state, snapshot.lines) == (OrderState.REFUNDED, (OrderLine("SKU-000001", 0),))


def test_a_cancelled_order_is_cancelled_restocked_or_not() -> None:
    book, order = _order(SKU_000001=2)
    order.cancelled_at = "2026-12-01T12:00:00Z"
    snapshot = parse_order(order_payload(order, LOCATION))
    assert (snapshot.state, snapshot.store_applied) == (OrderState.CANCELLED, False)
    _refund(book, order, (0, 2, "cancel"))
    assert parse_order(order_payload(order, LOCATION)).state is OrderState.CANCELLED


@pytest.mark.parametrize(
    "payload",
    [
        None,
        "order",
        {"name": "#1", "updated_at": "2026-12-01T12:00:00Z", "line_items": []},
        {"id": True, "updated_at": "2026-12-01T12:00:00Z", "line_items": []},
        {"id": 5, "line_items": []},
        {"id": 5, "updated_at": "2026-12-01T12:00:00Z"},
        {
            "id": 5,
            "updated_at": "2026-12-01T12:00:00Z",
            "line_items": [{"id": 1, "sku": "A", "quantity": 1}],
            "refunds": [{"refund_line_items": [{"line_item_id": 1, "quantity": None}]}],
        },
    ],
    ids=["none", "string", "no-id", "bool-id", "no-time", "no-lines", "bad-refund-qty"],
)
def test_a_payload_that_is_not_an_order_is_a_permanent_error(payload: Any) -> None:
    with pytest.raises(PermanentError, match="shopify: order"):
        parse_order(payload)
