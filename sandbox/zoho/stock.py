"""A Zoho item's stock fields, accounting and physical, item level and per location
(docs/platforms.md section 6).

Zoho keeps accounting stock (moved by bills and invoices) and physical stock (moved by
purchase receives and shipments) apart; `actual_*` as the physical twin is INFERRED
(section 6). `available_stock` follows `stock_on_hand`: Zoho's own figures show them
equal (correction 26).

Every stocked item carries `locations[]`, one entry per warehouse of `LOCATIONS`, with
the item's fields prefixed `location_` (`location_stock_on_hand`, ...; the committed
and available-for-sale ones INFERRED from public clients, section 6 "Per location").
The item-level figures are the sum over its locations, and every movement here keeps
them so. That Zoho's list answer carries `locations[]` is UNCONFIRMED: modelled as it
does, the one shape a mapped site can be synced from affordably.
"""

from __future__ import annotations

from collections.abc import Sequence
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

#: The organization's warehouses, as `GET /locations` answers (section 6; ids stable).
LOCATIONS: tuple[dict[str, Any], ...] = tuple(
    {
        "location_id": f"481500000005000{number}",
        "location_name": name,
        "type": "warehouse",
        "parent_location_id": "",
        "is_primary": number == 1,
        "status": "active",
    }
    for number, name in ((1, "Main warehouse"), (2, "East warehouse"), (3, "Returns depot"))
)
#: Where a stock adjustment or a sales order goes unless told otherwise.
PRIMARY = LOCATIONS[0]["location_id"]
#: A location's fields are the item's with this prefix.
AT = "location_"


def stock_fields(shares: Sequence[int], committed: int) -> dict[str, Any]:
    """An item's stock fields for `shares` units on hand at each of `LOCATIONS`, with
    `committed` units committed at the primary one, accounting and physical alike."""
    fields: dict[str, Any] = {}
    places = [
        {key: place[key] for key in ("location_id", "location_name", "status", "is_primary")}
        for place in LOCATIONS
    ]
    for kind in (ACCOUNTING, PHYSICAL):
        fields.update(_figures(kind, float(sum(shares)), float(committed)))
        for place, share in zip(places, shares, strict=True):
            held = committed if place["is_primary"] else 0
            place.update(_figures(kind, float(share), float(held), AT))
    return fields | {"locations": places}


def _figures(
    kind: StockFields, on_hand: float, committed: float, prefix: str = ""
) -> dict[str, float]:
    hands, held, for_sale = kind
    return {prefix + hand: on_hand for hand in hands} | {
        prefix + held: committed,
        prefix + for_sale: on_hand - committed,
    }


def move(
    item: dict[str, Any], kind: StockFields, on_hand: int, committed: int, at: str = PRIMARY
) -> None:
    """Add `on_hand` and `committed` units to one kind of `item`'s stock, at location
    `at` and so at the item level."""
    hands, held, _ = kind
    item.update(_figures(kind, item[hands[0]] + on_hand, item[held] + committed))
    place = location(item, at)
    place.update(_figures(kind, place[AT + hands[0]] + on_hand, place[AT + held] + committed, AT))


def adjust(item: dict[str, Any], kind: StockFields, units: int) -> None:
    """A stock adjustment of `units` on hand: a rise lands at the primary location, a
    fall is taken from the locations in order, primary first, none going below 0 while
    another has stock (the last takes what remains)."""
    field = AT + kind[0][0]
    places = item["locations"]
    for index, place in enumerate(places):
        last = index == len(places) - 1
        step = units if units >= 0 or last else max(units, -max(0, int(place[field])))
        if step:
            move(item, kind, step, 0, place["location_id"])
        units -= step
        if not units:
            return


def location(item: dict[str, Any], location_id: str) -> dict[str, Any]:
    """The item's entry of `locations[]` for `location_id`; KeyError if none."""
    places: list[dict[str, Any]] = item["locations"]
    for place in places:
        if place["location_id"] == location_id:
            return place
    raise KeyError(location_id)
