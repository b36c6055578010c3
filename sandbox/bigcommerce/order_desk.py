"""The BigCommerce sandbox's order desk: placing, moving and refunding orders.

Each change is one step under the state's lock: the order changes, the store lowers or
restores the levels as its inventory settings say (`sandbox.bigcommerce.orders`), and
only then, outside the lock, go the webhooks: the order's own events first, then one
`.../inventory/order/updated` per level that moved (docs/platforms.md section 3).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from sandbox.bigcommerce.orders import (
    FIRST_ORDER_ID,
    Order,
    OrderLine,
    level_moves,
    record_moves,
    status_after_refund,
)

if TYPE_CHECKING:
    from sandbox.bigcommerce.catalog import Variant
    from sandbox.bigcommerce.state import BigCommerceState

#: An order's events, each a scope and the extra `data` fields it carries.
Notices = list[tuple[str, dict[str, Any]]]


class OrderRefused(Exception):
    """A control request that names something the store does not hold: nothing changed."""


class UnknownOrder(LookupError):
    """A control request about an order the sandbox never placed."""


class OrderDesk:
    """The orders of one sandbox, by id, and the three things that happen to them."""

    def __init__(self, state: BigCommerceState) -> None:
        self.state = state
        self.by_id: dict[int, Order] = {}
        self._line_ids = self._refund_ids = 0

    def get(self, order_id: int) -> Order | None:
        return self.by_id.get(order_id)

    def place(self, lines: Sequence[tuple[str, int]], status_id: int) -> Order:
        """An order of (SKU, quantity) lines, created at `status_id`; `store/order/created`.

        Raises OrderRefused for a SKU the catalog does not hold.
        """
        state = self.state
        with state.lock:
            unknown = sorted({sku for sku, _ in lines} - state.known(sku for sku, _ in lines))
            if unknown:
                raise OrderRefused(f"unknown SKUs: {', '.join(unknown)}")
            now = datetime.now(UTC)
            order = Order(FIRST_ORDER_ID + len(self.by_id), status_id, [], now, now)
            for sku, quantity in lines:
                variant = state.variant_by_sku[sku]
                self._line_ids += 1
                order.lines.append(
                    OrderLine(self._line_ids, variant.product_id, variant.id, sku, quantity)
                )
            self.by_id[order.id] = order
            moved = self._settle(order)
        self._deliver(order, [("store/order/created", {})], moved)
        return order

    def set_status(self, order_id: int, status_id: int) -> Order:
        """Move the order to `status_id`: `statusUpdated` and `updated` if it changed.

        Raises UnknownOrder for an id the sandbox never placed."""
        with self.state.lock:
            order = self._order(order_id)
            notices = self._change_status(order, status_id)
            moved = self._settle(order)
        self._deliver(order, notices, moved)
        return order

    def refund(self, order_id: int, lines: Sequence[tuple[str, int]]) -> Order:
        """Refund units by SKU: `quantity_refunded` rises, the status becomes 4 Refunded
        when nothing is left, else 14 Partially Refunded; `store/order/refund/created`.

        Raises OrderRefused for more units of a SKU than the order still holds, and
        UnknownOrder for an id the sandbox never placed.
        """
        with self.state.lock:
            order = self._order(order_id)
            for sku, quantity in lines:
                held = sum(line.held for line in order.lines if line.sku == sku)
                if quantity > held:
                    raise OrderRefused(f"{sku}: {quantity} to refund, {held} held")
            for sku, quantity in lines:
                for line in (line for line in order.lines if line.sku == sku):
                    part = min(quantity, line.held)
                    line.quantity_refunded += part
                    quantity -= part
            self._refund_ids += 1
            refund = {"refund": {"refund_id": self._refund_ids}}
            notices: Notices = [("store/order/refund/created", refund)]
            notices += self._change_status(order, status_after_refund(order))
            order.modified_at = datetime.now(UTC)
            moved = self._settle(order)
        self._deliver(order, notices, moved)
        return order

    def _order(self, order_id: int) -> Order:
        order = self.by_id.get(order_id)
        if order is None:
            raise UnknownOrder(f"no order {order_id}")
        return order

    @staticmethod
    def _change_status(order: Order, status_id: int) -> Notices:
        if status_id == order.status_id:
            return []
        previous, order.status_id = order.status_id, status_id
        order.modified_at = datetime.now(UTC)
        change = {"previous_status_id": previous, "new_status_id": status_id}
        return [("store/order/statusUpdated", {"status": change}), ("store/order/updated", {})]

    def _settle(self, order: Order) -> list[tuple[Variant, int]]:
        """Lower or restore the levels as the order's status and the settings say."""
        moves = level_moves(order, self.state.inventory_settings)
        moved = self.state.move_levels(moves)
        record_moves(order, moves, {variant.id: units for variant, units in moved})
        return moved

    def _deliver(self, order: Order, notices: Notices, moved: list[tuple[Variant, int]]) -> None:
        for scope, extra in notices:
            self.state.announce_order(scope, order.id, **extra)
        self.state.notify_levels(moved, by_order=True)
