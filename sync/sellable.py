"""What a store may sell: the ERP's reading turned into the number we write.

Writing the ERP's raw number is what makes merchants oversell: every sync takes time,
and a unit sold meanwhile on one store is still offered on the others. So each site
keeps a buffer back, of units or of a percentage of the reading, and below a floor it
prefers to show 0 (a last unit or two is often a miscount). Some SKUs are the
merchant's own business: an override is written as given, whatever the ERP says, and
an opted-out SKU is never written at all (a bundle the store computes, a display item).

One pure function, so the write path (sync/push.py), the tests and any later
recompute from `items.erp_quantity` all agree on every number. Still to come
(issue 20): location mapping, the choice of basis, and open reservations.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class BufferUnit(StrEnum):
    UNITS = "units"
    PERCENT = "percent"


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


@dataclass(frozen=True)
class SkuRule:
    kind: RuleKind
    #: The quantity an override writes; None for an opt-out.
    quantity: int | None = None


def sellable(reading: int, policy: StockPolicy, rule: SkuRule | None = None) -> int | None:
    """The number to write for an ERP `reading`, or None: never write this SKU.

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
