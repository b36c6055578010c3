"""What the functional tests check a store's numbers against: the issue's rule written
out apart from sync/sellable.py, and the ERP figure each item recorded."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from models import Item


def reference(erp: int, buffer: int, floor: int = 0) -> int:
    """Issue 20's rule for a unit buffer: the ERP's figure less the buffer, never below
    0, and 0 below the floor."""
    left = erp - buffer if erp > buffer else 0
    return left if left >= floor else 0


def erp_quantities(db: sessionmaker[Session], site_id: int) -> dict[str, int | None]:
    """Per SKU of the site, the ERP figure its number came from (`items.erp_quantity`)."""
    with db() as session:
        rows = session.execute(select(Item.sku, Item.erp_quantity).where(Item.site_id == site_id))
        return {sku: erp_quantity for sku, erp_quantity in rows}
