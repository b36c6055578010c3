"""The Business Central sandbox's item ledger: every stock movement as an entry, and
the `itemLedgerEntries` list that reads them (API v2.0, docs/platforms.md section 7).

`items.inventory` is the sum of an item's ledger entries' `quantity`; posting stock
(an item journal, a sales shipment, a purchase receipt) appends entries with rising
`entryNumber` and changes no Item record, so no `items` notice goes out
(`dynamics-subscriptions.md`: `itemLedgerEntries` is not a webhook entity; microsoft/AL
#6417: a webhook needs a record change). Fields as `dynamics_itemledgerentry.md`
lists them; `entryType` in BC's encoded enum form (`Positive_x0020_Adjmt_x002E_`, as
its GET example shows). The seeded stock is one opening entry per item.

The list (`sandbox.businesscentral.ledger_api`) filters with `ItemLedger.select`.
"""

from __future__ import annotations

import re
from typing import Any

from sandbox.businesscentral.odata import stable_id, timestamp

#: The entry types the sandbox posts, in BC's encoded enum form.
POSITIVE = "Positive_x0020_Adjmt_x002E_"
NEGATIVE = "Negative_x0020_Adjmt_x002E_"
SALE = "Sale"
PURCHASE = "Purchase"

FIELDS = frozenset(
    "id entryNumber itemNumber postingDate entryType sourceNumber sourceType documentNumber"
    " documentType description quantity salesAmountActual costAmountActual"
    " lastModifiedDateTime".split()
)

_AFTER = re.compile(r"\s*entryNumber\s+gt\s+(-?\d+)\s*")
_ORDER = re.compile(r"\s*entryNumber(?:\s+(asc|desc))?\s*")


class ItemLedger:
    """One company's item ledger entries, in `entryNumber` order."""

    def __init__(self, company_id: str) -> None:
        self.company_id = company_id
        self.entries: list[dict[str, Any]] = []

    def post(
        self,
        number: str,
        quantity: float,
        entry_type: str,
        document: str = "",
        document_type: str = "_x0020_",
    ) -> dict[str, Any]:
        """Append one entry (the caller holds the state's lock and moves `inventory`)."""
        now = timestamp()
        entry_number = len(self.entries) + 1
        entry = {
            "id": stable_id(f"{self.company_id}:itemLedgerEntry:{entry_number}"),
            "entryNumber": entry_number,
            "itemNumber": number,
            "postingDate": now[:10],
            "entryType": entry_type,
            "sourceNumber": "",
            "sourceType": "_x0020_",
            "documentNumber": document,
            "documentType": document_type,
            "description": "",
            "quantity": float(quantity),
            "salesAmountActual": 0.0,
            "costAmountActual": 0.0,
            "lastModifiedDateTime": now,
        }
        self.entries.append(entry)
        return entry

    def adjust(self, number: str, delta: float, document: str) -> None:
        """A positive or negative adjustment of `delta` units (nothing for zero)."""
        if delta:
            self.post(number, delta, POSITIVE if delta > 0 else NEGATIVE, document)

    def select(self, expression: str | None, order: str | None) -> list[dict[str, Any]]:
        """The entries a `$filter` keeps in the `$orderby` asked; `ValueError` (a 400)
        for any other filter or order."""
        after = 0
        if expression is not None:
            match = _AFTER.fullmatch(expression)
            if match is None:
                raise ValueError(f"unsupported $filter {expression[:60]!r}")
            after = int(match.group(1))
        descending = False
        if order is not None:
            ordered = _ORDER.fullmatch(order)
            if ordered is None:
                raise ValueError(f"unsupported $orderby {order[:60]!r}")
            descending = ordered.group(1) == "desc"
        # Entry numbers are 1.. in list order, so the first kept one is at `after`.
        rows = self.entries[max(0, after) :]
        return rows[::-1] if descending else rows
