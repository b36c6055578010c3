"""A catalog longer than the night, reconciled over two nights by real workers.

Issue 22, item 2: a nightly run stops at its night's end with what it synced, and the
next night begins with what it left (sync/runs.py `hold_over`). The night ends here in
the middle of the first run (its `ends_by` moved to now), as it would at 06:00.
BigCommerce takes a batch's changes in one write, so its write log says which SKUs
were written, and how often.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from datetime import date

import pytest
import redis
from celery import Celery
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from models import BatchStatus, RunStatus, SyncBatch, SyncRun
from models.crypto import Vault
from settings import Settings
from sync.context import Context
from sync.progress import run_progress
from sync.runs import HELD_OVER, RunKind, start_run
from tests.support.stack import (
    FAST,
    Stack,
    finished,
    installed_context,
    run_row,
    sandbox_stack,
    set_rows,
    wait_for,
    workers,
)
from workers.app import make_celery

ITEMS = 5_000


@pytest.fixture
def night(settings: Settings) -> Settings:
    """Two batches of a run in flight: the rest wait for their turn, so the night's end
    finds some not published yet (one run alone would have all 10 out at once)."""
    return replace(settings, batches_in_flight=2)


@pytest.fixture
def ctx(night: Settings, redis_client: redis.Redis) -> Iterator[Context]:
    with installed_context(night, **FAST) as context:
        yield context


@pytest.fixture
def stack(db: sessionmaker[Session], vault: Vault) -> Iterator[Stack]:
    with sandbox_stack(
        db, vault, "bigcommerce", items=ITEMS, drift=0.2, store={"latency_ms": 20}
    ) as stack:
        yield stack


def _skus(db: sessionmaker[Session], run_id: int, status: BatchStatus | None = None) -> list[str]:
    """The run's SKUs in the order its batches were cut, of batches in `status`."""
    query = select(SyncBatch.skus).where(SyncBatch.run_id == run_id).order_by(SyncBatch.seq)
    if status is not None:
        query = query.where(SyncBatch.status == status)
    with db() as session:
        return [sku for skus in session.scalars(query) for sku in skus]


def _percent(db: sessionmaker[Session], run_id: int) -> float:
    with db() as session:
        return run_progress(session, run_id).percent


@pytest.mark.slow
def test_a_catalog_longer_than_the_night_is_reconciled_over_two_nights(
    night: Settings, ctx: Context, stack: Stack, db: sessionmaker[Session]
) -> None:
    app: Celery = make_celery(night)
    drifted = stack.differing()
    with workers(app):
        first = start_run(ctx, stack.site_id, kind=RunKind.FULL, local_date=date(2026, 12, 6))
        wait_for(lambda: _percent(db, first) >= 30, what="30 %")
        set_rows(db, SyncRun, [first], ends_by=func.now())  # 06:00
        wait_for(lambda: finished(db, first), what="the first night's run to close")
        held = _skus(db, first, BatchStatus.CANCELLED)
        left = stack.differing()

        second = start_run(ctx, stack.site_id, kind=RunKind.FULL, local_date=date(2026, 12, 7))
        wait_for(lambda: finished(db, second), what="the second night's run")

    tonight = run_row(db, first)
    assert tonight.status == RunStatus.COMPLETED and tonight.error is None
    assert 0 < tonight.held_over == tonight.skipped == len(held) < ITEMS * 0.7
    assert tonight.synced + tonight.unchanged + tonight.held_over == ITEMS
    with db() as session:
        reasons = set(
            session.scalars(
                select(SyncBatch.error).where(
                    SyncBatch.run_id == first, SyncBatch.status == BatchStatus.CANCELLED
                )
            )
        )
    assert reasons == {HELD_OVER}
    # What the night reached is synced; nothing of what it left was written.
    assert left == drifted & set(held)

    # The next night begins with what was left, then the rest, and finishes.
    assert set(_skus(db, second)[: len(held)]) == set(held)
    after = run_row(db, second)
    assert (after.status, after.held_over, after.synced) == (
        RunStatus.COMPLETED,
        0,
        len(left),
    )
    assert stack.differing() == set()
    # Every drifted SKU written once over the two nights, none twice.
    assert sum(write.items for write in stack.store.writes) == len(drifted)
