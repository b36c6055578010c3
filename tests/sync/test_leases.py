"""A batch's lease (sync/leases.py): renewed while its worker works, so a slow but live
worker keeps its batch; a claim that lost the batch renews nothing."""

from __future__ import annotations

import logging
import time
from datetime import datetime

import pytest
from sqlalchemy.orm import Session, sessionmaker

from models.db import transaction
from sync.batches import Claim, claim_batch, fail_batch
from sync.leases import kept, renew_lease
from tests.support.stack import (
    batch_rows,
    lapse_leases,
    run_with_batches,
    sweep_batches,
    wait_for,
)

SKUS = ["SKU-000001", "SKU-000002"]


def _claim(db: sessionmaker[Session], batch_id: int, delivery: str, lease: int = 60) -> Claim:
    with transaction(db) as session:
        claim = claim_batch(session, batch_id, lease_seconds=lease, delivery=delivery)
    assert claim is not None
    return claim


def test_a_lease_renewed_by_a_slow_live_worker_is_not_taken(
    db: sessionmaker[Session], site_id: int
) -> None:
    """The worker's heartbeat keeps renewing while the batch's work goes on far past
    the first lease (here a 3 s lease and several of them waited out, as a batch waits
    for a platform budget): every sweep meanwhile leaves it alone, and so does a claim
    by another delivery."""
    run_id, [batch_id] = run_with_batches(db, site_id, SKUS)
    claim = _claim(db, batch_id, "task-1", lease=3)
    [batch] = batch_rows(db, run_id)
    first_lease = batch.lease_expires_at
    assert first_lease is not None

    with kept(db, claim, 3):
        # Work past three of the first leases, sweeping all along.
        wait_for(
            lambda: (
                sweep_batches(db) == []
                and _claimed_by_other(db, batch_id) is None
                and _lease(db, run_id) > first_lease + 3 * (first_lease - batch.claimed_at)
            ),
            timeout=30,
            what="the lease renewed past three first leases",
        )

    [batch] = batch_rows(db, run_id)
    assert (batch.attempts, batch.claimed_by, batch.error) == (1, "task-1", None)


def test_a_lapsed_lease_nobody_took_is_renewed_by_its_holder(
    db: sessionmaker[Session], site_id: int
) -> None:
    """A renewal late by a GC pause still holds the batch if no sweep came between."""
    _, [batch_id] = run_with_batches(db, site_id, SKUS)
    claim = _claim(db, batch_id, "task-1")
    lapse_leases(db, [batch_id])

    assert renew_lease(db, claim, 60) is True
    assert sweep_batches(db) == []


def test_a_claim_that_lost_its_batch_renews_nothing(
    db: sessionmaker[Session], site_id: int
) -> None:
    run_id, [batch_id] = run_with_batches(db, site_id, SKUS)
    paused = _claim(db, batch_id, "task-1")
    lapse_leases(db, [batch_id])
    assert sweep_batches(db) == [(batch_id, "manual")]
    holder = _claim(db, batch_id, "task-2")
    [before] = batch_rows(db, run_id)

    assert renew_lease(db, paused, 600) is False

    [after] = batch_rows(db, run_id)
    assert after.lease_expires_at == before.lease_expires_at
    assert (after.attempts, after.claimed_by) == (holder.attempt, "task-2")


def test_a_batch_finished_while_a_renewal_waited_is_not_reported_lost(
    db: sessionmaker[Session], site_id: int, caplog: pytest.LogCaptureFixture
) -> None:
    """The renewal's UPDATE waits for the row lock the batch's own write transaction
    holds (`sync.batches.hold`), then finds the batch finished. Before, that read as
    "sync.batch.lease_lost": with WooCommerce's seconds-long batch writes
    (sandbox.profiles) four batches of four said so in one benchmark run."""
    _, [batch_id] = run_with_batches(db, site_id, SKUS)
    claim = _claim(db, batch_id, "task-1", lease=3)

    with caplog.at_level(logging.WARNING, logger="sync.leases"), kept(db, claim, 0.3):
        fail_batch(db, claim, "given up")
        time.sleep(0.5)  # the block ends a moment after the batch: renewals run meanwhile

    assert [r.message for r in caplog.records] == []


def _claimed_by_other(db: sessionmaker[Session], batch_id: int) -> Claim | None:
    with transaction(db) as session:
        return claim_batch(session, batch_id, delivery="task-2")


def _lease(db: sessionmaker[Session], run_id: int) -> datetime:
    [batch] = batch_rows(db, run_id)
    assert batch.lease_expires_at is not None
    return batch.lease_expires_at
