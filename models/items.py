"""The catalog mirror: one row per (site, SKU), what we last pushed and when."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, DateTime, ForeignKey, Index, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base, bigint_pk, bool_true, created_at, timestamp, updated_at


class Item(Base):
    """A sellable SKU of a site, with the store's ids.

    Full syncs read SKUs from here instead of re-listing the store. `erp_read_at` is when
    the ERP value last pushed was read: a write whose reading is older is refused, so a
    slow batch can never overwrite a newer webhook-driven value (docs/architecture.md flow 6).
    A row with `erp_read_at` is one the ERP has had: if the ERP no longer lists it, the
    item was deleted there and sells as 0 (sync/push.py).

    Stored with fillfactor 50 (migration 0004): a full sync updates every row, and the
    room left on each page lets those updates stay in place without index writes.
    """

    __tablename__ = "items"
    __table_args__ = (
        UniqueConstraint("site_id", "sku"),
        # "Which active sites carry this SKU" for ERP-driven events.
        Index("ix_items_sku_site", "sku", "site_id"),
        # "Which rows did this ERP item feed" for deletion notices naming only its id.
        Index("ix_items_erp_item_id", "erp_item_id"),
    )

    id: Mapped[bigint_pk]
    site_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("sites.id", ondelete="CASCADE"), nullable=False
    )
    sku: Mapped[str] = mapped_column(String(20))
    product_id: Mapped[str] = mapped_column(String(100))
    variant_id: Mapped[str | None] = mapped_column(String(100))
    #: The quantity last pushed to (or read from) the store; NULL if never known.
    quantity: Mapped[int | None] = mapped_column(Integer)
    #: The ERP figure `quantity` was computed from by the site's stock policy: on hand
    #: or available-for-sale, as the site's basis says (sync/sellable.py), so every
    #: number pushed can be explained and recomputed.
    erp_quantity: Mapped[int | None] = mapped_column(Integer)
    erp_read_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    #: The ERP's id of the item last read for this SKU: a deletion notice names only it.
    erp_item_id: Mapped[str | None] = mapped_column(String(100))
    active: Mapped[bool_true]
    last_synced_at: Mapped[timestamp]
    created_at: Mapped[created_at]
    updated_at: Mapped[updated_at]
