"""WooCommerce orders and what they do to the store's own stock (docs/platforms.md
section 1, "Order webhooks and WooCommerce's own stock").

- Stock goes down once per order, when it enters `on-hold`, `processing` or
  `completed` (`wc_maybe_reduce_stock_levels`, guarded by the stock-reduced flag; each
  line remembers its `_reduced_stock`), only for products that manage stock.
- It comes back on `cancelled` and `pending`, only if it went down
  (`wc_maybe_increase_stock_levels`); never on `failed` or `refunded`.
- A refund restocks only what it asks to, and lowers the line's `_reduced_stock`
  (`wc_restock_refunded_items`). The sandbox restocks at most what the line still
  has reduced, so a restock never adds units the order never took (UNCONFIRMED).
- Every change runs under the state's lock, so concurrent orders never lose a
  decrement (WC's single SQL update, section 1).

`date_modified_gmt` has whole seconds, as WC's does; the sandbox moves it on by at
least a second per change, so each change is a state of its own to a receiver keying
by (id, `date_modified_gmt`). WC itself would stamp two changes in one second alike
and, through Action Scheduler, deliver one body with the latest state (section 1).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from sandbox.woocommerce.catalog import Catalog, Product

#: Statuses in which WC has lowered stock, and those that give it back.
REDUCING = frozenset({"on-hold", "processing", "completed"})
RESTORING = frozenset({"cancelled", "pending"})
#: Not orders yet: placing one fires no `woocommerce_new_order` (section 1, "Drafts").
DRAFTS = frozenset({"checkout-draft", "draft", "auto-draft"})
#: Statuses whose every `order.*` delivery `is_valid_resource()` drops.
UNDELIVERED = frozenset({"draft", "auto-draft"})
#: Far from product ids, so a connector mixing the two fails loudly.
FIRST_ORDER_ID = 900_001
FIRST_ITEM_ID = 1


@dataclass(slots=True)
class Line:
    """An order's line item, with WC's `_reduced_stock` meta as `reduced`."""

    id: int
    product: Product
    quantity: int
    reduced: int = 0


@dataclass(slots=True)
class RefundLine:
    """A refund's own line item, naming the order's line it refunds."""

    id: int
    line: Line
    quantity: int


@dataclass(slots=True)
class Refund:
    id: int
    created: datetime
    lines: list[RefundLine]


@dataclass(slots=True)
class Order:
    id: int
    status: str
    lines: list[Line]
    created: datetime
    modified: datetime
    stock_reduced: bool = False
    refunds: list[Refund] = field(default_factory=list)

    def refunded(self, line: Line) -> int:
        return sum(r.quantity for refund in self.refunds for r in refund.lines if r.line is line)


class OrderBook:
    """Every order of the store, by id, and the stock rules above.

    Each method changes the catalog it was given and returns the products whose stock
    changed (for `product.updated`); callers hold the state's lock.
    """

    def __init__(self, catalog: Catalog) -> None:
        self.catalog = catalog
        self.orders: dict[int, Order] = {}
        self._next_item = FIRST_ITEM_ID

    def place(
        self, lines: Sequence[tuple[Product, int]], status: str
    ) -> tuple[Order, list[Product]]:
        now = _now()
        order = Order(FIRST_ORDER_ID + len(self.orders), "pending", [], now, now)
        for product, quantity in lines:
            order.lines.append(Line(self._item_id(), product, quantity))
        self.orders[order.id] = order
        return order, self.set_status(order, status)

    def set_status(self, order: Order, status: str) -> list[Product]:
        """Move `order` to `status`, reducing or restoring stock as WC does."""
        order.status = status
        _touch(order)
        if status in REDUCING and not order.stock_reduced:
            order.stock_reduced = True
            return self._move(order, reduce=True)
        if status in RESTORING and order.stock_reduced:
            order.stock_reduced = False
            return self._move(order, reduce=False)
        return []

    def refund(
        self, order: Order, lines: Sequence[tuple[Line, int]], restock: bool
    ) -> list[Product]:
        """Record a refund of `lines` (line: units); restock them if asked."""
        refund_lines = [RefundLine(self._item_id(), ln, q) for ln, q in lines]
        refund = Refund(self._item_id(), _now(), refund_lines)
        order.refunds.append(refund)
        _touch(order)
        changed = []
        for line, quantity in lines:
            back = min(quantity, line.reduced) if restock else 0
            if back and line.product.manage_stock:
                line.reduced -= back
                self.catalog.set_quantity(line.product, (line.product.stock_quantity or 0) + back)
                changed.append(line.product)
        return changed

    def _move(self, order: Order, *, reduce: bool) -> list[Product]:
        changed = []
        for line in order.lines:
            product = line.product
            if not product.manage_stock:
                continue
            units = line.quantity - order.refunded(line) if reduce else line.reduced
            line.reduced = units if reduce else 0
            delta = -units if reduce else units
            if delta:
                self.catalog.set_quantity(product, (product.stock_quantity or 0) + delta)
                changed.append(product)
        return changed

    def _item_id(self) -> int:
        self._next_item += 1
        return self._next_item - 1


def order_json(order: Order) -> dict[str, Any]:
    """The REST v3 order (`/wc/v3/orders/<id>`), trimmed to what identifies it and what
    the stock rules read; `refunds[]` has only each refund's id, reason and total."""
    return {
        "id": order.id,
        "number": str(order.id),
        "status": order.status,
        "date_created_gmt": _stamp(order.created),
        "date_modified_gmt": _stamp(order.modified),
        "line_items": [
            {**_line_json(line.id, line.product), "quantity": line.quantity} for line in order.lines
        ],
        "refunds": [{"id": r.id, "reason": "", "total": "0.00"} for r in order.refunds],
    }


def refund_json(refund: Refund) -> dict[str, Any]:
    """One refund as `/wc/v3/orders/<id>/refunds` lists it: lines with a negative
    `quantity` and `_refunded_item_id` naming the order's line."""
    return {
        "id": refund.id,
        "date_created_gmt": _stamp(refund.created),
        "amount": "0.00",
        "line_items": [
            {
                **_line_json(r.id, r.line.product),
                "quantity": -r.quantity,
                "meta_data": [{"key": "_refunded_item_id", "value": str(r.line.id)}],
            }
            for r in refund.lines
        ],
    }


def _line_json(line_id: int, product: Product) -> dict[str, Any]:
    """`product_id` is the parent of a variation, `variation_id` 0 for a simple product."""
    variation = product.id if product.parent_id else 0
    return {
        "id": line_id,
        "product_id": product.parent_id or product.id,
        "variation_id": variation,
        "sku": product.sku,
    }


def _touch(order: Order) -> None:
    order.modified = max(_now(), order.modified + timedelta(seconds=1))


def _now() -> datetime:
    return datetime.now(UTC).replace(microsecond=0)


def _stamp(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%S")
