"""A Zoho item's stock fields, accounting and physical (docs/platforms.md section 6).

Zoho keeps accounting stock (moved by bills and invoices) and physical stock (moved by
purchase receives and shipments) apart; `actual_*` as the physical twin is INFERRED
(section 6). `available_stock` follows `stock_on_hand`: Zoho's own figures show them
equal (correction 26).
"""

from __future__ import annotations

from typing import Any

#: An item's stock fields as (on-hand fields, committed, available for sale), for
#: accounting stock (moved by invoices) and physical stock (moved by shipments), which
#: Zoho keeps apart (section 6; `actual_*` as the physical twin is INFERRED there).
StockFields = tuple[tuple[str, ...], str, str]

ACCOUNTING: StockFields = (
    ("stock_on_hand", "available_stock"),
    "committed_stock",
    "available_for_sale_stock",
)
PHYSICAL: StockFields = (
    ("actual_available_stock",),
    "actual_committed_stock",
    "actual_available_for_sale_stock",
)


def stock_fields(on_hand: int, committed: int) -> dict[str, float]:
    """An item's stock fields for `on_hand` units of which `committed` are committed,
    accounting and physical stock alike."""
    fields: dict[str, float] = {}
    for kind in (ACCOUNTING, PHYSICAL):
        fields.update(_figures(kind, float(on_hand), float(committed)))
    return fields


def _figures(kind: StockFields, on_hand: float, committed: float) -> dict[str, float]:
    hands, held, for_sale = kind
    return dict.fromkeys(hands, on_hand) | {held: committed, for_sale: on_hand - committed}


def move(item: dict[str, Any], kind: StockFields, on_hand: int, committed: int) -> None:
    """Add `on_hand` and `committed` units to one kind of `item`'s stock."""
    hands, held, _ = kind
    item.update(_figures(kind, item[hands[0]] + on_hand, item[held] + committed))
