"""What a store may sell: the ERP's reading turned into the number we write.

Writing the ERP's raw number is what makes merchants oversell: every sync takes time,
and a unit sold meanwhile on one store is still offered on the others. So each site
keeps a buffer back, of units or of a percentage of the reading, and below a floor it
prefers to show 0 (a last unit or two is often a miscount). Some SKUs are the
merchant's own business: an override is written as given, whatever the ERP says, and
an opted-out SKU is never written at all (a bundle the store computes, a display item).

The policy starts from the site's basis: the ERP's stock on hand, or its
available-for-sale figure (on hand less what the ERP has committed to its own sales
orders, so units a store order already took in the ERP are not offered again). Not
every ERP reports the second (Business Central API v2.0 does not, docs/platforms.md
section 7); sync/stock_policy.py refuses that basis for such a source.

A site may also be mapped to some of the ERP's locations (warehouses): its store sells
that figure summed over those locations only, not the item-level figure of them all.
Zoho reports stock per location; Business Central API v2.0 does not (section 7), and
sync/stock_policy.py refuses a mapping there.

Pure functions, so the write path (sync/push.py), the tests and any later recompute
from `items.erp_quantity` (the basis figure a number came from) all agree on every
number.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from connectors.types import SourceItem


class BufferUnit(StrEnum):
    UNITS = "units"
    PERCENT = "percent"


class StockBasis(StrEnum):
    ON_HAND = "on_hand"
    AVAILABLE_FOR_SALE = "available_for_sale"


class RuleKind(StrEnum):
    OVERRIDE = "override"
    OPT_OUT = "opt_out"


@dataclass(frozen=True)
class StockPolicy:
    """A site's policy; all numbers >= 0, a percent buffer <= 100 (the database checks
    it too, sync/stock_policy.py explains it to whoever sets it)."""

    buffer: int = 0
    unit: BufferUnit = BufferUnit.UNITS
    floor: int = 0
    basis: StockBasis = StockBasis.ON_HAND
    #: The ERP location ids the basis figure is summed over; None: all (item level).
    locations: tuple[str, ...] | None = None


@dataclass(frozen=True)
class SkuRule:
    kind: RuleKind
    #: The quantity an override writes; None for an opt-out.
    quantity: int | None = None


def basis_figure(reading: SourceItem, policy: StockPolicy) -> int | None:
    """The ERP figure `reading` gives for the policy's basis, summed over its locations
    if it names some, or None if it gives none (an ERP without available-for-sale, a
    reading without per-location figures): the caller must not guess one.

    A mapped location the reading does not list counts 0: the item is not stocked
    there (Zoho lists an item's locations, not every location of the organisation).
    Locations' figures may be negative (over-committed); the sum nets them, and a
    negative sum is 0, as a negative item-level figure is.
    """
    if policy.locations is None:
        return _figure(reading.quantity, reading.available_for_sale, policy.basis)
    if reading.locations is None:
        return None
    figures = [
        _figure(*reading.locations.get(location, (0, 0)), policy.basis)
        for location in policy.locations
    ]
    return None if None in figures else max(0, sum(figure or 0 for figure in figures))


def recorded_reading(
    sku: str, figure: int, item_id: str, read_at: datetime, locations: Sequence[str] | None
) -> SourceItem:
    """A reading rebuilt from the basis figure a site last sold from
    (`items.erp_quantity`), for the paths that push without asking the ERP
    (sync/store_orders.py): `basis_figure` gives `figure` back on either basis and, for
    a site mapped to the ERP `locations`, as their sum (all of it at the first)."""
    return SourceItem(
        sku,
        figure,
        item_id,
        read_at,
        available_for_sale=figure,
        locations=None if locations is None else {locations[0]: (figure, figure)},
    )


def _figure(on_hand: int, for_sale: int | None, basis: StockBasis) -> int | None:
    return for_sale if basis is StockBasis.AVAILABLE_FOR_SALE else on_hand


def opted_out(rule: SkuRule | None) -> bool:
    return rule is not None and rule.kind is RuleKind.OPT_OUT


def sellable(reading: int, policy: StockPolicy, rule: SkuRule | None = None) -> int | None:
    """The number to write for an ERP `reading` (the site's basis figure,
    `basis_figure`), or None: never write this SKU.

    `max(0, reading - buffer)`, where a percent buffer keeps back
    `reading - floor(reading * (100 - pct) / 100)` units: rounding the sellable number
    down, never up, so a percentage never offers a fraction of a unit more than is
    there. Then a number below the floor is 0. A negative reading (an ERP that allows
    negative stock) sells as 0. An override is written as given; an opt-out never.
    """
    if rule is not None:
        return None if rule.kind is RuleKind.OPT_OUT else rule.quantity
    on_hand = max(0, reading)
    if policy.unit is BufferUnit.PERCENT:
        number = on_hand * (100 - policy.buffer) // 100
    else:
        number = max(0, on_hand - policy.buffer)
    return 0 if number < policy.floor else number
