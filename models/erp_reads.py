"""A source's shared item listing: one read of the ERP that every run of the cycle uses.

A full sync of several sites on one source reads the ERP's items once and fans the
readings out (sync/erp_reads.py; issue 22, item 2): 50 sites reading a Zoho
organisation for themselves would spend 50 times its 100-requests-a-minute budget.
"""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, DateTime, ForeignKey, Index, Integer, String, Text, func, text
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base, bigint_pk, created_at, enum_column, timestamp, updated_at


class ErpReadStatus(enum.StrEnum):
    #: Pages are being read; its holder commits its place with each one.
    READING = "reading"
    COMPLETE = "complete"
    #: Left unfinished and superseded by a newer read (its holder gave up or died).
    ABANDONED = "abandoned"


#: At most one read of a source is being read at a time, on any host.
LIVE_READ_PER_SOURCE = "uq_erp_reads_reading_per_source"


class ErpRead(Base):
    """One listing of a source's items, resumable from `resume` by whichever run holds
    it: `holder_run_id` under `token` until `lease_expires_at` (database clock). A run
    that takes it over bumps `token`, and a page committed under an older token is
    refused, so two holders never both write one read's place."""

    __tablename__ = "erp_reads"
    __table_args__ = (
        Index(
            LIVE_READ_PER_SOURCE,
            "source_id",
            unique=True,
            postgresql_where=text("status = 'reading'"),
        ),
        Index("ix_erp_reads_source_started", "source_id", "started_at"),
    )

    id: Mapped[bigint_pk]
    source_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("sources.id", ondelete="CASCADE"))
    status: Mapped[ErpReadStatus] = enum_column(ErpReadStatus)
    #: The database's time when the read was created: which runs it serves.
    started_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    #: When the source's open store orders were settled, before the first page
    #: (sync/reservations.py: a reading stops counting an order the ERP had absorbed
    #: only if it was taken after that was noted).
    settled_at: Mapped[timestamp]
    finished_at: Mapped[timestamp]
    #: Where the listing goes on (the connector's token; NULL: from the start).
    resume: Mapped[str | None] = mapped_column(Text)
    pages: Mapped[int] = mapped_column(Integer, server_default="0")
    items: Mapped[int] = mapped_column(Integer, server_default="0")
    #: The run whose start task reads it now (no foreign key: a run row names its read).
    holder_run_id: Mapped[int | None] = mapped_column(BigInteger)
    token: Mapped[int] = mapped_column(Integer, server_default="0")
    lease_expires_at: Mapped[timestamp]
    #: Why it is not progressing now (the ERP's daily budget used up), for the runs'
    #: progress; cleared by the next page committed.
    error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[created_at]
    updated_at: Mapped[updated_at]


class ErpReading(Base):
    """One item of a read: a `connectors.types.SourceItem` as the listing gave it."""

    __tablename__ = "erp_readings"

    read_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("erp_reads.id", ondelete="CASCADE"), primary_key=True
    )
    sku: Mapped[str] = mapped_column(String(20), primary_key=True)
    quantity: Mapped[int] = mapped_column(Integer)
    available_for_sale: Mapped[int | None] = mapped_column(Integer)
    item_id: Mapped[str] = mapped_column(String(100))
    read_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    #: Location id -> [on hand, available-for-sale or null]; NULL: the ERP gives none.
    locations: Mapped[Any | None] = mapped_column(JSONB)
