"""Maintenance: stuck batches come back, lost messages are republished, stuck runs
fail and say so, old webhook-log rows are purged, old delivery ids forgotten."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from celery import Celery
from sqlalchemy import func, select, text
from sqlalchemy.orm import Session, sessionmaker

from models import (
    BatchStatus,
    EventDelivery,
    RunStatus,
    SyncBatch,
    WebhookDelivery,
    WebhookLog,
    WebhookStatus,
)
from models.crypto import Vault
from models.db import transaction
from settings import Settings
from sync import lifecycle
from sync.batches import claim_batch, release_batch
from sync.context import Context
from sync.controls import pause_run
from sync.recovery import fail_stuck_runs, fill_windows, return_stuck_batches
from sync.retention import purge_delivery_memory, purge_webhook_log
from sync.runs import fill_window
from sync.subscribers import subscribe
from tests.factories import make_site, make_source
from tests.factories.sync import run_row as build_run
from tests.support.stack import (
    Stack,
    finished,
    lapse_leases,
    prepared_run,
    run_row,
    run_with_batches,
    sandbox_stack,
    set_rows,
    sweep_batches,
    wait_for,
    workers,
)
from workers.maintenance import RETURN_STUCK_BATCHES


def _age(db: sessionmaker[Session], table: str, column: str, minutes: int) -> None:
    with transaction(db) as session:
        session.execute(
            text(f"UPDATE {table} SET {column} = now() - make_interval(mins => :m)"),
            {"m": minutes},
        )


def _later(db: sessionmaker[Session], seconds: int) -> None:
    """As if `seconds` had passed on the database's clock for every batch."""
    with transaction(db) as session:
        session.execute(
            text(
                """
                UPDATE sync_batches SET
                    published_at = published_at - make_interval(secs => :s),
                    updated_at = updated_at - make_interval(secs => :s),
                    lease_expires_at = lease_expires_at - make_interval(secs => :s)
                """
            ),
            {"s": seconds},
        )


def test_a_batch_whose_lease_lapsed_comes_back_and_the_run_completes(
    sync_ctx: Context, celery_app: Celery, db: sessionmaker[Session], vault: Vault
) -> None:
    with sandbox_stack(db, vault, "shopify", items=1200) as stack:
        drifted = stack.differing()
        run_id, batch_ids = prepared_run(sync_ctx, stack.site_id)
        with transaction(db) as session:
            # A worker claimed the first batch and died; the others' messages were lost.
            assert claim_batch(session, batch_ids[0]) is not None
        lapse_leases(db, batch_ids[:1])
        _age(db, "sync_batches", "updated_at", 31)
        with workers(celery_app):
            celery_app.send_task(RETURN_STUCK_BATCHES, queue="maintenance")
            wait_for(lambda: finished(db, run_id), what="the run")
        assert stack.differing() == set()

    run = run_row(db, run_id)
    assert (run.status, run.synced, run.unchanged) == (
        RunStatus.COMPLETED,
        len(drifted),
        1200 - len(drifted),
    )


def test_only_batches_whose_lease_lapsed_on_the_database_clock_come_back(
    sync_ctx: Context, db: sessionmaker[Session], vault: Vault
) -> None:
    """A live lease is left alone whatever the sweeping host's clock says (the sweep
    reads none: every time is the database's). A returned batch is returned once."""
    with sandbox_stack(db, vault, "shopify", items=1000) as stack:
        run_id, (dead, alive) = prepared_run(sync_ctx, stack.site_id)
    with transaction(db) as session:
        claim_batch(session, dead)
        claim_batch(session, alive)
    lapse_leases(db, [dead])

    assert (sweep_batches(db), sweep_batches(db)) == ([(dead, "manual")], [])
    with db() as session:
        rows = session.execute(
            select(SyncBatch.id, SyncBatch.status, SyncBatch.error)
            .where(SyncBatch.run_id == run_id)
            .order_by(SyncBatch.id)
        ).all()
    assert [tuple(row) for row in rows] == [
        (dead, BatchStatus.QUEUED, "returned: its lease lapsed (worker lost)"),
        (alive, BatchStatus.PROCESSING, None),
    ]


def test_two_sweepers_at_once_return_a_lapsed_lease_once(
    sync_ctx: Context, db: sessionmaker[Session], vault: Vault
) -> None:
    """Beat on two hosts (or a sweep still running when the next one starts): the
    second skips the rows the first holds, then finds them queued."""
    with sandbox_stack(db, vault, "shopify", items=300) as stack:
        _, (batch,) = prepared_run(sync_ctx, stack.site_id)
    with transaction(db) as session:
        claim_batch(session, batch)
    lapse_leases(db, [batch])

    with transaction(db) as first:
        by_first = return_stuck_batches(first, 30)
        with transaction(db) as second:
            during = return_stuck_batches(second, 30)

    assert (by_first.batches, during.batches, sweep_batches(db)) == ([(batch, "manual")], [], [])


def test_a_retry_lost_with_its_worker_is_published_again_once_its_lease_lapses(
    sync_ctx: Context, db: sessionmaker[Session], vault: Vault
) -> None:
    """A batch released for its retry waits in the dead worker's memory: published
    again once the retry was due plus a lease, not after STUCK_BATCH_MINUTES."""
    with sandbox_stack(db, vault, "shopify", items=300) as stack:
        _, (batch,) = prepared_run(sync_ctx, stack.site_id)
    with transaction(db) as session:
        claim = claim_batch(session, batch)
    assert claim is not None
    release_batch(db, claim, "TransientError: HTTP 429", retry_lease=70)
    assert sweep_batches(db) == []

    lapse_leases(db, [batch])
    assert (sweep_batches(db), sweep_batches(db)) == ([(batch, "manual")], [])


def test_a_paused_runs_lapsed_batches_return_to_the_queue_but_wait_for_resume(
    sync_ctx: Context, db: sessionmaker[Session], vault: Vault
) -> None:
    with sandbox_stack(db, vault, "shopify", items=300) as stack:
        run_id, (batch,) = prepared_run(sync_ctx, stack.site_id)
    with transaction(db) as session:
        claim_batch(session, batch)
        pause_run(session, run_id)
    lapse_leases(db, [batch])
    with transaction(db) as session:
        returned = return_stuck_batches(session, 30)
    assert (returned.batches, returned.held) == ([], 1)


def test_a_run_without_progress_fails_and_reports_it(
    sync_ctx: Context, db: sessionmaker[Session], vault: Vault
) -> None:
    with sandbox_stack(db, vault, "shopify", items=600) as stack:
        subscribe(sync_ctx, "http://127.0.0.1:9/hook")
        run_id, _ = prepared_run(sync_ctx, stack.site_id)
    now = datetime.now(UTC)
    with transaction(db) as session:
        assert fail_stuck_runs(session, now, 120) == ([], [])
    with transaction(db) as session:
        runs, deliveries = fail_stuck_runs(session, now + timedelta(minutes=121), 120)

    run = run_row(db, run_id)
    assert runs == [run_id] and run.status == RunStatus.FAILED
    assert run.error == "no progress for 120 minutes" and run.skipped == 600
    with db() as session:
        [delivery] = [session.get_one(EventDelivery, d) for d in deliveries]
        assert delivery.topic == lifecycle.FAILED
        assert delivery.payload["data"]["error"] == run.error


def test_webhook_log_rows_past_retention_are_purged(db: sessionmaker[Session]) -> None:
    now = datetime.now(UTC)
    with transaction(db) as session:
        session.add_all(
            WebhookLog(
                provider="shopify",
                status=WebhookStatus.PROCESSED,
                received_at=now - timedelta(days=age),
            )
            for age in (0, 89, 91, 400)
        )
    assert purge_webhook_log(db, now, 90) == 2
    with db() as session:
        assert session.scalar(select(func.count()).select_from(WebhookLog)) == 2


def test_delivery_ids_past_their_ttl_are_forgotten(db: sessionmaker[Session]) -> None:
    """So the memory holds about a TTL's worth of deliveries, not every id ever seen."""
    now = datetime.now(UTC)
    with transaction(db) as session:
        session.add_all(
            WebhookDelivery(
                provider="shopify",
                owner_id=1,
                delivery_id=f"seen-{age}-h-ago",
                seen_at=now - timedelta(hours=age),
                log_id=age,
            )
            for age in (0, 23, 25, 1000)
        )
    assert purge_delivery_memory(db, now, 86_400) == 2
    with db() as session:
        assert sorted(session.scalars(select(WebhookDelivery.delivery_id))) == [
            "seen-0-h-ago",
            "seen-23-h-ago",
        ]


def test_the_maintenance_tasks_are_registered(celery_app: Celery) -> None:
    celery_app.loader.import_default_modules()
    assert {
        "workers.maintenance.return_stuck_batches",
        "workers.maintenance.fail_stuck_runs",
        "workers.maintenance.purge_webhook_log",
    } <= set(celery_app.tasks)


def _swept_to_the_end(
    celery_app: Celery, db: sessionmaker[Session], stack: Stack, run_id: int, drifted: set[str]
) -> None:
    """One maintenance sweep through a real worker, after which the run completes with
    every drifted SKU synced."""
    with workers(celery_app):
        celery_app.send_task(RETURN_STUCK_BATCHES, queue="maintenance")
        wait_for(lambda: finished(db, run_id), what="the run")
    assert stack.differing() == set()
    run = run_row(db, run_id)
    assert (run.status, run.synced) == (RunStatus.COMPLETED, len(drifted))


def test_a_run_whose_start_task_was_lost_is_started_again_and_completes(
    sync_ctx: Context, celery_app: Celery, db: sessionmaker[Session], vault: Vault
) -> None:
    """The run committed, then its process died before publishing its start: the
    maintenance task publishes the start, so the run neither holds its site (one live
    run per site) nor waits hours for the stuck-run check."""
    with sandbox_stack(db, vault, "shopify", items=600) as stack:
        drifted = stack.differing()
        with transaction(db) as session:
            run_id = build_run(session, stack.site_id).id  # queued, never published
        with transaction(db) as session:
            assert return_stuck_batches(session, 30).starts == []
        _age(db, "sync_runs", "updated_at", 31)
        _swept_to_the_end(celery_app, db, stack, run_id, drifted)


def test_batches_waiting_for_their_turn_are_not_taken_for_lost(
    db: sessionmaker[Session], vault: Vault
) -> None:
    """A run's batches beyond its window wait unpublished as long as the run takes
    (sync/runs.py `fill_window`): however old, the lost-message sweep leaves them to
    the window, which publishes each once."""
    with transaction(db) as session:
        site_id = make_site(session, vault, make_source(session, vault)).id
    _, ids = run_with_batches(db, site_id, ["A"], ["B"], ["C"], published=False)
    _age(db, "sync_batches", "updated_at", 31)

    assert sweep_batches(db) == []
    with transaction(db) as session:
        assert fill_windows(session, Settings(batches_in_flight=2)) == (
            [(ids[0], "manual"), (ids[1], "manual")],
            [],
        )
    with transaction(db) as session:
        assert fill_windows(session, Settings(batches_in_flight=2)) == ([], [])


def test_a_batch_whose_publisher_died_before_its_message_left_is_published_after_a_lease(
    db: sessionmaker[Session], vault: Vault
) -> None:
    """A process killed between marking a run's next batch published (its turn in the
    window) and publishing its message left the batch `queued`, counted in flight, with
    no message anywhere: the run went on one batch at a time through its last, then
    waited STUCK_BATCH_MINUTES (CI, test_fullsync_sigkill). Its turn holds a lease until
    the message is out; once that lapses the sweep publishes it, once."""
    with transaction(db) as session:
        site_id = make_site(session, vault, make_source(session, vault)).id
    run_id, ids = run_with_batches(db, site_id, ["A"], ["B"], ["C"], published=False)
    with transaction(db) as session:
        assert (
            fill_window(session, run_id, Settings(batches_in_flight=2)).publish == ids[:2]
        )  # then the process died

    assert sweep_batches(db) == []  # its publisher may still be publishing
    _later(db, Settings.batch_lease_seconds + 1)
    assert sweep_batches(db) == [(ids[0], "manual"), (ids[1], "manual")]
    assert sweep_batches(db) == []


def test_a_run_whose_next_batch_was_never_queued_is_filled_by_the_sweep_and_completes(
    sync_ctx: Context, celery_app: Celery, db: sessionmaker[Session], vault: Vault
) -> None:
    """A worker killed between recording its batch and queueing the run's next leaves
    the run short of its window; with nothing else in flight it would wait forever.
    The maintenance task fills the window, and each batch then queues its next."""
    with sandbox_stack(db, vault, "shopify", items=1200) as stack:
        drifted = stack.differing()
        run_id, batch_ids = prepared_run(sync_ctx, stack.site_id)
        assert len(batch_ids) == 3
        # As if its batches in flight had ended and no next batch was queued.
        set_rows(db, SyncBatch, batch_ids, published_at=None)
        _swept_to_the_end(celery_app, db, stack, run_id, drifted)


def test_runs_with_batches_or_finished_are_not_started_again(
    sync_ctx: Context, db: sessionmaker[Session], vault: Vault
) -> None:
    with sandbox_stack(db, vault, "shopify", items=600) as stack:
        prepared_run(sync_ctx, stack.site_id)  # running, batches cut
    with transaction(db) as session:
        other = make_site(session, vault, make_source(session, vault, name="other"), name="o")
        build_run(session, other.id, status=RunStatus.COMPLETED)
    _age(db, "sync_runs", "updated_at", 31)
    with transaction(db) as session:
        assert return_stuck_batches(session, 30).starts == []
