"""The BigCommerce sandbox's orders: their lines, statuses, V2 JSON and stock rules.

Facts (docs/platforms.md section 4, "Orders (issue 20)" and "BigCommerce lowers its own
levels on orders"): status ids and names as `/order_statuses` lists them; the store
lowers the ordered SKUs' levels itself, when the order is placed (`order_placed`) or
when it is completed or shipped (`order_completed_or_shipped`), and restores them when
the order is cancelled or refunded if `refund_order_stock_adjustment` is on, but not on
a partial refund (section 3, inventory order notices).

Modelled where the docs are silent (UNCONFIRMED):

- "Placed" is any status but 0 Incomplete (an Incomplete order has not lowered stock,
  INFERRED in section 4), 5 Cancelled and 6 Declined (an order created already dead
  never took stock).
- Under `order_completed_or_shipped` the levels go down at 2 Shipped, 3 Partially
  Shipped and 10 Completed, all of the order's units at once: the docs do not say
  whether a partial shipment lowers only what shipped.
- A level is lowered by the units still held (ordered less refunded), never below 0,
  and a restore gives back exactly what was taken: the docs do not say whether an order
  may take a level negative.
- An order whose stock was restored never lowers it again, and one that never lowered
  it is not restored: BigCommerce's bookkeeping of repeated transitions is not
  documented.
- A refund of every remaining unit moves the order to 4 Refunded, any smaller refund to
  14 Partially Refunded, as the control panel's refund does.
"""

from __future__ import annotations

import email.utils
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

#: `/order_statuses` (docs/platforms.md section 4).
STATUS_NAMES = {
    0: "Incomplete",
    1: "Pending",
    2: "Shipped",
    3: "Partially Shipped",
    4: "Refunded",
    5: "Cancelled",
    6: "Declined",
    7: "Awaiting Payment",
    8: "Awaiting Pickup",
    9: "Awaiting Shipment",
    10: "Completed",
    11: "Awaiting Fulfillment",
    12: "Manual Verification Required",
    13: "Disputed",
    14: "Partially Refunded",
}
INCOMPLETE, REFUNDED, CANCELLED, DECLINED, PARTIALLY_REFUNDED = 0, 4, 5, 6, 14
#: Statuses at which `order_completed_or_shipped` lowers the levels (see the module note).
SHIPPED_OR_COMPLETED = frozenset({2, 3, 10})
#: Statuses that give the taken stock back when `refund_order_stock_adjustment` is on.
RESTORING = frozenset({REFUNDED, CANCELLED})
#: Statuses of an order that is not, or no longer, placed.
NOT_PLACED = frozenset({INCOMPLETE, CANCELLED, DECLINED})

#: `update_stock_behavior` values (`reference/settings.v3.yml`).
STOCK_BEHAVIORS = ("order_placed", "order_completed_or_shipped")
#: First order id: far from product, variant and SKU ids so a mix-up fails a test.
FIRST_ORDER_ID = 5000


@dataclass
class InventorySettings:
    """`/v3/settings/inventory`, the store-wide (global) settings only: the sandbox has
    one channel. `edit_order_stock_adjustment` is kept and served; the sandbox has no
    order edits for it to act on."""

    update_stock_behavior: str = "order_placed"
    refund_order_stock_adjustment: bool = True
    edit_order_stock_adjustment: bool = True

    def as_json(self) -> dict[str, Any]:
        return {
            "update_stock_behavior": self.update_stock_behavior,
            "refund_order_stock_adjustment": self.refund_order_stock_adjustment,
            "edit_order_stock_adjustment": self.edit_order_stock_adjustment,
        }


@dataclass
class OrderLine:
    id: int
    product_id: int
    variant_id: int
    sku: str
    quantity: int
    quantity_refunded: int = 0

    @property
    def held(self) -> int:
        return self.quantity - self.quantity_refunded


@dataclass
class Order:
    id: int
    status_id: int
    lines: list[OrderLine]
    created_at: datetime
    modified_at: datetime
    #: Units this order took from each variant's level (variant id to units).
    taken: dict[int, int] = field(default_factory=dict)
    #: Where the order stands with the levels: `untouched`, `taken` or `restored`.
    stock_stage: str = "untouched"


def takes_stock(status_id: int, settings: InventorySettings) -> bool:
    """Whether an order at `status_id` has had the store lower its levels by now."""
    if settings.update_stock_behavior == "order_completed_or_shipped":
        return status_id in SHIPPED_OR_COMPLETED
    return status_id not in NOT_PLACED and status_id not in RESTORING


def level_moves(order: Order, settings: InventorySettings) -> dict[int, int]:
    """What the order's current status does to levels, as variant id to units wanted
    (negative: to take). Taking records nothing yet: `record_taken` does, with what the
    levels actually gave."""
    if order.stock_stage == "untouched" and takes_stock(order.status_id, settings):
        wanted: dict[int, int] = {}
        for line in order.lines:
            wanted[line.variant_id] = wanted.get(line.variant_id, 0) - line.held
        return {variant: units for variant, units in wanted.items() if units}
    restores = order.status_id in RESTORING and settings.refund_order_stock_adjustment
    if order.stock_stage == "taken" and restores:
        return dict(order.taken)
    return {}


def record_moves(order: Order, moves: dict[int, int], applied: dict[int, int]) -> None:
    """Remember what the `moves` of `level_moves` did; `applied` is what the levels
    actually gave (variant id to units moved), which a restore gives back exactly."""
    if not moves:
        return
    if order.stock_stage == "taken":
        order.taken, order.stock_stage = {}, "restored"
    else:
        order.taken = {variant: -units for variant, units in applied.items() if units}
        order.stock_stage = "taken"


def status_after_refund(order: Order) -> int:
    return REFUNDED if all(line.held == 0 for line in order.lines) else PARTIALLY_REFUNDED


def rfc2822(moment: datetime) -> str:
    """V2 dates: "Tue, 20 Nov 2012 00:00:00 +0000" (`reference/orders.v2.oas2.yml`)."""
    return email.utils.format_datetime(moment.replace(microsecond=0))


def order_json(order: Order) -> dict[str, Any]:
    """The V2 order fields stocksync reads (`GET /v2/orders/{id}`)."""
    return {
        "id": order.id,
        "status_id": order.status_id,
        "status": STATUS_NAMES[order.status_id],
        "date_created": rfc2822(order.created_at),
        "date_modified": rfc2822(order.modified_at),
        "items_total": sum(line.quantity for line in order.lines),
    }


def line_json(order: Order, line: OrderLine) -> dict[str, Any]:
    """One V2 order product (`GET /v2/orders/{id}/products`)."""
    shipped = line.held if order.status_id in (2, 10) else 0
    return {
        "id": line.id,
        "order_id": order.id,
        "product_id": line.product_id,
        "variant_id": line.variant_id,
        "sku": line.sku,
        "quantity": line.quantity,
        "quantity_shipped": shipped,
        "quantity_refunded": line.quantity_refunded,
    }
