"""Who wants to hear about sync runs, and every delivery of every event to them.

Sync lifecycle events (`PRODUCT_SYNC_STARTED`, `MERCHANT_CONNECTED`, ...) are sent
the way commerce platforms send them to partners: signed Standard Webhooks requests,
retried for about a day (docs/platforms.md sections 8 and 9). A delivery row is written in
the same transaction as the run change it reports, so no event is lost between the
database and the queue; the row, not the message, drives retries.
"""

from __future__ import annotations

import enum
from typing import Any

from sqlalchemy import (
    BigInteger,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base, bigint_pk, bool_true, created_at, enum_column, timestamp, updated_at


class DeliveryStatus(enum.StrEnum):
    PENDING = "pending"
    DELIVERED = "delivered"
    #: Every attempt of the schedule failed.
    FAILED = "failed"
    #: The subscriber was deactivated (it answered 410) before this was delivered.
    CANCELLED = "cancelled"


class EventSubscription(Base):
    """A URL that receives the topics it lists, for one site or (site_id NULL) all."""

    __tablename__ = "event_subscriptions"

    id: Mapped[bigint_pk]
    url: Mapped[str] = mapped_column(String(500))
    #: Fernet token of the `whsec_...` signing secret (models/crypto.py).
    secret_sealed: Mapped[str] = mapped_column(Text)
    #: Topic names, e.g. ["PRODUCT_SYNC_STARTED", "PRODUCT_SYNC_COMPLETED"].
    topics: Mapped[list[str]] = mapped_column(JSONB)
    site_id: Mapped[int | None] = mapped_column(
        BigInteger, ForeignKey("sites.id", ondelete="CASCADE"), index=True
    )
    active: Mapped[bool_true]
    #: Why it was deactivated (e.g. "answered 410 Gone").
    deactivated_reason: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[created_at]
    updated_at: Mapped[updated_at]


class EventDelivery(Base):
    """One event for one subscriber: its signed body's id, attempts and outcome."""

    __tablename__ = "event_deliveries"
    __table_args__ = (
        # The webhook-id names the event: retries of it reuse it, so a subscriber can
        # drop a delivery it already processed (Standard Webhooks idempotency).
        UniqueConstraint("subscription_id", "event_id"),
        # The sweeper looks for pending deliveries whose next attempt is due.
        Index("ix_event_deliveries_status_next", "status", "next_attempt_at"),
        # "Is an earlier delivery of this subscriber and entity still pending?"
        Index(
            "ix_event_deliveries_pending_line",
            "subscription_id",
            "entity",
            "id",
            postgresql_where=text("status = 'pending'"),
        ),
    )

    id: Mapped[bigint_pk]
    subscription_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("event_subscriptions.id", ondelete="CASCADE")
    )
    #: The `webhook-id` header, `msg_<hex>`: one per event, the same on every retry.
    event_id: Mapped[str] = mapped_column(String(64))
    topic: Mapped[str] = mapped_column(String(64))
    #: What the event is about, `run:<id>`, `site:<id>` or `subscription:<id>`: one
    #: subscriber gets one entity's events in order (sync/lifecycle.py).
    entity: Mapped[str] = mapped_column(String(64))
    payload: Mapped[Any] = mapped_column(JSONB)
    status: Mapped[DeliveryStatus] = enum_column(DeliveryStatus)
    attempts: Mapped[int] = mapped_column(Integer, server_default="0")
    #: When the next attempt is due; also pushed ahead while an attempt is under way,
    #: so a duplicate message finds nothing due and does nothing.
    next_attempt_at: Mapped[timestamp]
    last_status: Mapped[int | None] = mapped_column(Integer)
    last_error: Mapped[str | None] = mapped_column(Text)
    #: Every attempt: [{"at", "status", "error"}], oldest first.
    history: Mapped[list[dict[str, Any]]] = mapped_column(JSONB, server_default="[]")
    delivered_at: Mapped[timestamp]
    created_at: Mapped[created_at]
    updated_at: Mapped[updated_at]
