"""Shopify orders and what they do to the location's quantities (docs/platforms.md
section 5, "Order webhooks" and "What an order does to Shopify's numbers").

Per inventory item the state holds `available` (`ShopifyState.quantities`, what
`inventorySetQuantities` writes and the catalog reads as `inventoryQuantity`) and
`committed`; `on_hand` is their sum, the sandbox having no other states (`reserved`,
`damaged`, ...). So setting `available` moves `on_hand` with it, as Shopify's does.

- An order moves its units from `available` to `committed` at once.
- Fulfilling it lowers `committed`, and so `on_hand`.
- Cancelling with restock puts the unfulfilled units back into `available` and records
  a refund whose lines say `restock_type: "cancel"` (INFERRED in section 5).
  Cancelling without restock releases them from `committed` without restocking, so
  `on_hand` drops (UNCONFIRMED: the sandbox's reading of `orderCancel(restock: false)`).
- A refund line with `cancel` (unfulfilled units) or `return` (fulfilled ones) puts its
  units back into `available`; `no_restock` does not, and its unfulfilled units leave
  `committed` (UNCONFIRMED, as above).

Money is not modelled: `financial_status` is `paid`, `partially_refunded` or
`refunded` by refunded units alone.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sandbox.shopify.webhooks import now

FIRST_ORDER_ID = 5_000_001
FIRST_LINE_ID = 7_000_001
FIRST_NAME = 1001
RESTOCK_TYPES = frozenset({"cancel", "return", "no_restock"})


@dataclass(slots=True)
class Line:
    id: int
    #: The variant's index in `ShopifyState` (variant id `index + 1`).
    index: int
    sku: str
    product: int
    quantity: int
    fulfillable: int


@dataclass(slots=True)
class RefundLine:
    id: int
    line: Line
    quantity: int
    restock_type: str


@dataclass(slots=True)
class Refund:
    id: int
    created_at: str
    lines: list[RefundLine]


@dataclass(slots=True)
class Order:
    id: int
    name: str
    lines: list[Line]
    created_at: str
    updated_at: str
    cancelled_at: str | None = None
    refunds: list[Refund] = field(default_factory=list)

    def refunded(self, line: Line) -> int:
        return sum(r.quantity for refund in self.refunds for r in refund.lines if r.line is line)

    def line_for(self, sku: str) -> Line | None:
        return next((line for line in self.lines if line.sku == sku), None)


class OrderBook:
    """Every order of the shop, and the ids Shopify would give its objects."""

    def __init__(self) -> None:
        self.orders: dict[int, Order] = {}
        self._next_id = FIRST_LINE_ID

    def open(self, lines: list[tuple[int, str, int, int]]) -> Order:
        """A new order of (variant index, SKU, product number, units) lines."""
        stamp = now()
        order = Order(
            FIRST_ORDER_ID + len(self.orders),
            f"#{FIRST_NAME + len(self.orders)}",
            [Line(self.next_id(), i, sku, p, units, units) for i, sku, p, units in lines],
            stamp,
            stamp,
        )
        self.orders[order.id] = order
        return order

    def next_id(self) -> int:
        self._next_id += 1
        return self._next_id - 1


def order_payload(order: Order, location: int) -> dict[str, Any]:
    """The REST Order the `orders/*` deliveries carry, trimmed to what identifies the
    order and what its stock reads (shopify.dev REST Order; section 5)."""
    return {
        "id": order.id,
        "name": order.name,
        "admin_graphql_api_id": f"gid://shopify/Order/{order.id}",
        "created_at": order.created_at,
        "updated_at": order.updated_at,
        "cancelled_at": order.cancelled_at,
        "cancel_reason": "customer" if order.cancelled_at else None,
        "financial_status": _financial_status(order),
        "fulfillment_status": _fulfillment_status(order),
        "location_id": None,
        "line_items": [_line_payload(line) for line in order.lines],
        "refunds": [refund_payload(order, refund, location) for refund in order.refunds],
    }


def refund_payload(order: Order, refund: Refund, location: int) -> dict[str, Any]:
    """The REST Refund (`refunds/create`, and each of `order.refunds[]`): its lines name
    the order's line, the restock type and, unless `no_restock`, the location."""
    return {
        "id": refund.id,
        "order_id": order.id,
        "created_at": refund.created_at,
        "admin_graphql_api_id": f"gid://shopify/Refund/{refund.id}",
        "refund_line_items": [
            {
                "id": r.id,
                "line_item_id": r.line.id,
                "quantity": r.quantity,
                "restock_type": r.restock_type,
                "location_id": None if r.restock_type == "no_restock" else location,
                "line_item": _line_payload(r.line),
            }
            for r in refund.lines
        ],
    }


def _financial_status(order: Order) -> str:
    """By refunded units alone: the sandbox keeps no money."""
    refunded = sum(order.refunded(line) for line in order.lines)
    if not refunded:
        return "paid"
    ordered = sum(line.quantity for line in order.lines)
    return "refunded" if refunded >= ordered else "partially_refunded"


def _fulfillment_status(order: Order) -> str | None:
    """None until something shipped; `fulfilled` once nothing is left to ship."""
    shipped = any(line.fulfillable < line.quantity - order.refunded(line) for line in order.lines)
    if not shipped:
        return None
    return "partial" if any(line.fulfillable for line in order.lines) else "fulfilled"


def _line_payload(line: Line) -> dict[str, Any]:
    return {
        "id": line.id,
        "variant_id": line.index + 1,
        "product_id": line.product,
        "sku": line.sku,
        "quantity": line.quantity,
        "fulfillable_quantity": line.fulfillable,
        "variant_inventory_management": "shopify",
        "admin_graphql_api_id": f"gid://shopify/LineItem/{line.id}",
    }
