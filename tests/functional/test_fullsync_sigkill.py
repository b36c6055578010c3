"""SIGKILL in the middle of a 10,000-SKU run, against real `celery worker` processes.

The workers are separate processes (prefork, as in production) started with the
environment a deployment gives them; the sandboxes serve them over HTTP from here.

Two kills, the two ways a batch survives a dead worker:

1. One pool process is killed mid-batch. Its parent sees the worker lost and, with
   late acks and `reject_on_worker_lost`, puts the message back at once, marked
   `redelivered`; the next delivery takes the batch over from the dead claim.
2. The whole worker (parent and pool) is killed. Its unacked messages would come back
   only after Redis's visibility timeout (1 h), so the batches it held stay
   `processing` until their leases lapse (nobody renews them any more). A new worker
   starts with beat at its production schedule and default settings: the lease sweep
   returns them and the run completes within three minutes of the kill.

Either way the counts are exact: no SKU is counted twice, none is lost.
"""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from models import BatchStatus, RunStatus, SyncBatch
from models.crypto import Vault
from settings import Settings
from sync.runs import start_run
from tests.support.stack import finished, run_row, sandbox_stack, wait_for
from tests.support.worker_process import worker_process
from workers.context import client_context

ITEMS = 10_000
#: The issue's bound: a dead worker's batches are back and the run done within this.
AFTER_KILL_SECONDS = 180.0


def _children(pid: int) -> list[int]:
    path = Path(f"/proc/{pid}/task/{pid}/children")
    return [int(child) for child in path.read_text().split()] if path.exists() else []


def _count(db: sessionmaker[Session], run_id: int, status: BatchStatus) -> int:
    with db() as session:
        return session.execute(
            select(func.count())
            .select_from(SyncBatch)
            .where(SyncBatch.run_id == run_id, SyncBatch.status == status)
        ).scalar_one()


def _batches_total(db: sessionmaker[Session], run_id: int) -> int:
    return run_row(db, run_id).batches_total


@pytest.mark.slow
def test_killed_workers_lose_no_sku_and_count_none_twice(
    db: sessionmaker[Session],
    vault: Vault,
    settings: Settings,
    encryption_key: str,
    tmp_path: Path,
) -> None:
    ctx = client_context(settings)
    log = tmp_path / "worker.log"
    with (
        ctx,
        sandbox_stack(
            db, vault, "bigcommerce", items=ITEMS, drift=0.1, store={"latency_ms": 40}
        ) as stack,
    ):
        stack.erp.set_faults(latency_ms=10)  # a batch takes a quarter second or so
        drifted = stack.differing()
        run_id = start_run(ctx, stack.site_id)
        completed = lambda: _count(db, run_id, BatchStatus.COMPLETED)  # noqa: E731
        processing = lambda: _count(db, run_id, BatchStatus.PROCESSING)  # noqa: E731

        with worker_process(settings, encryption_key, log) as pid:
            wait_for(lambda: _batches_total(db, run_id) > 0, what="the batches")
            wait_for(lambda: completed() >= 5 and processing() > 0, what="a quarter done")
            os.kill(_children(pid)[0], signal.SIGKILL)  # one pool process, mid-batch
            wait_for(lambda: completed() >= 10 and processing() > 0, what="half done")
            os.killpg(pid, signal.SIGKILL)  # the whole worker
            killed_at = time.monotonic()
            held = processing()

        with worker_process(settings, encryption_key, log, beat=True):
            left = AFTER_KILL_SECONDS - (time.monotonic() - killed_at)
            wait_for(lambda: finished(db, run_id), timeout=left, what="the run")

        assert stack.differing() == set(), log.read_text()[-3000:]

    run = run_row(db, run_id)
    assert held > 0
    assert (run.status, run.total, run.synced, run.unchanged, run.failed) == (
        RunStatus.COMPLETED,
        ITEMS,
        len(drifted),
        ITEMS - len(drifted),
        0,
    )
    with db() as session:
        attempts = session.scalars(select(SyncBatch.attempts).where(SyncBatch.run_id == run_id))
        assert max(attempts) >= 2  # some batch was taken over or returned, and redone
