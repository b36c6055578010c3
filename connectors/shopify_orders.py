"""A Shopify REST Order, as `orders/create`, `orders/updated` and `orders/cancelled`
carry it, to an `OrderSnapshot` (docs/platforms.md section 5, "Order webhooks" and
"What an order does to Shopify's numbers").

Shopify moves an order's units from `available` to `committed` when the order is
created, so its own stock always already reflects an open order (`store_applied`; one
that is not open holds nothing, so it is never applied, as for BigCommerce). A line holds
its `quantity` less the units of every `refunds[].refund_line_items[]` naming it
(`line_item_id`), whatever the `restock_type`: a refunded unit is released from the
order, restocked (`cancel`, `return`) or not (`no_restock`). `cancelled_at` ends the
order; an order whose lines are all refunded and whose `financial_status` is
`refunded` ended as a whole.

The order is named by its GID, as the webhook parser names it (docs/style.md rule 18).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from typing import Any

from connectors.order_lines import field, objects, order_object, summed, utc_time
from connectors.types import OrderSnapshot, OrderState

PLATFORM = "shopify"


def parse_order(payload: object) -> OrderSnapshot:
    """The snapshot of a REST Order (numeric ids), named by its Order GID."""
    order = order_object(payload, PLATFORM)
    number = field(order, "id", int, PLATFORM)
    released = _refunded_units(order.get("refunds") or [])
    lines = summed(
        (line.get("sku"), field(line, "quantity", int, PLATFORM) - released[line.get("id")])
        for line in objects(field(order, "line_items", list, PLATFORM))
    )
    if order.get("cancelled_at"):
        state = OrderState.CANCELLED
    elif order.get("financial_status") == "refunded" and not any(line.units for line in lines):
        state = OrderState.REFUNDED
    else:
        state = OrderState.OPEN
    return OrderSnapshot(
        order_id=f"gid://shopify/Order/{number}",
        number=str(order.get("name") or number),
        updated_at=utc_time(order, "updated_at", PLATFORM),
        state=state,
        store_applied=state is OrderState.OPEN,
        lines=lines,
    )


def _refunded_units(refunds: Iterable[Any]) -> Counter[Any]:
    """Units refunded per order line id, over every refund."""
    units: Counter[Any] = Counter()
    for refund in objects(refunds):
        for line in objects(refund.get("refund_line_items") or []):
            units[line.get("line_item_id")] += field(line, "quantity", int, PLATFORM)
    return units
