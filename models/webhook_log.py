"""Every webhook request the receiver accepted or refused, and what became of it."""

from __future__ import annotations

import enum
from typing import Any

from sqlalchemy import BigInteger, Index, Integer, String, Text, text
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base, bigint_pk, created_at, enum_column, timestamp


class WebhookStatus(enum.StrEnum):
    RECEIVED = "received"
    QUEUED = "queued"
    DUPLICATE = "duplicate"
    IGNORED = "ignored"
    REJECTED = "rejected"
    PROCESSED = "processed"
    FAILED = "failed"


class EventKind(enum.StrEnum):
    """What an event means for us, whatever platform sent it: the worker dispatches on
    this, and the dedupe window is per (owner, kind, entity)."""

    STORE_PRODUCT_UPSERT = "store.product.upsert"
    STORE_PRODUCT_DELETE = "store.product.delete"
    #: A stock level changed in the store (an order, a manual edit, our own write).
    STORE_STOCK = "store.stock"
    ERP_ITEM_CHANGED = "erp.item.changed"
    #: More changes than the ERP lists one by one (Business Central's `collection`).
    ERP_COLLECTION = "erp.collection"
    #: A generic "this SKU changed" hint (Standard Webhooks producers).
    SKU_CHANGED = "sku.changed"


#: Which rows uq_webhook_log_delivery covers; the receiver's INSERT names it in its
#: ON CONFLICT clause (api/intake.py), which must match the index to use it.
DELIVERY_UNIQUE_WHERE = "delivery_id IS NOT NULL AND status NOT IN ('duplicate', 'rejected')"


class WebhookLog(Base):
    """One row per request. Secrets and full signatures are never stored here."""

    __tablename__ = "webhook_log"
    __table_args__ = (
        # The outbox sweeper scans `received` rows by age.
        Index("ix_webhook_log_status_received", "status", "received_at"),
        Index("ix_webhook_log_site_received", "site_id", "received_at"),
        # The database half of delivery-id dedupe (docs/style.md rule 9): one live row per
        # delivery; duplicates and refusals are logged too, so they are excluded.
        Index(
            "uq_webhook_log_delivery",
            "provider",
            "site_id",
            "delivery_id",
            unique=True,
            postgresql_where=text(DELIVERY_UNIQUE_WHERE),
        ),
    )

    id: Mapped[bigint_pk]
    provider: Mapped[str] = mapped_column(String(32))
    # The owner's id as the request arrived, without a foreign key: a row for a site or
    # source deleted meanwhile must still be logged, not fail the commit it shares with
    # other requests (migration 0005). The worker fails such an event by name.
    site_id: Mapped[int | None] = mapped_column(BigInteger)
    source_id: Mapped[int | None] = mapped_column(BigInteger)
    topic: Mapped[str | None] = mapped_column(String(100))
    kind: Mapped[str | None] = mapped_column(String(40))
    delivery_id: Mapped[str | None] = mapped_column(String(200))
    entity: Mapped[str | None] = mapped_column(String(200))
    sku: Mapped[str | None] = mapped_column(String(20), index=True)
    dedupe_key: Mapped[str | None] = mapped_column(String(300))
    status: Mapped[WebhookStatus] = enum_column(WebhookStatus)
    error: Mapped[str | None] = mapped_column(Text)
    attempts: Mapped[int] = mapped_column(Integer, server_default="0")
    received_at: Mapped[created_at]
    queued_at: Mapped[timestamp]
    processed_at: Mapped[timestamp]
    occurred_at: Mapped[timestamp]
    payload: Mapped[Any | None] = mapped_column(JSONB)
