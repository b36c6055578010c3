"""A WooCommerce REST v3 order, as an `order.created`/`order.updated` delivery carries it,
to an `OrderSnapshot` (docs/platforms.md section 1, "Order webhooks and WooCommerce's
own stock").

Statuses and WooCommerce's own stock: WC lowers `stock_quantity` when an order enters
`on-hold`, `processing` or `completed` and restores it only on `cancelled` and
`pending` (`wc_maybe_increase_stock_levels`). So a `pending` order holds units (the
siblings must not sell them) that its own store has not taken yet; any other status,
custom ones from plugins included, leaves a reduced stock reduced, so it counts as
applied. `failed` and `cancelled` end the order; `refunded` ends it as a whole.

Partial refunds: the order's `refunds[]` gives only each refund's id and total, not
its lines, so an order with refunds costs one API call, `GET orders/<id>/refunds`,
whose refund lines carry the SKU and a negative `quantity`; those units are taken off
the order's lines, whether or not the refund restocked them (`OrderLine`: a refunded
unit is no longer sold).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Any

from connectors.order_lines import field, objects, order_object, summed, utc_time
from connectors.types import OrderSnapshot, OrderState

PLATFORM = "woocommerce"

#: Status -> (state, whether WC's own stock already went down by the order). An order
#: that is not open holds nothing, so it is never applied (as for BigCommerce).
STATUSES: dict[str, tuple[OrderState, bool]] = {
    "pending": (OrderState.OPEN, False),
    "on-hold": (OrderState.OPEN, True),
    "processing": (OrderState.OPEN, True),
    "completed": (OrderState.OPEN, True),
    "cancelled": (OrderState.CANCELLED, False),
    # Nearly always from `pending` (payment declined), which never reduced stock.
    "failed": (OrderState.CANCELLED, False),
    "refunded": (OrderState.REFUNDED, False),
    "checkout-draft": (OrderState.NOT_PLACED, False),
    "draft": (OrderState.NOT_PLACED, False),
    "auto-draft": (OrderState.NOT_PLACED, False),
}
#: A custom status: WC restores stock only on `cancelled` and `pending`, so an order
#: moved to one keeps whatever it took; like `processing` (section 1).
CUSTOM_STATUS = (OrderState.OPEN, True)

#: Reads an order's refunds (`GET orders/<id>/refunds`): the one API call.
RefundReader = Callable[[str], Iterable[Mapping[str, Any]]]


def parse_order(payload: object, read_refunds: RefundReader) -> OrderSnapshot:
    """The snapshot of a REST v3 order; `read_refunds` is called only if it has refunds."""
    order = order_object(payload, PLATFORM)
    order_id = str(field(order, "id", int, PLATFORM))
    status = field(order, "status", str, PLATFORM)
    state, applied = STATUSES.get(status, CUSTOM_STATUS)
    refunds = order.get("refunds") or []
    refunded = _refund_lines(read_refunds(order_id)) if refunds else []
    lines = [
        (line.get("sku"), field(line, "quantity", int, PLATFORM))
        for line in objects(field(order, "line_items", list, PLATFORM))
    ]
    return OrderSnapshot(
        order_id=order_id,
        number=str(order.get("number") or order_id),
        updated_at=utc_time(order, "date_modified_gmt", PLATFORM),
        state=state,
        store_applied=applied,
        lines=summed([*lines, *refunded]),
    )


def _refund_lines(refunds: Iterable[Mapping[str, Any]]) -> list[tuple[object, int]]:
    """(SKU, units) of every refund line; `quantity` is negative there, as WC stores it."""
    return [
        (line.get("sku"), -abs(field(line, "quantity", int, PLATFORM)))
        for refund in objects(refunds)
        for line in objects(refund.get("line_items") or [])
    ]
