"""A nightly run ends with its night (sync/runs.py `hold_over`): what it has not
published by then is left for the next night, which takes the SKUs least recently
reconciled first. Issue 22, item 2: "run partially and finish the next window"."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func
from sqlalchemy.orm import Session, sessionmaker

from models import BatchStatus, EventDelivery, Item, RunStatus, SyncRun
from models.db import transaction
from sandbox.catalog import skus
from settings import Settings
from sync import lifecycle
from sync.batches import claim_batch, finish_batch
from sync.context import Context
from sync.controls import pause_run, resume_run
from sync.push import PushOutcome
from sync.recovery import fill_windows
from sync.runs import HELD_OVER, RunKind, cut_batches, fill_window
from tests.factories.sync import run_row as build_run
from tests.support.stack import batch_rows, run_row, set_rows, topics

#: One SKU a batch, two in flight, a 4-hour night.
NIGHT = Settings(batch_size=1, batches_in_flight=2, night_hours=4)


def _catalog(
    db: sessionmaker[Session], site_id: int, read_hours_ago: dict[str, float | None]
) -> None:
    """Active items of the site, each last reconciled so many hours ago (None: never)."""
    with transaction(db) as session:
        now = session.scalar(func.now())
        session.add_all(
            Item(
                site_id=site_id,
                sku=sku,
                product_id=sku,
                quantity=1,
                active=True,
                erp_read_at=None if ago is None else now - timedelta(hours=ago),
            )
            for sku, ago in read_hours_ago.items()
        )


def _nightly(
    db: sessionmaker[Session], site_id: int, started_hours_ago: float, kind: str = RunKind.FULL
) -> int:
    """A running run of the site's catalog, begun so long ago, and cut."""
    with transaction(db) as session:
        run_id = build_run(
            session,
            site_id,
            kind=kind,
            status=RunStatus.RUNNING,
            started_at=func.now() - timedelta(hours=started_hours_ago),
        ).id
    with transaction(db) as session:
        cut_batches(session, run_id, NIGHT)
    return run_id


def _finish(db: sessionmaker[Session], batch_id: int) -> list[int]:
    """The batch claimed and finished, one SKU synced; the deliveries if it closed its run."""
    with transaction(db) as session:
        claim = claim_batch(session, batch_id, delivery=f"d{batch_id}")
        assert claim is not None
        return finish_batch(session, claim, PushOutcome(synced=len(claim.skus)))


def _fill(db: sessionmaker[Session], run_id: int) -> tuple[list[int], list[int]]:
    with transaction(db) as session:
        window = fill_window(session, run_id, NIGHT)
    return window.publish, window.deliveries


def test_the_cut_takes_the_skus_least_recently_reconciled_first(
    db: sessionmaker[Session], site_id: int
) -> None:
    """Never reconciled first, then the oldest; SKU order breaks ties. A run stopped
    at its night's end so leaves those it just reconciled, and the next night begins
    with the rest."""
    a, b, c, d, e = skus(5)
    _catalog(db, site_id, {a: 1, b: None, c: 30, d: 30, e: 2})

    run_id = _nightly(db, site_id, started_hours_ago=0)

    assert [batch.skus for batch in batch_rows(db, run_id)] == [[b], [c], [d], [e], [a]]


@pytest.mark.parametrize(("kind", "ends"), [(RunKind.FULL, True), (RunKind.MANUAL, False)])
def test_only_a_nightly_run_has_an_end(
    db: sessionmaker[Session], site_id: int, kind: str, ends: bool
) -> None:
    _catalog(db, site_id, dict.fromkeys(skus(3)))

    run = run_row(db, _nightly(db, site_id, started_hours_ago=1, kind=kind))

    assert run.started_at is not None
    assert run.ends_by == (run.started_at + timedelta(hours=4) if ends else None)


def test_a_nightly_run_within_its_night_fills_its_window_as_any_run(
    db: sessionmaker[Session], site_id: int
) -> None:
    _catalog(db, site_id, dict.fromkeys(skus(4)))
    run_id = _nightly(db, site_id, started_hours_ago=3.9)
    ids = [batch.id for batch in batch_rows(db, run_id)]

    _finish(db, ids[0])

    assert _fill(db, run_id) == ([ids[2]], [])
    assert run_row(db, run_id).held_over == 0


def test_past_its_night_a_run_publishes_nothing_more_and_its_last_batch_closes_it(
    db: sessionmaker[Session], site_id: int, subscriber: None
) -> None:
    """Its batches in flight finish and count; those not published yet are cancelled,
    their SKUs skipped and held over; the run completes with what it synced, and its
    COMPLETED event says how many it left."""
    catalog = skus(5)
    _catalog(db, site_id, dict.fromkeys(catalog))
    run_id = _nightly(db, site_id, started_hours_ago=3.9)
    ids = [batch.id for batch in batch_rows(db, run_id)]
    set_rows(db, SyncRun, [run_id], ends_by=func.now() - timedelta(seconds=1))

    assert _finish(db, ids[0]) == []
    assert _fill(db, run_id) == ([], [])
    assert _finish(db, ids[1]) != []  # the last in flight: the run closes

    run = run_row(db, run_id)
    assert (run.status, run.synced, run.skipped, run.held_over) == (RunStatus.COMPLETED, 2, 3, 3)
    assert run.batches_pending == 0 and run.error is None
    batches = batch_rows(db, run_id)
    assert [batch.status for batch in batches] == [BatchStatus.COMPLETED] * 2 + [
        BatchStatus.CANCELLED
    ] * 3
    assert {batch.error for batch in batches[2:]} == {HELD_OVER}
    with db() as session:
        [event] = lifecycle.due_deliveries(session, timedelta(0))
        payload = session.get_one(EventDelivery, event).payload
    assert topics(db, [event]) == [lifecycle.COMPLETED]
    assert (payload["data"]["held_over"], payload["data"]["skipped"]) == (3, 3)


def test_a_run_cut_after_its_night_still_syncs_its_first_window(
    db: sessionmaker[Session], site_id: int
) -> None:
    """Its catalog's listing took the whole night: it still publishes its first window,
    the SKUs least recently reconciled, so each night moves the catalog on, and stops
    there."""
    _catalog(db, site_id, dict.fromkeys(skus(4)))

    run_id = _nightly(db, site_id, started_hours_ago=5)
    ids = [batch.id for batch in batch_rows(db, run_id)]

    assert [batch.published_at is not None for batch in batch_rows(db, run_id)] == [
        True,
        True,
        False,
        False,
    ]
    _finish(db, ids[0])
    assert _fill(db, run_id) == ([], [])
    assert run_row(db, run_id).held_over == 2


def test_a_nightly_run_resumed_after_its_night_closes_with_what_it_synced(
    service: Context, db: sessionmaker[Session], site_id: int, subscriber: None
) -> None:
    """Paused through the night's end with nothing in flight: resuming it publishes
    nothing, and closes it at once rather than leaving it running with no batch."""
    _catalog(db, site_id, dict.fromkeys(skus(4)))
    run_id = _nightly(db, site_id, started_hours_ago=3.9)
    ids = [batch.id for batch in batch_rows(db, run_id)]
    _finish(db, ids[0])
    _finish(db, ids[1])
    with transaction(db) as session:
        pause_run(session, run_id)
    set_rows(db, SyncRun, [run_id], ends_by=func.now() - timedelta(minutes=1))

    with transaction(db) as session:
        resumed = resume_run(session, run_id, NIGHT)

    assert resumed.batch_ids == [] and topics(db, resumed.deliveries) == [lifecycle.COMPLETED]
    run = run_row(db, run_id)
    assert (run.status, run.synced, run.held_over) == (RunStatus.COMPLETED, 2, 2)


def test_the_sweep_closes_a_run_whose_last_batch_ended_past_its_night_unannounced(
    db: sessionmaker[Session], site_id: int, subscriber: None
) -> None:
    """A process killed between its batch's end and the window's next fill: the sweep
    (workers/maintenance.py) holds the rest over and closes the run."""
    _catalog(db, site_id, dict.fromkeys(skus(3)))
    run_id = _nightly(db, site_id, started_hours_ago=3.9)
    ids = [batch.id for batch in batch_rows(db, run_id)]
    set_rows(db, SyncRun, [run_id], ends_by=func.now() - timedelta(seconds=1))
    _finish(db, ids[0])
    _finish(db, ids[1])  # then killed

    with transaction(db) as session:
        batches, deliveries = fill_windows(session, NIGHT)

    assert batches == [] and topics(db, deliveries) == [lifecycle.COMPLETED]
    assert (run_row(db, run_id).status, run_row(db, run_id).held_over) == (
        RunStatus.COMPLETED,
        1,
    )
    assert batch_rows(db, run_id)[2].status == BatchStatus.CANCELLED
