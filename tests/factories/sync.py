"""Builders for sync_runs rows (models/sync.py)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func
from sqlalchemy.orm import Session

from models import BatchStatus, RunStatus, SyncBatch, SyncRun
from tests.factories import add_row


def run_row(session: Session, site_id: int, **overrides: Any) -> SyncRun:
    """A queued manual run of the site."""
    fields: dict[str, Any] = {
        "site_id": site_id,
        "kind": "manual",
        "trigger": "test",
        "status": RunStatus.QUEUED,
    }
    return add_row(session, SyncRun, {**fields, **overrides})


def make_batches(
    session: Session,
    run: SyncRun,
    *skus: list[str],
    status: BatchStatus = BatchStatus.QUEUED,
    published: bool = True,
) -> list[int]:
    """One batch of `run` per SKU list, in order, with the run's totals set as
    `sync.runs.cut_batches` sets them; returns the batch ids. `published`: their
    messages published (`published_at` now), else waiting for their turn in the run's
    window (sync/runs.py `fill_window`)."""
    published_at = func.now() if published else None
    batches = [
        SyncBatch(
            run_id=run.id, seq=seq, skus=list(batch), status=status, published_at=published_at
        )
        for seq, batch in enumerate(skus)
    ]
    session.add_all(batches)
    run.total = sum(len(batch) for batch in skus)
    run.batches_total = run.batches_pending = len(batches)
    session.flush()
    return [batch.id for batch in batches]
