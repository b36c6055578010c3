"""Operator controls of a run (sync/controls.py), called directly: which states each
accepts, what resume queues, and what cancel counts and closes."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import func
from sqlalchemy.orm import Session, sessionmaker

from models import BatchStatus, RunStatus, SyncBatch, SyncRun
from models.db import transaction
from sync import lifecycle
from sync.batches import claim_batch, finish_batch
from sync.context import Context
from sync.controls import CONTROLS, cancel, pause, resume
from sync.errors import Conflict, NotFound, Unavailable
from sync.push import PushOutcome
from tests.factories.sync import run_row as build_run
from tests.support.broker import RecordingBroker
from tests.support.stack import batch_rows, run_row, run_with_batches, set_rows, topics

#: The states each control accepts; every other state is refused by name.
ACCEPTS = {
    "pause": {RunStatus.QUEUED, RunStatus.RUNNING},
    "resume": {RunStatus.PAUSED},
    "cancel": {RunStatus.QUEUED, RunStatus.RUNNING, RunStatus.PAUSED},
}


def _run(db: sessionmaker[Session], site_id: int, **fields: Any) -> int:
    with transaction(db) as session:
        return build_run(session, site_id, **fields).id


def test_the_controls_go_by_the_names_the_api_and_the_cli_use() -> None:
    assert CONTROLS == {"pause": pause, "resume": resume, "cancel": cancel}


@pytest.mark.parametrize(
    ("name", "status"),
    [
        (name, status)
        for name, accepts in ACCEPTS.items()
        for status in RunStatus
        if status not in accepts
    ],
)
def test_a_control_refuses_a_run_in_the_wrong_state_naming_it(
    service: Context,
    broker: RecordingBroker,
    db: sessionmaker[Session],
    site_id: int,
    name: str,
    status: RunStatus,
) -> None:
    run_id = _run(db, site_id, status=status)
    with pytest.raises(Conflict) as refused:
        CONTROLS[name](service, run_id)
    assert refused.value.message == f"cannot {name} run {run_id}: it is {status}"
    assert run_row(db, run_id).status == status
    assert broker.queued == []


@pytest.mark.parametrize("name", ACCEPTS)
def test_a_control_of_a_missing_run_is_not_found(service: Context, name: str) -> None:
    with pytest.raises(NotFound, match=r"^no run 999$"):
        CONTROLS[name](service, 999)


@pytest.mark.parametrize("status", [RunStatus.QUEUED, RunStatus.RUNNING])
def test_a_paused_run_leaves_its_batches_queued_and_unclaimable(
    service: Context,
    broker: RecordingBroker,
    db: sessionmaker[Session],
    site_id: int,
    status: RunStatus,
) -> None:
    run_id, [batch_id] = run_with_batches(db, site_id, ["SKU-000001"], status=status)

    pause(service, run_id)

    assert run_row(db, run_id).status == RunStatus.PAUSED
    with transaction(db) as session:
        # The batch's message, when it comes, finds the run paused and does nothing.
        assert claim_batch(session, batch_id) is None
    assert [batch.status for batch in batch_rows(db, run_id)] == [BatchStatus.QUEUED]
    assert broker.queued == []


@pytest.mark.parametrize(
    ("started", "status"), [(False, RunStatus.QUEUED), (True, RunStatus.RUNNING)]
)
def test_resuming_a_run_paused_before_its_batches_queues_its_start_again(
    service: Context,
    broker: RecordingBroker,
    db: sessionmaker[Session],
    site_id: int,
    started: bool,
    status: RunStatus,
) -> None:
    run_id = _run(db, site_id, kind="full", status=RunStatus.PAUSED)
    if started:
        set_rows(db, SyncRun, [run_id], started_at=func.now())

    resume(service, run_id)

    # The start task skips a run that is not queued or running: it must find one.
    assert run_row(db, run_id).status == status
    assert broker.queued == [("start_run", run_id, "full")]


def test_resuming_queues_only_the_batches_still_queued(
    service: Context, broker: RecordingBroker, db: sessionmaker[Session], site_id: int
) -> None:
    run_id, ids = run_with_batches(
        db,
        site_id,
        ["SKU-000001"],
        ["SKU-000002"],
        ["SKU-000003"],
        ["SKU-000004"],
        status=RunStatus.PAUSED,
    )
    set_rows(db, SyncBatch, [ids[0]], status=BatchStatus.COMPLETED)
    set_rows(db, SyncBatch, [ids[2]], status=BatchStatus.PROCESSING)

    resume(service, run_id)

    assert run_row(db, run_id).status == RunStatus.RUNNING
    assert broker.queued == [("batch", ids[1], "manual"), ("batch", ids[3], "manual")]


def test_a_resume_the_broker_cannot_take_leaves_the_run_running_for_the_stuck_batch_check(
    service: Context, broker: RecordingBroker, db: sessionmaker[Session], site_id: int
) -> None:
    run_id, _ = run_with_batches(db, site_id, ["SKU-000001"], status=RunStatus.PAUSED)
    broker.fails_after = 0

    with pytest.raises(Unavailable):
        resume(service, run_id)

    assert run_row(db, run_id).status == RunStatus.RUNNING
    assert [batch.status for batch in batch_rows(db, run_id)] == [BatchStatus.QUEUED]


@pytest.mark.parametrize("status", [RunStatus.QUEUED, RunStatus.RUNNING, RunStatus.PAUSED])
def test_cancel_skips_the_queued_batches_and_closes_a_run_with_none_processing(
    service: Context,
    broker: RecordingBroker,
    db: sessionmaker[Session],
    site_id: int,
    subscriber: None,
    status: RunStatus,
) -> None:
    run_id, (done, _, _) = run_with_batches(
        db, site_id, ["SKU-000001"], ["SKU-000002", "SKU-000003"], ["SKU-000004"], status=status
    )
    set_rows(db, SyncBatch, [done], status=BatchStatus.COMPLETED)
    set_rows(db, SyncRun, [run_id], batches_pending=2)

    cancel(service, run_id)

    run = run_row(db, run_id)
    assert (run.status, run.error) == (RunStatus.CANCELLED, "cancelled by an operator")
    assert (run.skipped, run.batches_pending) == (3, 0)
    assert run.finished_at is not None
    assert [batch.status for batch in batch_rows(db, run_id)] == [
        BatchStatus.COMPLETED,
        BatchStatus.CANCELLED,
        BatchStatus.CANCELLED,
    ]
    assert topics(db, broker.sent("delivery")) == [lifecycle.FAILED]


def test_a_cancelled_run_closes_when_its_last_processing_batch_finishes(
    service: Context,
    broker: RecordingBroker,
    db: sessionmaker[Session],
    site_id: int,
    subscriber: None,
) -> None:
    run_id, (busy, _) = run_with_batches(db, site_id, ["SKU-000001"], ["SKU-000002"])
    with transaction(db) as session:
        claim = claim_batch(session, busy)
    assert claim is not None

    cancel(service, run_id)
    cancelled = run_row(db, run_id)
    assert (cancelled.status, cancelled.skipped, cancelled.batches_pending) == (
        RunStatus.CANCELLED,
        1,
        1,
    )
    assert cancelled.finished_at is None and broker.queued == []

    # What is synced stays synced: the batch finishes, counts, and closes the run.
    with transaction(db) as session:
        deliveries = finish_batch(session, claim, PushOutcome(synced=1, store_calls=1))
    run = run_row(db, run_id)
    assert (run.status, run.synced, run.batches_pending) == (RunStatus.CANCELLED, 1, 0)
    assert run.finished_at is not None
    assert topics(db, deliveries) == [lifecycle.FAILED]
    assert [b.status for b in batch_rows(db, run_id)] == [
        BatchStatus.COMPLETED,
        BatchStatus.CANCELLED,
    ]
