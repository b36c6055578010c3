"""The Business Central sandbox's sales orders and posted sales shipments.

Section 7, "Sellable basis and store orders": a sales order (here imported `Open`, as
a merchant's import releases it) does not change `items.inventory`; posting its
shipment writes item ledger entries, which lower `inventory`, adds a `salesShipments`
row carrying the order's `number` and `externalDocumentNumber`, and sets the lines'
`shippedQuantity` and the order's `fullyShipped` (`Sale` entries in
`sandbox.businesscentral.ledger`, negative quantities). A pure ledger movement changes no
Item record, so no `items` notice goes out (section 7, "Stock movements and
webhooks"); a `salesOrders` notice would be faithful, but the sandbox serves no
`salesOrders` subscriptions. Simplified: whole shipments only, and the order stays
listed after shipping (BC removes it once also fully invoiced, INFERRED).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sandbox.businesscentral.ledger import SALE
from sandbox.businesscentral.odata import after_time, filter_values, stable_id, timestamp

if TYPE_CHECKING:
    from sandbox.businesscentral.state import BusinessCentralState

#: The fields `$filter` accepts on the sales document sets (equality, `or` on one).
FILTERABLE = ("externalDocumentNumber", "number")
#: The date-time `$filter` accepts with `gt` (BC's modified-since reads, section 7).
MODIFIED = "lastModifiedDateTime"
#: BC's numbering of orders and posted shipments in its demo company.
_ORDER_SERIES = 101_000
_SHIPMENT_SERIES = 102_000


class Refused(Exception):
    """The order cannot be shipped (already fully shipped)."""


class SalesDocuments:
    """One company's sales orders, their lines and its posted shipments."""

    def __init__(self, state: BusinessCentralState) -> None:
        self.state = state
        self.orders: dict[str, dict[str, Any]] = {}
        self.lines: dict[str, list[dict[str, Any]]] = {}
        self.shipments: list[dict[str, Any]] = []

    def import_order(self, external: str, lines: Mapping[str, int]) -> dict[str, Any]:
        """An `Open` sales order for store order `external` of `lines` (item number:
        units). Inventory stays where it is."""
        now = timestamp()
        with self.state.lock:
            number = f"S-ORD{_ORDER_SERIES + len(self.orders) + 1}"
            order_id = stable_id(f"{self.state.company_id}:salesOrder:{number}")
            order = {
                "id": order_id,
                "number": number,
                "externalDocumentNumber": external,
                "orderDate": now[:10],
                "status": "Open",
                "fullyShipped": False,
                "lastModifiedDateTime": now,
            }
            self.orders[order_id] = order
            self.lines[order_id] = [
                {
                    "id": f"{order_id}-{sequence}",
                    "documentId": order_id,
                    "sequence": sequence,
                    "itemId": self.state.item_id(item),
                    "lineType": "Item",
                    "lineObjectNumber": item,
                    "quantity": float(units),
                    "shippedQuantity": 0.0,
                }
                for sequence, (item, units) in enumerate(lines.items(), start=1)
            ]
            return dict(order)

    def ship(self, order_id: str) -> dict[str, Any]:
        """Post the whole shipment of an order: inventory falls by its lines, a posted
        shipment appears, the lines are shipped. Raises `KeyError` for an unknown
        order, `Refused` for one already fully shipped."""
        now = timestamp()
        with self.state.lock:
            order = self.orders[order_id]
            if order["fullyShipped"]:
                raise Refused(f"{order['number']} is already fully shipped")
            number = f"S-SHPT{_SHIPMENT_SERIES + len(self.shipments) + 1}"
            for line in self.lines[order_id]:
                # A ledger entry, not an item edit: lastModifiedDateTime stays.
                item = line["lineObjectNumber"]
                self.state.by_number[item]["inventory"] -= line["quantity"]
                self.state.ledger.post(
                    item, -line["quantity"], SALE, number, "Sales_x0020_Shipment"
                )
                line["shippedQuantity"] = line["quantity"]
            order.update(fullyShipped=True, lastModifiedDateTime=now)
            shipment = {
                "id": stable_id(f"{self.state.company_id}:salesShipment:{number}"),
                "number": number,
                "orderNumber": order["number"],
                "externalDocumentNumber": order["externalDocumentNumber"],
                "postingDate": now[:10],
                "lastModifiedDateTime": now,
            }
            self.shipments.append(shipment)
            return dict(shipment)

    def select_orders(self, expression: str | None) -> list[dict[str, Any]]:
        """The sales orders a `$filter` keeps, by number."""
        return _kept(list(self.orders.values()), expression)

    def select_shipments(self, expression: str | None) -> list[dict[str, Any]]:
        """The posted shipments a `$filter` keeps, by number."""
        return _kept(self.shipments, expression)


def _kept(rows: list[dict[str, Any]], expression: str | None) -> list[dict[str, Any]]:
    """`rows` sorted by number, those an `eq`/`or` filter on one `FILTERABLE` field
    names or a `lastModifiedDateTime gt <date-time>` filter keeps; any other filter
    raises `ValueError` (a 400)."""
    ordered = sorted(rows, key=lambda row: row["number"])
    if expression is None:
        return ordered
    if expression.lstrip().startswith(MODIFIED):
        after = after_time(expression, MODIFIED)
        return [row for row in ordered if datetime.fromisoformat(row[MODIFIED]) > after]
    for field in FILTERABLE:
        try:
            values = filter_values(expression, field)
        except ValueError:
            continue
        return [row for row in ordered if row[field] in values]
    raise ValueError(f"unsupported $filter {expression[:60]!r}")
