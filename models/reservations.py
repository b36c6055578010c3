"""Reservations: units sold on a store and not yet absorbed by the ERP (sync/reservations.py).

One row per (site, order, SKU): the store where the order was placed, the order's id
there and the units it still holds. A row counts against every store of the source
until it ends; the store where the order was placed counts it only once its own stock
went down by it (`store_applied`), so no store is lowered twice by one order.

How far the ERP has taken the order, each time observed by us on the database's clock:
`committed_at` (a confirmed sales document: the ERP's available-for-sale figure nets
the units from then on) and the end itself with reason `absorbed` (stock on hand went
down by it). A reading of the ERP taken before such a moment does not net the order
yet, so the row keeps counting against that reading (sync/reservations.py).
"""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    String,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base, bigint_pk, created_at, timestamp, updated_at


class ReservationEnd(enum.StrEnum):
    """Why a reservation stopped counting."""

    #: The ERP's stock on hand went down by the order (shipped, or invoiced).
    ABSORBED = "absorbed"
    CANCELLED = "cancelled"
    REFUNDED = "refunded"
    #: The line left the order (an order edit).
    REMOVED = "removed"
    #: Older than the reservation time limit with no other end seen.
    EXPIRED = "expired"


class Reservation(Base):
    __tablename__ = "reservations"
    __table_args__ = (
        UniqueConstraint("site_id", "order_id", "sku"),
        # "What is open on these SKUs of this source": every push asks it.
        Index(
            "ix_reservations_open",
            "source_id",
            "sku",
            postgresql_where=text("ended_at IS NULL"),
        ),
        # Recently absorbed rows still count against older readings.
        Index("ix_reservations_source_id_sku_ended_at", "source_id", "sku", "ended_at"),
        CheckConstraint("units >= 0", name="units"),
        CheckConstraint("(ended_at IS NULL) = (end_reason IS NULL)", name="ended"),
        CheckConstraint(
            "end_reason IN ('absorbed', 'cancelled', 'refunded', 'removed', 'expired')",
            name="end_reason",
        ),
    )

    id: Mapped[bigint_pk]
    source_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("sources.id", ondelete="CASCADE"), nullable=False
    )
    site_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("sites.id", ondelete="CASCADE"), nullable=False
    )
    #: The store's id of the order (a GID for Shopify, docs/style.md rule 18).
    order_id: Mapped[str] = mapped_column(String(100))
    #: What the ERP's sales document carries for it (connectors/types.py OrderSnapshot).
    order_number: Mapped[str] = mapped_column(String(100))
    sku: Mapped[str] = mapped_column(String(20))
    units: Mapped[int] = mapped_column(Integer)
    #: The placing store's own stock already went down by `units`.
    store_applied: Mapped[bool] = mapped_column(Boolean)
    #: The store's modification time of the snapshot applied last: older ones are ignored.
    order_updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    committed_at: Mapped[timestamp]
    ended_at: Mapped[timestamp]
    end_reason: Mapped[str | None] = mapped_column(String(10))
    created_at: Mapped[created_at]
    updated_at: Mapped[updated_at]
