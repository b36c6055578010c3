"""Every webhook request the receiver accepted or refused, and what became of it."""

from __future__ import annotations

import enum
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import BigInteger, CheckConstraint, DateTime, Index, Integer, String, Text
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
    #: An order was placed, changed, cancelled or refunded in the store (reservations).
    STORE_ORDER = "store.order"
    ERP_ITEM_CHANGED = "erp.item.changed"
    #: More changes than the ERP lists one by one (Business Central's `collection`).
    ERP_COLLECTION = "erp.collection"
    #: Stock moved in the ERP without a webhook: SKUs its change feed listed (the
    #: payload's `skus`; sync/change_feed.py).
    ERP_STOCK_MOVED = "erp.stock.moved"
    #: The ERP says stock moved without naming what (a Zoho workflow rule on invoices,
    #: shipments or adjustments): read its change feed now (sync/change_feed.py).
    ERP_STOCK_NUDGE = "erp.stock.nudge"
    #: A generic "this SKU changed" hint (Standard Webhooks producers).
    SKU_CHANGED = "sku.changed"


#: The event times a row may hold, start included, end excluded: the calendar Python can
#: represent (years 1-9999) less a day at each end, so that a reader whose session shows
#: times in any zone (offsets reach 14 h) still gets a date Python can hold. A sender's
#: time outside it is refused at the door (api/webhooks/event.py); a row holding one made
#: every reader of its page fail (issue 18, item 12).
EARLIEST_OCCURRED_AT = datetime(1, 1, 2, tzinfo=UTC)
LATEST_OCCURRED_AT = datetime(9999, 12, 31, tzinfo=UTC)
OCCURRED_AT_IN_CALENDAR = (
    f"occurred_at >= '{EARLIEST_OCCURRED_AT.isoformat()}' "
    f"AND occurred_at < '{LATEST_OCCURRED_AT.isoformat()}'"
)


def window_key(owner_kind: str, owner_id: int, kind: str | None, entity: str) -> str:
    """The dedupe window of an event: per (owner, kind, entity), docs/architecture.md
    flow 2. One format for every writer of the log (the receiver, the plugin endpoint),
    so the relay coalesces their rows alike."""
    return f"stocksync:window:{owner_kind}:{owner_id}:{kind}:{entity}"[:300]


class WebhookLog(Base):
    """One row per request (unknown-owner refusals: one row a minute per provider and
    web process, api/refusals.py). Secrets and full signatures are never stored here."""

    __tablename__ = "webhook_log"
    __table_args__ = (
        # The outbox sweeper scans `received` rows by age.
        Index("ix_webhook_log_status_received", "status", "received_at"),
        Index("ix_webhook_log_site_received", "site_id", "received_at"),
        # NULL passes a CHECK: rows without an event time are fine.
        CheckConstraint(OCCURRED_AT_IN_CALENDAR, name="occurred_at_in_calendar"),
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


class WebhookDelivery(Base):
    """The delivery-id memory: one row per (provider, owner, delivery id) accepted in the
    last IDEMPOTENCY_TTL_SECONDS, so a platform's retry is logged `duplicate`, however
    its first row ended (processed, failed, coalesced into a window, purged).

    Why a table of its own rather than a unique index on `webhook_log`: the log keeps
    rows for 90 days and their status changes (the relay marks coalesced rows
    `duplicate`, which an index over live rows then forgot), while an id must count as
    seen for exactly its TTL. The receiver writes both in one statement (api/intake.py);
    rows older than the TTL are taken over by the next delivery of the id, and purged
    daily (sync/retention.py).
    """

    __tablename__ = "webhook_deliveries"

    provider: Mapped[str] = mapped_column(String(32), primary_key=True)
    #: The site's id for store providers, the source's for ERP providers: the provider
    #: decides which one its URL names (api/webhooks/registry.py), so the pair is the owner.
    owner_id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    delivery_id: Mapped[str] = mapped_column(String(200), primary_key=True)
    #: The database's clock at the delivery's acceptance: one clock for every receiver.
    seen_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    #: The `webhook_log` row of that acceptance (no foreign key: the log is purged apart).
    log_id: Mapped[int] = mapped_column(BigInteger)
