"""Plain values that cross the connector boundary.

They carry no behaviour so that workers, tests and sandboxes can build them freely and
so that they serialise to JSON primitives for Celery task arguments.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True, slots=True)
class SourceItem:
    """One ERP item as read from the ERP.

    `read_at` is when the value left the ERP: writes carry it so an older reading never
    overwrites a newer one (docs/architecture.md flow 6).
    """

    sku: str
    quantity: int
    item_id: str
    read_at: datetime


@dataclass(frozen=True, slots=True)
class StoreProduct:
    """One sellable SKU in a store: a simple product or a single variation.

    `product_id` is the id of the product (the parent for a variation); `variant_id` is
    the platform's id for the variation, or for Shopify the inventory item, or None for
    a product without variations.
    """

    sku: str
    product_id: str
    variant_id: str | None
    quantity: int | None
    manages_stock: bool = True


@dataclass(frozen=True, slots=True)
class StockUpdate:
    """Set the absolute stock of one store SKU."""

    sku: str
    product_id: str
    variant_id: str | None
    quantity: int


@dataclass(frozen=True, slots=True)
class UpdateResult:
    """The platform's answer for one `StockUpdate` of a batch call."""

    sku: str
    ok: bool
    error: str | None = None
