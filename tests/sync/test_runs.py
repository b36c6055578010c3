"""Where a run starts and its life in the database (sync/runs.py), called directly:
the refusals of `start_run`, what it queues, and begin, cut, close and fail."""

from __future__ import annotations

import random
import threading
from datetime import date, timedelta
from typing import Any

import pytest
from sqlalchemy import func, select, update
from sqlalchemy.orm import Session, sessionmaker

from models import BatchStatus, Item, RunStatus, Site, SyncBatch, SyncRun
from models.crypto import Vault
from models.db import transaction
from sandbox.catalog import skus
from settings import Settings
from sync import lifecycle
from sync.batches import claim_batch
from sync.context import Context
from sync.errors import AlreadyRunning, Conflict, NotFound, Unavailable
from sync.runs import (
    LIVE,
    RunKind,
    begin_run,
    close_run,
    cut_batches,
    fail_run,
    fill_window,
    start_all,
    start_each,
    start_run,
)
from tests.factories import make_site
from tests.factories.sync import run_row as build_run
from tests.support.broker import RecordingBroker
from tests.support.locks import wait_until_blocked
from tests.support.stack import (
    LEASE,
    START,
    batch_rows,
    run_row,
    run_with_batches,
    set_rows,
    topics,
)

#: Batches a run keeps in flight in these tests (Settings.batches_in_flight).
WINDOW = 2
#: Batches of 3 SKUs, a window of WINDOW.
CUTTING = Settings(batch_size=3, batches_in_flight=WINDOW)


def _runs(db: sessionmaker[Session]) -> list[SyncRun]:
    with db() as session:
        return list(session.scalars(select(SyncRun).order_by(SyncRun.id)))


def test_a_start_commits_a_queued_run_then_queues_its_start_task(
    service: Context, broker: RecordingBroker, db: sessionmaker[Session], site_id: int
) -> None:
    run_id = start_run(service, site_id, trigger="cli")

    run = run_row(db, run_id)
    assert (run.site_id, run.kind, run.trigger, run.status) == (
        site_id,
        RunKind.MANUAL,
        "cli",
        RunStatus.QUEUED,
    )
    assert broker.queued == [("start_run", run_id, "manual")]


def test_a_start_is_refused_for_a_missing_or_deactivated_site(
    service: Context, broker: RecordingBroker, db: sessionmaker[Session], site_id: int
) -> None:
    with pytest.raises(NotFound, match=r"^no site 999$"):
        start_run(service, 999)
    set_rows(db, Site, [site_id], active=False)
    with pytest.raises(Conflict, match=rf"^site {site_id} is deactivated$"):
        start_run(service, site_id)
    assert (_runs(db), broker.queued) == ([], [])


def test_a_start_racing_the_sites_removal_is_not_found_not_a_database_error(
    service: Context, broker: RecordingBroker, db: sessionmaker[Session], site_id: int
) -> None:
    """Before, the start read the site, then its INSERT waited on the removal's lock and
    failed the foreign key when it committed: an IntegrityError (a 500, a crashed heal)."""
    removing = db()
    removing.begin()
    removing.delete(removing.get_one(Site, site_id))
    removing.flush()  # deleted, not committed: holds the row
    outcome: list[object] = []

    def start() -> None:
        try:
            outcome.append(start_run(service, site_id))
        except Exception as refusal:
            outcome.append(refusal)

    starting = threading.Thread(target=start, daemon=True)
    try:
        starting.start()
        wait_until_blocked(db)
        removing.commit()
    finally:
        removing.close()
    starting.join(timeout=10)
    assert len(outcome) == 1 and isinstance(outcome[0], NotFound), outcome
    assert broker.queued == []


def test_runs_started_for_automation_go_on_past_a_site_removed_meanwhile(
    service: Context, broker: RecordingBroker, db: sessionmaker[Session], site_id: int
) -> None:
    """Before, a heal, a lost feed or a `collection` notice stopped at a site removed
    since its list was read (`NotFound`), and the sites after it got no run."""
    started, refused = start_each(service, [999, site_id], "heal")

    assert refused == ["no site 999"]
    assert [run.id for run in _runs(db)] == started and len(started) == 1


@pytest.mark.parametrize("status", LIVE)
def test_a_site_with_a_live_run_is_refused_naming_that_run(
    service: Context,
    broker: RecordingBroker,
    db: sessionmaker[Session],
    site_id: int,
    status: RunStatus,
) -> None:
    with transaction(db) as session:
        live = build_run(session, site_id, status=status).id

    with pytest.raises(AlreadyRunning) as refused:
        start_run(service, site_id)

    assert refused.value.run_id == live
    assert refused.value.message == f"site {site_id} already has run {live} {status}"
    assert [run.id for run in _runs(db)] == [live]
    assert broker.queued == []


def test_one_nightly_run_per_site_and_local_date(
    service: Context, db: sessionmaker[Session], site_id: int
) -> None:
    night = date(2026, 11, 2)
    first = start_run(service, site_id, kind=RunKind.FULL, local_date=night)
    set_rows(db, SyncRun, [first], status=RunStatus.COMPLETED)

    with pytest.raises(Conflict) as refused:
        start_run(service, site_id, kind=RunKind.FULL, local_date=night)
    # Not "already running": the first run is over, the date is what is taken.
    assert not isinstance(refused.value, AlreadyRunning)
    assert refused.value.message == f"site {site_id} already has its nightly run for 2026-11-02"

    start_run(service, site_id, kind=RunKind.FULL, local_date=date(2026, 11, 3))
    assert [(run.local_date, run.status) for run in _runs(db)] == [
        (night, RunStatus.COMPLETED),
        (date(2026, 11, 3), RunStatus.QUEUED),
    ]


def test_a_start_the_broker_cannot_take_fails_its_run_and_frees_the_site(
    service: Context,
    broker: RecordingBroker,
    db: sessionmaker[Session],
    site_id: int,
    subscriber: None,
) -> None:
    broker.fails_after = 0
    with pytest.raises(Unavailable):
        start_run(service, site_id)

    [failed] = _runs(db)
    assert failed.status == RunStatus.FAILED and failed.finished_at is not None
    assert failed.error == "could not be queued: the broker cannot be reached (test)"
    with db() as session:
        # Recorded for the delivery sweep, which publishes it once the broker is back.
        due = lifecycle.due_deliveries(session, timedelta(0))
    assert topics(db, due) == [lifecycle.FAILED]

    broker.fails_after = None
    again = start_run(service, site_id)
    assert run_row(db, again).status == RunStatus.QUEUED
    assert broker.queued == [("start_run", again, "manual")]


def test_start_all_starts_idle_active_sites_and_reports_busy_ones(
    service: Context,
    broker: RecordingBroker,
    db: sessionmaker[Session],
    vault: Vault,
    site_id: int,
) -> None:
    with transaction(db) as session:
        source = session.get_one(Site, site_id).source
        busy = make_site(session, vault, source, name="busy").id
        make_site(session, vault, source, name="off", active=False)
        going = build_run(session, busy, status=RunStatus.RUNNING).id

    outcome = start_all(service, trigger="cli")

    [started] = outcome["started"]
    assert started["site_id"] == site_id
    assert outcome["skipped"] == [
        {"site_id": busy, "reason": f"site {busy} already has run {going} running"}
    ]
    assert broker.sent("start_run") == [started["run_id"]]
    assert run_row(db, started["run_id"]).trigger == "cli"


def test_beginning_a_run_twice_announces_it_once(
    db: sessionmaker[Session], site_id: int, subscriber: None
) -> None:
    with transaction(db) as session:
        run_id = build_run(session, site_id).id

    with transaction(db) as session:
        first = begin_run(session, run_id, START, LEASE)
    started_at = run_row(db, run_id).started_at
    with transaction(db) as session:
        # A start task retried after a failed catalog refresh, or queued again by resume.
        again = begin_run(session, run_id, START, LEASE)

    assert first is not None and again is not None
    assert (first.site_id, first.kind) == (site_id, "manual")
    assert topics(db, first.deliveries) == [lifecycle.STARTED]
    assert again.deliveries == []
    run = run_row(db, run_id)
    assert run.status == RunStatus.RUNNING
    assert started_at is not None and run.started_at == started_at


def test_one_start_task_at_a_time_lists_a_runs_catalog(
    db: sessionmaker[Session], site_id: int
) -> None:
    """The listing lease (sync/runs.py `begin_run`): another start task finding it held
    stops; its holder's retry (same task id) goes on; once lapsed, or the catalog
    listed, any start task goes on."""
    with transaction(db) as session:
        run_id = build_run(session, site_id).id

    def begins(holder: str) -> bool:
        with transaction(db) as session:
            return begin_run(session, run_id, holder, LEASE) is not None

    def set_run(**values: Any) -> None:
        with transaction(db) as session:
            session.execute(update(SyncRun).where(SyncRun.id == run_id).values(**values))

    assert begins("a")
    assert not begins("b")  # `resume`'s start, while "a" lists
    assert begins("a")  # "a" retried
    set_run(listing_until=func.now())
    assert begins("b")  # "a" killed, its lease lapsed
    assert run_row(db, run_id).listing_by == "b"
    set_run(catalog_listed_at=func.now())
    assert begins("c")  # nothing left to list: the read and the cut happen once


@pytest.mark.parametrize(
    "fields",
    [
        {"status": RunStatus.PAUSED},
        {"status": RunStatus.CANCELLED},
        {"status": RunStatus.FAILED},
        {"status": RunStatus.COMPLETED},
        {"status": RunStatus.RUNNING, "batches_total": 2},
    ],
    ids=["paused", "cancelled", "failed", "completed", "already-batched"],
)
def test_a_run_that_must_not_start_is_not_begun(
    db: sessionmaker[Session], site_id: int, fields: dict[str, Any]
) -> None:
    with transaction(db) as session:
        run_id = build_run(session, site_id, **fields).id
    with transaction(db) as session:
        assert begin_run(session, run_id, START, LEASE) is None
        assert begin_run(session, 999, START, LEASE) is None
    run = run_row(db, run_id)
    assert (run.status, run.started_at) == (fields["status"], None)


def _catalog(
    db: sessionmaker[Session], site_id: int, active: list[str], inactive: list[str]
) -> None:
    """Mirror rows inserted in no particular order: the cut sorts them."""
    rows = [(sku, True) for sku in active] + [(sku, False) for sku in inactive]
    random.Random(3).shuffle(rows)
    with transaction(db) as session:
        session.add_all(
            Item(site_id=site_id, sku=sku, product_id=sku, quantity=1, active=on)
            for sku, on in rows
        )


@pytest.mark.parametrize(("status", "published"), [("running", 2), ("paused", 0)])
def test_the_active_skus_are_cut_once_in_order_into_batches_of_the_size(
    db: sessionmaker[Session], site_id: int, status: RunStatus, published: int
) -> None:
    catalog = skus(8)
    _catalog(db, site_id, active=catalog[:4] + catalog[5:], inactive=[catalog[4]])
    with transaction(db) as session:
        run_id = build_run(session, site_id, status=status).id

    with transaction(db) as session:
        cut = cut_batches(session, run_id, CUTTING)
    with transaction(db) as session:
        again = cut_batches(session, run_id, CUTTING)

    batches = batch_rows(db, run_id)
    assert [batch.skus for batch in batches] == [
        catalog[0:3],
        [catalog[3], *catalog[5:7]],
        [catalog[7]],
    ]
    assert [batch.seq for batch in batches] == [0, 1, 2]
    assert {batch.status for batch in batches} == {BatchStatus.QUEUED}
    # A paused run is cut all the same, so resume has batches to queue; a running one
    # publishes its window's first batches, in order.
    assert cut.batch_ids == [batch.id for batch in batches]
    assert cut.publish == cut.batch_ids[:published]
    assert [batch.published_at is not None for batch in batches] == [True] * published + [False] * (
        3 - published
    )
    assert (again.batch_ids, again.publish, again.deliveries) == ([], [], [])
    run = run_row(db, run_id)
    assert (run.total, run.batches_total, run.batches_pending) == (7, 3, 3)
    assert run.finished_at is None


def test_an_empty_catalog_closes_the_run_at_once(
    db: sessionmaker[Session], site_id: int, subscriber: None
) -> None:
    _catalog(db, site_id, active=[], inactive=["SKU-000001"])
    with transaction(db) as session:
        run_id = build_run(session, site_id, status=RunStatus.RUNNING).id
    with transaction(db) as session:
        cut = cut_batches(session, run_id, CUTTING)

    assert cut.batch_ids == [] and cut.publish == []
    assert topics(db, cut.deliveries) == [lifecycle.COMPLETED]
    run = run_row(db, run_id)
    assert (run.status, run.total, run.batches_total) == (RunStatus.COMPLETED, 0, 0)
    assert run.finished_at is not None


@pytest.mark.parametrize(
    ("status", "second", "closed", "error", "topic"),
    [
        (RunStatus.RUNNING, BatchStatus.COMPLETED, RunStatus.COMPLETED, None, lifecycle.COMPLETED),
        (
            RunStatus.RUNNING,
            BatchStatus.FAILED,
            RunStatus.FAILED,
            "1 of 2 batches failed; first: HTTP 503",
            lifecycle.FAILED,
        ),
        # A cancelled run keeps its status; its subscribers hear it failed.
        (
            RunStatus.CANCELLED,
            BatchStatus.CANCELLED,
            RunStatus.CANCELLED,
            "cancelled by an operator",
            lifecycle.FAILED,
        ),
    ],
)
def test_a_run_is_closed_once_with_the_status_its_batches_earned(
    db: sessionmaker[Session],
    site_id: int,
    subscriber: None,
    status: RunStatus,
    second: BatchStatus,
    closed: RunStatus,
    error: str | None,
    topic: str,
) -> None:
    error_before = "cancelled by an operator" if status == RunStatus.CANCELLED else None
    run_id, (first_id, second_id) = run_with_batches(
        db, site_id, ["SKU-000001"], ["SKU-000002"], status=status, error=error_before
    )
    set_rows(db, SyncBatch, [first_id], status=BatchStatus.COMPLETED)
    set_rows(db, SyncBatch, [second_id], status=second, error="HTTP 503")

    with transaction(db) as session:
        deliveries = close_run(session, session.get_one(SyncRun, run_id))
    finished_at = run_row(db, run_id).finished_at
    with transaction(db) as session:
        assert close_run(session, session.get_one(SyncRun, run_id)) == []

    run = run_row(db, run_id)
    assert (run.status, run.error) == (closed, error)
    assert topics(db, deliveries) == [topic]
    assert finished_at is not None and run.finished_at == finished_at


def test_failing_a_run_cancels_its_queued_batches_and_counts_them_skipped(
    db: sessionmaker[Session], site_id: int, subscriber: None
) -> None:
    done, processing, waiting = ["SKU-000001"], ["SKU-000002"], ["SKU-000003", "SKU-000004"]
    run_id, (done_id, processing_id, _) = run_with_batches(db, site_id, done, processing, waiting)
    set_rows(db, SyncBatch, [done_id], status=BatchStatus.COMPLETED)
    set_rows(db, SyncBatch, [processing_id], status=BatchStatus.PROCESSING)
    set_rows(db, SyncRun, [run_id], batches_pending=2)

    with transaction(db) as session:
        deliveries = fail_run(session, run_id, "no progress for 120 minutes")
    with transaction(db) as session:
        assert fail_run(session, run_id, "again") == []

    run = run_row(db, run_id)
    assert (run.status, run.error) == (RunStatus.FAILED, "no progress for 120 minutes")
    assert (run.skipped, run.batches_pending) == (2, 1)
    assert run.finished_at is not None
    assert topics(db, deliveries) == [lifecycle.FAILED]
    # The batch still processing may finish and count; the run stays failed.
    assert [batch.status for batch in batch_rows(db, run_id)] == [
        BatchStatus.COMPLETED,
        BatchStatus.PROCESSING,
        BatchStatus.CANCELLED,
    ]


def test_a_finished_run_is_not_failed(db: sessionmaker[Session], site_id: int) -> None:
    run_id, _ = run_with_batches(db, site_id, ["SKU-000001"], status=RunStatus.COMPLETED)
    with transaction(db) as session:
        assert fail_run(session, run_id, "late") == []
    run = run_row(db, run_id)
    assert (run.status, run.error, run.skipped) == (RunStatus.COMPLETED, None, 0)
    assert [batch.status for batch in batch_rows(db, run_id)] == [BatchStatus.QUEUED]


def _fill(db: sessionmaker[Session], run_id: int, window: int = WINDOW) -> list[int]:
    with transaction(db) as session:
        return fill_window(session, run_id, Settings(batches_in_flight=window)).publish


def test_a_run_keeps_its_window_in_flight_and_publishes_the_next_in_order(
    db: sessionmaker[Session], site_id: int
) -> None:
    """Issue 22, item 4: a run's batches are published a window at a time, the next as
    one ends (completed or failed), never more than the window queued or processing."""
    run_id, ids = run_with_batches(db, site_id, *([sku] for sku in skus(6)), published=False)

    assert _fill(db, run_id) == ids[:2]
    assert _fill(db, run_id) == []  # full: both queued with their messages out
    set_rows(db, SyncBatch, [ids[0]], status=BatchStatus.PROCESSING)
    assert _fill(db, run_id) == []  # a batch processing is still in flight
    set_rows(db, SyncBatch, [ids[0]], status=BatchStatus.COMPLETED)
    assert _fill(db, run_id) == [ids[2]]
    # Two ending before either queued its next: the first to look fills both places.
    set_rows(db, SyncBatch, [ids[1]], status=BatchStatus.FAILED)
    set_rows(db, SyncBatch, [ids[2]], status=BatchStatus.COMPLETED)
    assert (_fill(db, run_id), _fill(db, run_id)) == (ids[3:5], [])
    set_rows(db, SyncBatch, ids[3:5], status=BatchStatus.COMPLETED)
    assert _fill(db, run_id) == [ids[5]]
    assert _fill(db, run_id, window=5) == []  # none left waiting
    assert all(batch.published_at is not None for batch in batch_rows(db, run_id))


@pytest.mark.parametrize("status", [RunStatus.PAUSED, RunStatus.CANCELLED, RunStatus.QUEUED])
def test_only_a_running_run_publishes_its_next_batches(
    db: sessionmaker[Session], site_id: int, status: RunStatus
) -> None:
    """A paused run's next batches wait for `resume` (sync/controls.py), which fills its
    window; a cancelled run's are cancelled."""
    run_id, _ = run_with_batches(db, site_id, ["SKU-000001"], status=status, published=False)
    assert _fill(db, run_id) == []
    assert [batch.published_at for batch in batch_rows(db, run_id)] == [None]


def test_a_batch_claimed_without_its_turn_counts_in_the_window(
    db: sessionmaker[Session], site_id: int
) -> None:
    """A message for a waiting batch (published by hand, or by an older release) is
    taken like any other: the claim counts the batch published, so the window never
    holds more than its size."""
    run_id, ids = run_with_batches(db, site_id, *([sku] for sku in skus(4)), published=False)
    with transaction(db) as session:
        assert claim_batch(session, ids[3], delivery="by-hand") is not None
    assert _fill(db, run_id) == [ids[0]]


def test_the_runs_running_share_the_batches_in_flight_each_at_least_two(
    db: sessionmaker[Session], vault: Vault, site_id: int
) -> None:
    """A run alone keeps `batches_in_flight` going, enough for every worker process;
    runs started together (a nightly wave, those still waiting for their start or
    listing included) share it, and each keeps at least LEAST_WINDOW so its store stays
    busy."""
    with transaction(db) as session:
        source = session.get_one(Site, site_id).source
        sites = [site_id] + [make_site(session, vault, source, name=f"{n}").id for n in (1, 2)]
    lone, ids = run_with_batches(db, sites[0], *([sku] for sku in skus(12)), published=False)
    assert _fill(db, lone, window=8) == ids[:8]

    second, more = run_with_batches(db, sites[1], *([sku] for sku in skus(12)), published=False)
    with transaction(db) as session:
        build_run(session, sites[2], status=RunStatus.QUEUED)  # its start is yet to come
    assert _fill(db, second, window=8) == more[:3]  # ceil(8 / 3 runs)
    assert _fill(db, second, window=3) == []
    set_rows(db, SyncBatch, more[:3], status=BatchStatus.COMPLETED)
    assert _fill(db, second, window=3) == more[3:5]  # at least 2
