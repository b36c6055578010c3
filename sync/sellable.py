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

Pure functions, so the write path (sync/push.py), the tests and any later recompute
from `items.erp_quantity` (the basis figure a number came from) all agree on every
number. Still to come (issue 20): location mapping and open reservations.
"""

from __future__ import annotations

from dataclasses import dataclass
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


@dataclass(frozen=True)
class SkuRule:
    kind: RuleKind
    #: The quantity an override writes; None for an opt-out.
    quantity: int | None = None


def basis_figure(reading: SourceItem, basis: StockBasis) -> int | None:
    """The ERP figure `reading` gives for `basis`, or None if it gives none (an ERP
    without available-for-sale): the caller must not guess one."""
    if basis is StockBasis.AVAILABLE_FOR_SALE:
        return reading.available_for_sale
    return reading.quantity


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
