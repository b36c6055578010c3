"""What a shopper and the merchant do with a Shopify order, and the deliveries each
sends (docs/platforms.md section 5; the quantity rules are `sandbox.shopify.orders`).

Each step changes the quantities and the order under the state's lock, then delivers:
`orders/create`, `orders/cancelled`, `refunds/create` followed by `orders/updated`,
and `orders/updated` for a fulfilment; every change of `available` also sends its
`inventory_levels/update` (`ShopifyState.shift`), as a stock write does. The bodies
are built under the lock, so each shows the order as that step left it.
"""

from __future__ import annotations

from collections.abc import Sequence

from sandbox.shopify.orders import Line, Order, Refund, RefundLine, order_payload, refund_payload
from sandbox.shopify.state import LOCATION_NUMBER, ShopifyState
from sandbox.shopify.webhooks import now


def place(state: ShopifyState, lines: Sequence[tuple[int, int]]) -> Order:
    """An order of (variant index, units): `available` -> `committed` at once."""
    with state.lock:
        order = state.orders.open(
            [(i, state.skus[i], state.product_of[i], units) for i, units in lines]
        )
        for index, units in lines:
            state.shift(index, available=-units, committed=units)
        body = order_payload(order, LOCATION_NUMBER)
    state.send("orders/create", body)
    return order


def cancel(state: ShopifyState, order: Order, restock: bool) -> None:
    """`orderCancel`: unfulfilled units leave `committed`, back into `available` if
    `restock`, which also records a refund with `restock_type: "cancel"`."""
    with state.lock:
        stamp = now()
        order.cancelled_at = order.updated_at = stamp
        unfulfilled = [(line, line.fulfillable) for line in order.lines if line.fulfillable]
        if restock and unfulfilled:
            _record(state, order, [(line, units, "cancel") for line, units in unfulfilled])
        for line, units in unfulfilled:
            line.fulfillable = 0
            state.shift(line.index, available=units if restock else 0, committed=-units)
        body = order_payload(order, LOCATION_NUMBER)
    state.send("orders/cancelled", body)


def refund(state: ShopifyState, order: Order, lines: Sequence[tuple[Line, int, str]]) -> None:
    """A refund of (line, units, restock_type): `cancel` takes unfulfilled units back into
    `available`, `return` fulfilled ones; `no_restock` only releases unfulfilled ones."""
    with state.lock:
        order.updated_at = now()
        made = _record(state, order, lines)
        for line, units, restock_type in lines:
            unfulfilled = min(units, line.fulfillable) if restock_type != "return" else 0
            line.fulfillable -= unfulfilled
            restocked = units if restock_type != "no_restock" else 0
            state.shift(line.index, available=restocked, committed=-unfulfilled)
        refund_body = refund_payload(order, made, LOCATION_NUMBER)
        body = order_payload(order, LOCATION_NUMBER)
    state.send("refunds/create", refund_body)
    state.send("orders/updated", body)


def fulfil(state: ShopifyState, order: Order) -> None:
    """Ship every unfulfilled unit: `committed` and `on_hand` go down, `available` stays."""
    with state.lock:
        order.updated_at = now()
        for line in order.lines:
            state.shift(line.index, available=0, committed=-line.fulfillable)
            line.fulfillable = 0
        body = order_payload(order, LOCATION_NUMBER)
    state.send("orders/updated", body)


def _record(state: ShopifyState, order: Order, lines: Sequence[tuple[Line, int, str]]) -> Refund:
    made = Refund(
        state.orders.next_id(),
        now(),
        [RefundLine(state.orders.next_id(), line, units, kind) for line, units, kind in lines],
    )
    order.refunds.append(made)
    return made
