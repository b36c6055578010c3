"""One full-sync batch (sync/batches.py), called directly: who may claim it, what a
release, a finish and a failure record, and a claim that lost the batch records nothing."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from models import BatchStatus, RunStatus, SyncBatch
from models.crypto import Vault
from models.db import transaction
from settings import Settings
from sync import lifecycle
from sync.batches import (
    ERP_LISTS_NONE,
    Claim,
    StaleClaim,
    claim_batch,
    fail_batch,
    finish_batch,
    publish,
    queue_next,
    release_batch,
    sync_batch,
)
from sync.context import Context
from sync.errors import Unavailable
from sync.leases import renew_lease
from sync.push import NEVER_IN_ERP, PushOutcome
from sync.runs import fill_window
from tests.support.broker import RecordingBroker
from tests.support.stack import (
    Stack,
    batch_rows,
    lapse_leases,
    prepared_run,
    run_row,
    run_with_batches,
    sandbox_stack,
    set_rows,
    sweep_batches,
    topics,
)

SKUS = ["SKU-000001", "SKU-000002", "SKU-000003"]


def _claim(
    db: sessionmaker[Session], batch_id: int, *, delivery: str = "task-1", redelivered: bool = False
) -> Claim | None:
    with transaction(db) as session:
        return claim_batch(session, batch_id, delivery=delivery, redelivered=redelivered)


def _claimed(
    db: sessionmaker[Session], batch_id: int, *, delivery: str = "task-1", redelivered: bool = False
) -> Claim:
    claim = _claim(db, batch_id, delivery=delivery, redelivered=redelivered)
    assert claim is not None
    return claim


def _finish(db: sessionmaker[Session], claim: Claim, outcome: PushOutcome) -> list[int]:
    with transaction(db) as session:
        return finish_batch(session, claim, outcome)


@pytest.mark.parametrize("status", list(RunStatus))
def test_a_batch_is_claimed_only_while_its_run_is_running(
    db: sessionmaker[Session], site_id: int, status: RunStatus
) -> None:
    run_id, [batch_id] = run_with_batches(db, site_id, SKUS, status=status)

    claim = _claim(db, batch_id)

    [batch] = batch_rows(db, run_id)
    if status == RunStatus.RUNNING:
        assert claim == Claim(batch_id, run_id, site_id, "manual", 1, SKUS)
        assert (batch.status, batch.attempts) == (BatchStatus.PROCESSING, 1)
        assert batch.claimed_at is not None
    else:
        # A paused run's batches wait for resume; a finished run's are not taken.
        assert claim is None
        assert (batch.status, batch.attempts, batch.claimed_at) == (BatchStatus.QUEUED, 0, None)


@pytest.mark.parametrize(
    ("status", "redelivered", "claimed"),
    [
        (BatchStatus.QUEUED, False, True),
        (BatchStatus.QUEUED, True, True),
        # A duplicate message while another delivery holds the batch: nothing to do.
        (BatchStatus.PROCESSING, False, False),
        # Redelivered: the delivery that held it (this message's) is dead, this one
        # takes over without waiting for the lease.
        (BatchStatus.PROCESSING, True, True),
        (BatchStatus.COMPLETED, True, False),
        (BatchStatus.FAILED, True, False),
        (BatchStatus.CANCELLED, True, False),
    ],
)
def test_a_batch_is_claimed_from_queued_or_taken_over_only_when_redelivered(
    db: sessionmaker[Session],
    site_id: int,
    status: BatchStatus,
    redelivered: bool,
    claimed: bool,
) -> None:
    run_id, [batch_id] = run_with_batches(db, site_id, SKUS)
    set_rows(db, SyncBatch, [batch_id], status=status, attempts=1, claimed_by="task-1")
    set_rows(db, SyncBatch, [batch_id], lease_expires_at=func.now() + timedelta(minutes=1))

    claim = _claim(db, batch_id, redelivered=redelivered)

    [batch] = batch_rows(db, run_id)
    if claimed:
        # The token moves on, so the previous holder's later steps find it stale.
        assert claim is not None and claim.attempt == 2
        assert (batch.status, batch.attempts) == (BatchStatus.PROCESSING, 2)
    else:
        assert claim is None
        assert (batch.status, batch.attempts) == (status, 1)


@pytest.mark.parametrize(
    ("lapsed", "redelivered", "claimed"),
    [
        # Another delivery's live lease: not taken, even by a redelivered message (it
        # may be the original of a message the sweep published again).
        (False, True, False),
        # A lapsed lease: its worker stopped renewing it, any delivery takes over.
        (True, False, True),
        (True, True, True),
    ],
)
def test_another_deliverys_claim_is_taken_only_once_its_lease_lapsed(
    db: sessionmaker[Session], site_id: int, lapsed: bool, redelivered: bool, claimed: bool
) -> None:
    run_id, [batch_id] = run_with_batches(db, site_id, SKUS)
    first = _claimed(db, batch_id, delivery="task-1")
    if lapsed:
        lapse_leases(db, [batch_id])

    claim = _claim(db, batch_id, delivery="task-2", redelivered=redelivered)

    [batch] = batch_rows(db, run_id)
    if claimed:
        assert claim is not None and claim.attempt == first.attempt + 1
        assert (batch.attempts, batch.claimed_by) == (2, "task-2")
    else:
        assert claim is None
        assert (batch.attempts, batch.claimed_by) == (1, "task-1")


def test_a_claim_leases_the_batch_on_the_database_clock(
    db: sessionmaker[Session], site_id: int
) -> None:
    run_id, [batch_id] = run_with_batches(db, site_id, SKUS)
    with transaction(db) as session:
        claim_batch(session, batch_id, lease_seconds=90, delivery="task-1")
        claimed_at = session.execute(select(func.now())).scalar_one()

    [batch] = batch_rows(db, run_id)
    assert batch.lease_expires_at == claimed_at + timedelta(seconds=90)


def test_a_released_batch_is_queued_again_keeping_its_error(
    db: sessionmaker[Session], site_id: int
) -> None:
    run_id, [batch_id] = run_with_batches(db, site_id, SKUS)
    first = _claimed(db, batch_id)

    release_batch(db, first, "TransientError: HTTP 503", retry_lease=90)
    [batch] = batch_rows(db, run_id)
    assert (batch.status, batch.attempts, batch.error) == (
        BatchStatus.QUEUED,
        1,
        "TransientError: HTTP 503",
    )
    # Its retry is due within the lease: if that message dies with its worker, the
    # sweep publishes the batch again once the lease lapses.
    assert batch.lease_expires_at is not None and batch.updated_at is not None
    assert batch.lease_expires_at - batch.updated_at == timedelta(seconds=90)

    retry = _claimed(db, batch_id)
    _finish(db, retry, PushOutcome(unchanged=len(SKUS)))
    [batch] = batch_rows(db, run_id)
    # Completed after a retry: the error still says why it was retried.
    assert (batch.status, batch.attempts, batch.error) == (
        BatchStatus.COMPLETED,
        2,
        "TransientError: HTTP 503",
    )


def test_a_stale_claim_neither_releases_nor_finishes_the_batch(
    db: sessionmaker[Session], site_id: int
) -> None:
    run_id, [batch_id] = run_with_batches(db, site_id, SKUS)
    dead = _claimed(db, batch_id)
    alive = _claimed(db, batch_id, redelivered=True)

    release_batch(db, dead, "late", retry_lease=60)
    with pytest.raises(StaleClaim, match=f"batch {batch_id} was taken over after attempt 1"):
        _finish(db, dead, PushOutcome(synced=3, store_calls=1))
    with pytest.raises(StaleClaim):
        fail_batch(db, dead, "late")

    [batch] = batch_rows(db, run_id)
    assert (batch.status, batch.attempts, batch.error) == (BatchStatus.PROCESSING, 2, None)
    run = run_row(db, run_id)
    assert (run.synced, run.failed, run.store_calls, run.batches_pending) == (0, 0, 0, 1)
    assert run.finished_at is None

    assert _finish(db, alive, PushOutcome(synced=3, store_calls=1)) == []
    assert run_row(db, run_id).synced == 3


def test_a_worker_whose_lease_was_taken_writes_nothing_to_the_store_or_the_batch(
    service: Context, db: sessionmaker[Session], vault: Vault
) -> None:
    """Fencing: a worker paused past its lease (a long GC, a network partition) comes
    back after the batch was taken; its token no longer matches, so it neither writes
    the store nor records its outcome over the new holder's."""
    with sandbox_stack(db, vault, "bigcommerce", items=40, drift=0.5) as stack:
        run_id, [batch_id] = prepared_run(service, stack.site_id)
        drifted = stack.differing()
        paused = _claimed(db, batch_id, delivery="task-1")
        lapse_leases(db, [batch_id])
        holder = _claimed(db, batch_id, delivery="task-2")

        with pytest.raises(StaleClaim):
            sync_batch(service, paused)
        assert stack.differing() == drifted
        assert renew_lease(db, paused, 60) is False

        sync_batch(service, holder)
        assert stack.differing() == set()

    [batch] = batch_rows(db, run_id)
    assert (batch.status, batch.attempts, batch.synced) == (
        BatchStatus.COMPLETED,
        2,
        len(drifted),
    )
    run = run_row(db, run_id)
    assert (run.status, run.synced, run.unchanged) == (
        RunStatus.COMPLETED,
        len(drifted),
        40 - len(drifted),
    )


def test_finished_batches_add_up_on_their_run_and_the_last_one_closes_it(
    db: sessionmaker[Session], site_id: int, subscriber: None
) -> None:
    run_id, (first_id, second_id) = run_with_batches(db, site_id, SKUS[:2], SKUS[2:])
    first = PushOutcome(synced=1, stale=1, store_calls=1)
    second = PushOutcome(unchanged=0, failed=1, store_calls=2, failures={SKUS[2]: "refused"})

    assert _finish(db, _claimed(db, first_id), first) == []
    halfway = run_row(db, run_id)
    assert (halfway.synced, halfway.unchanged, halfway.batches_pending) == (1, 1, 1)
    assert halfway.finished_at is None
    deliveries = _finish(db, _claimed(db, second_id), second)

    run = run_row(db, run_id)
    # A stale reading counts as unchanged: the store already holds a newer value.
    assert (run.synced, run.unchanged, run.failed, run.store_calls) == (1, 1, 1, 3)
    assert (run.status, run.batches_pending) == (RunStatus.COMPLETED, 0)
    assert run.finished_at is not None
    assert topics(db, deliveries) == [lifecycle.COMPLETED]
    batches = batch_rows(db, run_id)
    assert [(b.status, b.synced, b.unchanged, b.failed, b.store_calls) for b in batches] == [
        (BatchStatus.COMPLETED, 1, 1, 0, 1),
        (BatchStatus.COMPLETED, 0, 0, 1, 2),
    ]
    assert [b.failures for b in batches] == [None, {SKUS[2]: "refused"}]
    assert all(b.finished_at is not None for b in batches)


def test_a_batch_that_gives_up_fails_all_its_skus_and_its_run(
    db: sessionmaker[Session], site_id: int, subscriber: None
) -> None:
    run_id, [batch_id] = run_with_batches(db, site_id, SKUS)

    deliveries = fail_batch(db, _claimed(db, batch_id), "TransientError: gave up")

    [batch] = batch_rows(db, run_id)
    assert (batch.status, batch.failed, batch.error) == (
        BatchStatus.FAILED,
        3,
        "TransientError: gave up",
    )
    run = run_row(db, run_id)
    assert (run.status, run.failed, run.error) == (
        RunStatus.FAILED,
        3,
        "1 of 1 batches failed; first: TransientError: gave up",
    )
    assert topics(db, deliveries) == [lifecycle.FAILED]


def test_skus_the_erp_never_had_fail_alone_and_the_rest_is_written(
    service: Context, db: sessionmaker[Session], vault: Vault
) -> None:
    with sandbox_stack(db, vault, "bigcommerce", items=40, drift=0.5) as stack:
        gone = sorted(stack.differing())[:2]
        stack.delete_in_erp(*gone)
        run_id, [batch_id] = prepared_run(service, stack.site_id)
        store_before = stack.store_stock()
        drifted = stack.differing() - set(gone)

        sync_batch(service, _claimed(db, batch_id))

        store_after = stack.store_stock()
        left = stack.differing()

    assert left == set(gone)
    assert {sku: store_after[sku] for sku in gone} == {sku: store_before[sku] for sku in gone}
    [batch] = batch_rows(db, run_id)
    assert batch.failures == {sku: NEVER_IN_ERP for sku in gone}
    assert (batch.status, batch.synced, batch.unchanged, batch.failed) == (
        BatchStatus.COMPLETED,
        len(drifted),
        40 - 2 - len(drifted),
        2,
    )
    run = run_row(db, run_id)
    assert (run.status, run.synced, run.failed) == (RunStatus.COMPLETED, len(drifted), 2)


def _rerun_after_deleting(
    service: Context, db: sessionmaker[Session], stack: Stack, skus: list[str]
) -> int:
    """Sync the site once, delete `skus` in the ERP, sync again; the second run's id."""
    _, [batch_id] = prepared_run(service, stack.site_id)
    sync_batch(service, _claimed(db, batch_id))
    stack.delete_in_erp(*skus)
    run_id, [batch_id] = prepared_run(service, stack.site_id)
    sync_batch(service, _claimed(db, batch_id))
    return run_id


def test_skus_the_erp_had_and_deleted_are_written_as_zero(
    service: Context, db: sessionmaker[Session], vault: Vault
) -> None:
    with sandbox_stack(db, vault, "bigcommerce", items=40, drift=0.0) as stack:
        gone = sorted(sku for sku, quantity in stack.store_stock().items() if quantity)[:2]
        run_id = _rerun_after_deleting(service, db, stack, gone)
        store = stack.store_stock()
    assert {sku: store[sku] for sku in gone} == dict.fromkeys(gone, 0)
    [batch] = batch_rows(db, run_id)
    assert (batch.synced, batch.unchanged, batch.failed, batch.failures) == (2, 38, 0, None)


def test_a_batch_the_erp_lists_none_of_writes_nothing(
    service: Context, db: sessionmaker[Session], vault: Vault
) -> None:
    """What a source pointed at the wrong company looks like: not a reason to zero."""
    with sandbox_stack(db, vault, "bigcommerce", items=5, drift=0.0) as stack:
        before = stack.store_stock()
        run_id = _rerun_after_deleting(service, db, stack, sorted(before))
        assert stack.store_stock() == before
    [batch] = batch_rows(db, run_id)
    assert batch.failed == 5 and batch.failures == dict.fromkeys(before, ERP_LISTS_NONE)


@pytest.mark.parametrize("broker_down", [False, True])
def test_a_finished_batch_queues_its_runs_next_or_gives_its_turn_back_if_the_broker_is_down(
    service: Context,
    broker: RecordingBroker,
    db: sessionmaker[Session],
    site_id: int,
    broker_down: bool,
) -> None:
    """The next batch is published once the finished one is recorded. With the broker
    down it is marked waiting again, so the sweep publishes it once the broker is back
    (sync/recovery.py `fill_windows`), rather than the run's window being held for
    STUCK_BATCH_MINUTES by a message that never left."""
    _, ids = run_with_batches(db, site_id, ["A"], ["B"], ["C"], published=False)
    set_rows(db, SyncBatch, ids[:2], published_at=func.now())
    claim = _claimed(db, ids[0])
    _finish(db, claim, PushOutcome(synced=1, store_calls=1))
    broker.fails_after = 0 if broker_down else None

    if broker_down:
        with pytest.raises(Unavailable):
            queue_next(service, claim)
    else:
        queue_next(service, claim)

    assert broker.sent("batch") == ([] if broker_down else [ids[2]])
    published = [batch.published_at is not None for batch in batch_rows(db, claim.run_id)]
    assert published == [True, True, not broker_down]


def test_a_batch_whose_message_left_holds_no_lease(
    service: Context, broker: RecordingBroker, db: sessionmaker[Session], site_id: int
) -> None:
    """Once published, a batch waits its turn in the queue as long as the queue takes,
    and is not taken for lost; a retry lease taken meanwhile by a quick first attempt
    is its own and stays."""
    run_id, ids = run_with_batches(db, site_id, ["A"], ["B"], published=False)
    with transaction(db) as session:
        marked = fill_window(session, run_id, Settings()).publish
    with transaction(db) as session:
        claim = claim_batch(session, ids[1], delivery="quick")
    assert claim is not None
    release_batch(db, claim, "HTTP 503", retry_lease=600)

    publish(service, [(batch_id, "manual") for batch_id in marked])

    assert broker.sent("batch") == ids
    leases = {batch.id: batch.lease_expires_at for batch in batch_rows(db, run_id)}
    assert leases[ids[0]] is None and leases[ids[1]] is not None
    set_rows(db, SyncBatch, ids, published_at=func.now() - timedelta(hours=1))
    assert sweep_batches(db) == []


def test_a_publish_cut_short_by_the_broker_keeps_the_batches_it_sent_in_flight(
    service: Context, broker: RecordingBroker, db: sessionmaker[Session], site_id: int
) -> None:
    """The broker goes down after the first of two messages: only the one that never
    left waits for the sweep again. Marking the sent one waiting too (fails on
    f45a98b) let the sweep publish it a second time and the run's window count one
    batch fewer in flight than it had."""
    run_id, ids = run_with_batches(db, site_id, ["A"], ["B"], ["C"], published=False)
    with transaction(db) as session:
        turn = fill_window(session, run_id, Settings(batches_in_flight=2)).publish
    broker.fails_after = 1

    with pytest.raises(Unavailable):
        publish(service, [(batch_id, "manual") for batch_id in turn])

    assert broker.sent("batch") == [ids[0]]
    rows = batch_rows(db, run_id)
    assert [row.published_at is not None for row in rows] == [True, False, False]
    assert rows[0].lease_expires_at is None  # out: waits its turn in the queue
