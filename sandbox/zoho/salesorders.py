"""The Zoho sandbox's sales orders and what each step of their life does to stock.

Section 6, "What a sales order moves": a confirmed sales order raises committed stock
(available-for-sale falls at once, on hand stays); an invoice lowers accounting stock
on hand and releases the commitment; a shipment does the same to physical stock
(`actual_*`). Modelled, all UNCONFIRMED for Zoho Inventory:

- a draft commits nothing (a partner's KB says only confirmed orders do);
- `invoiced_status` is `not_invoiced` or `invoiced` and `shipped_status` `pending` or
  `shipped`: whole orders only, no partial invoices or shipments;
- an order both invoiced and shipped becomes `closed`;
- only a draft or a confirmed order that is neither invoiced nor shipped can be voided
  (Zoho's UI asks for its invoices and shipments to go first), which releases what
  it committed;
- an inactive item cannot be ordered (section 6: inactive items are kept out of new
  transactions); a service can, and moves no stock;
- each line carries a `location_id` (section 6: sales-order lines do), the primary
  warehouse unless the order names another: its stock moves there.

Invoices and shipments move the items' stock and stamp their `last_modified_time`, but
send no item workflow webhook: an "Item add/edit" workflow rule fires on an edit of the
item, and an invoice or a shipment is a record of another module (INFERRED; Zoho
documents no workflow trigger on stock movements, section 6), so `stock_changes`
(`connectors/zoho_feed.py`) is what finds them. That the item's `last_modified_time`
moves with them is UNCONFIRMED. Confirming and voiding move neither (whether
`last_modified_time` moves with committed stock alone is UNCONFIRMED, section 6).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from sandbox.zoho.stock import ACCOUNTING, LOCATIONS, PHYSICAL, PRIMARY, StockFields, move

if TYPE_CHECKING:
    from sandbox.zoho.state import ZohoState

#: What a sales order may be raised as.
RAISED_AS = frozenset({"draft", "confirmed"})
_FIRST_ID = 4_815_000_000_077_000
#: The header fields Zoho's list call answers with (no line items).
HEADER = (
    "salesorder_id",
    "salesorder_number",
    "reference_number",
    "status",
    "invoiced_status",
    "shipped_status",
    "last_modified_time",
)


class Refused(Exception):
    """The order cannot take that step from where it stands."""


#: The module of the document each fulfilment step saves (its workflow rules'
#: webhooks, `ZohoState.document_saved`).
DOCUMENT_MODULES = {"invoice": "invoices", "ship": "shipments"}


class SalesOrders:
    """One organization's sales orders; every change under the state's lock."""

    def __init__(self, state: ZohoState) -> None:
        self.state = state
        self.by_id: dict[str, dict[str, Any]] = {}

    def raise_order(
        self, lines: Mapping[str, int], reference: str, status: str, location_id: str = PRIMARY
    ) -> dict[str, Any]:
        """A new sales order of `lines` (SKU: units), `draft` or `confirmed`, from the
        warehouse `location_id`."""
        if status not in RAISED_AS:
            raise Refused(f"a sales order is raised as one of {sorted(RAISED_AS)}, not {status!r}")
        if location_id not in {place["location_id"] for place in LOCATIONS}:
            raise Refused(f"no location {location_id!r}")
        with self.state.lock:
            inactive = sorted(sku for sku in lines if self.state.by_sku[sku]["status"] != "active")
            if inactive:
                # "Mark as Inactive" stops an item's use in new transactions (section 6).
                raise Refused(f"inactive items cannot be ordered: {', '.join(inactive)}")
            serial = len(self.by_id) + 1
            order_id = str(_FIRST_ID + serial)
            order: dict[str, Any] = {
                "salesorder_id": order_id,
                "salesorder_number": f"SO-{serial:05d}",
                "reference_number": reference,
                "status": "draft",
                "invoiced_status": "not_invoiced",
                "shipped_status": "pending",
                "line_items": [
                    {
                        "item_id": self.state.item_id(sku),
                        "sku": sku,
                        "quantity": units,
                        "location_id": location_id,
                    }
                    for sku, units in lines.items()
                ],
                "last_modified_time": now(),
            }
            self.by_id[order_id] = order
            return self.confirm(order_id) if status == "confirmed" else dict(order)

    def matching(self, reference: str | None) -> list[dict[str, Any]]:
        """The headers of the orders whose `reference_number` is `reference` (None: all)."""
        with self.state.lock:
            return [
                {field: order[field] for field in HEADER}
                for order in self.by_id.values()
                if reference in (None, order["reference_number"])
            ]

    def confirm(self, order_id: str) -> dict[str, Any]:
        """Draft to confirmed: its units are committed (accounting and physical)."""
        with self.state.lock:
            order = self._at(order_id, "confirm", lambda o: o["status"] == "draft")
            for kind in (ACCOUNTING, PHYSICAL):
                self._move(order, kind, on_hand=0, committed=1)
            return self._stamp(order, status="confirmed")

    def void(self, order_id: str) -> dict[str, Any]:
        """Void a draft or an untouched confirmed order, releasing what it committed."""
        with self.state.lock:
            order = self._at(order_id, "void", _untouched)
            if order["status"] == "confirmed":
                for kind in (ACCOUNTING, PHYSICAL):
                    self._move(order, kind, on_hand=0, committed=-1)
            return self._stamp(order, status="void")

    def invoice(self, order_id: str) -> dict[str, Any]:
        """Invoice a confirmed order whole: accounting stock on hand and committed fall."""
        return self._fulfil(order_id, "invoice", ACCOUNTING, invoiced_status="invoiced")

    def ship(self, order_id: str) -> dict[str, Any]:
        """Ship a confirmed order whole: physical stock on hand and committed fall."""
        return self._fulfil(order_id, "ship", PHYSICAL, shipped_status="shipped")

    def _fulfil(self, order_id: str, step: str, kind: StockFields, **done: str) -> dict[str, Any]:
        [(field, value)] = done.items()
        with self.state.lock:
            order = self._at(
                order_id, step, lambda o: o["status"] == "confirmed" and o[field] != value
            )
            self._move(order, kind, on_hand=-1, committed=-1)
            order[field] = value
            both = (order["invoiced_status"], order["shipped_status"]) == ("invoiced", "shipped")
            self.state.stamp(line["sku"] for line in order["line_items"])
            done = self._stamp(order, status="closed" if both else order["status"])
        self.state.document_saved(DOCUMENT_MODULES[step], done)
        return done

    def _at(
        self, order_id: str, step: str, allowed: Callable[[dict[str, Any]], bool]
    ) -> dict[str, Any]:
        order = self.by_id.get(order_id)
        if order is None:
            raise KeyError(order_id)
        if not allowed(order):
            raise Refused(
                f"cannot {step} {order['salesorder_number']}: status {order['status']},"
                f" {order['invoiced_status']}, {order['shipped_status']}"
            )
        return order

    def _move(self, order: dict[str, Any], kind: StockFields, on_hand: int, committed: int) -> None:
        """Move each line's units in `kind` of stock, times the signs given."""
        for line in order["line_items"]:
            item = self.state.by_sku[line["sku"]]
            if kind[1] in item:  # a service tracks no stock
                units = line["quantity"]
                move(item, kind, on_hand * units, committed * units, line["location_id"])

    @staticmethod
    def _stamp(order: dict[str, Any], status: str) -> dict[str, Any]:
        order.update(status=status, last_modified_time=now())
        return dict(order)


def _untouched(order: dict[str, Any]) -> bool:
    return order["status"] in RAISED_AS and (order["invoiced_status"], order["shipped_status"]) == (
        "not_invoiced",
        "pending",
    )


def now() -> str:
    """Zoho's timestamp form, whole seconds (section 6)."""
    return time.strftime("%Y-%m-%dT%H:%M:%S+0000", time.gmtime())
