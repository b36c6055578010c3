"""Sync runs and their batches: progress, pause/resume and recovery live in these rows."""

from __future__ import annotations

import enum
import uuid
from datetime import date
from typing import Any

from sqlalchemy import (
    BigInteger,
    Date,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB, UUID
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base, bigint_pk, created_at, enum_column, timestamp, updated_at


class RunStatus(enum.StrEnum):
    QUEUED = "queued"
    RUNNING = "running"
    PAUSED = "paused"
    CANCELLED = "cancelled"
    COMPLETED = "completed"
    FAILED = "failed"


class BatchStatus(enum.StrEnum):
    QUEUED = "queued"
    PROCESSING = "processing"
    COMPLETED = "completed"
    FAILED = "failed"
    CANCELLED = "cancelled"


#: A run in these statuses may still process batches; a site has at most one.
LIVE_RUN_STATUSES = (RunStatus.QUEUED, RunStatus.RUNNING, RunStatus.PAUSED)
#: The unique indexes behind "one live run per site" and "one nightly run per local
#: date" (sync/runs.py `start_run` tells them apart by name).
LIVE_RUN_PER_SITE = "uq_sync_runs_live_per_site"
FULL_RUN_PER_DAY = "uq_sync_runs_full_per_day"


class SyncRun(Base):
    """One sync of a site. `kind` is `full`, `manual` or `webhook:<resource>`."""

    __tablename__ = "sync_runs"
    __table_args__ = (
        # At most one nightly run per site per local date, even with two beats racing.
        Index(
            FULL_RUN_PER_DAY,
            "site_id",
            "local_date",
            unique=True,
            postgresql_where=text("kind = 'full'"),
        ),
        # At most one live run per site, whatever started it (manual, beat, an ERP
        # collection notice), on any host.
        Index(
            LIVE_RUN_PER_SITE,
            "site_id",
            unique=True,
            postgresql_where=text("status IN ('queued', 'running', 'paused')"),
        ),
        Index("ix_sync_runs_site_created", "site_id", "created_at"),
        Index("ix_sync_runs_status", "status"),
    )

    id: Mapped[bigint_pk]
    #: The run's public id: what the plugin endpoint answers as `syncLogId`, and
    #: `GET /api/sync/logs/<log_id>` finds (a counter would tell one store how busy the
    #: others are).
    log_id: Mapped[uuid.UUID] = mapped_column(
        UUID(as_uuid=True), server_default=text("gen_random_uuid()"), unique=True
    )
    site_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("sites.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(40))
    trigger: Mapped[str] = mapped_column(String(40))
    status: Mapped[RunStatus] = enum_column(RunStatus)
    #: The site's local date the run belongs to (for the one-per-day rule).
    local_date: Mapped[date | None] = mapped_column(Date)
    total: Mapped[int] = mapped_column(Integer, server_default="0")
    synced: Mapped[int] = mapped_column(Integer, server_default="0")
    unchanged: Mapped[int] = mapped_column(Integer, server_default="0")
    failed: Mapped[int] = mapped_column(Integer, server_default="0")
    #: Readings of SKUs the site opted out of: never written, not failed either.
    opted_out: Mapped[int] = mapped_column(Integer, server_default="0")
    skipped: Mapped[int] = mapped_column(Integer, server_default="0")
    #: Of `skipped`, the SKUs a nightly run left at the night's end, for the next
    #: night to take first (sync/runs.py `hold_over`).
    held_over: Mapped[int] = mapped_column(Integer, server_default="0")
    store_calls: Mapped[int] = mapped_column(Integer, server_default="0")
    batches_total: Mapped[int] = mapped_column(Integer, server_default="0")
    #: Batches not yet finished; the batch that brings it to zero closes the run.
    batches_pending: Mapped[int] = mapped_column(Integer, server_default="0")
    #: The catalog refresh's place, committed with each chunk it wrote (sync/catalog.py):
    #: where the store's listing resumes (the connector's token; NULL: from the start),
    #: when the listing began (rows it saw are dated so), pages read, and the store's
    #: count of pages where it gives one.
    catalog_resume: Mapped[str | None] = mapped_column(Text)
    catalog_started_at: Mapped[timestamp]
    catalog_pages: Mapped[int] = mapped_column(Integer, server_default="0")
    catalog_pages_of: Mapped[int | None]
    #: When the listing ended (unseen rows retired): later attempts do not list again.
    catalog_listed_at: Mapped[timestamp]
    #: The start task listing the catalog (its Celery id) and until when, on the
    #: database's clock: one listing at a time (sync/runs.py `begin_run`).
    listing_by: Mapped[str | None] = mapped_column(String(255))
    listing_until: Mapped[timestamp]
    #: A nightly run publishes no batch past this (its start plus NIGHT_HOURS, on the
    #: database's clock); NULL for other runs, which go on until done.
    ends_by: Mapped[timestamp]
    #: Its forecast calls and time against its budgets, made as it began (sync/plan.py).
    plan: Mapped[Any | None] = mapped_column(JSONB)
    #: The source's shared item listing the run's batches read (sync/erp_reads.py).
    erp_read_id: Mapped[int | None] = mapped_column(
        BigInteger, ForeignKey("erp_reads.id", ondelete="SET NULL")
    )
    error: Mapped[str | None] = mapped_column(Text)
    started_at: Mapped[timestamp]
    finished_at: Mapped[timestamp]
    created_at: Mapped[created_at]
    updated_at: Mapped[updated_at]


class SyncBatch(Base):
    """Up to BATCH_SIZE SKUs of a run, processed by one task."""

    __tablename__ = "sync_batches"
    __table_args__ = (
        UniqueConstraint("run_id", "seq"),
        # The lease sweep (sync/recovery.py) looks batches up by status and lease.
        Index("ix_sync_batches_status_lease", "status", "lease_expires_at"),
    )

    id: Mapped[bigint_pk]
    run_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("sync_runs.id", ondelete="CASCADE"))
    seq: Mapped[int] = mapped_column(Integer)
    skus: Mapped[list[str]] = mapped_column(JSONB)
    status: Mapped[BatchStatus] = enum_column(BatchStatus)
    attempts: Mapped[int] = mapped_column(Integer, server_default="0")
    synced: Mapped[int] = mapped_column(Integer, server_default="0")
    unchanged: Mapped[int] = mapped_column(Integer, server_default="0")
    failed: Mapped[int] = mapped_column(Integer, server_default="0")
    opted_out: Mapped[int] = mapped_column(Integer, server_default="0")
    store_calls: Mapped[int] = mapped_column(Integer, server_default="0")
    error: Mapped[str | None] = mapped_column(Text)
    failures: Mapped[Any | None] = mapped_column(JSONB)
    #: A preview batch's findings: SKU -> [what the store shows, what a sync would write].
    changes: Mapped[Any | None] = mapped_column(JSONB)
    #: When the batch's turn came and its message was published (sync/runs.py
    #: `fill_window`); NULL while it waits behind its run's batches in flight.
    published_at: Mapped[timestamp]
    claimed_at: Mapped[timestamp]
    #: Until when the claim holds (database clock): renewed by the holding worker while
    #: it works or, for a batch waiting for its retry, when the retry is due plus one
    #: lease. The sweep returns a batch whose lease lapsed (sync/recovery.py).
    lease_expires_at: Mapped[timestamp]
    #: The Celery task id of the delivery holding the claim (see sync/batches.py).
    claimed_by: Mapped[str | None] = mapped_column(String(64))
    finished_at: Mapped[timestamp]
    created_at: Mapped[created_at]
    updated_at: Mapped[updated_at]
