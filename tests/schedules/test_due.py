"""Which sites are due, with a frozen clock: time zones, DST days, a beat that was
down at 2 AM, and two beats racing."""

from __future__ import annotations

import logging
import threading
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import select, update
from sqlalchemy.orm import Session, sessionmaker

from models import RunStatus, Site, SyncRun
from models.crypto import Vault
from models.db import transaction
from schedules.due import due_date, start_due_runs
from settings import Settings
from sync.context import Context, build_context
from sync.errors import Unavailable
from sync.runs import LIVE, RunKind, close_run
from tests.factories import make_site, make_source
from tests.factories.sync import run_row
from tests.support.broker import RecordingBroker
from tests.support.locks import wait_until_blocked


@pytest.fixture
def ctx(settings: Settings, db: sessionmaker[Session]) -> Iterator[Context]:
    with build_context(settings, RecordingBroker()) as context:
        yield context


def _finish_runs(db: sessionmaker[Session]) -> None:
    """What the workers do between two nights: every live run ends."""
    with transaction(db) as session:
        session.execute(
            update(SyncRun).where(SyncRun.status.in_(LIVE)).values(status=RunStatus.COMPLETED)
        )


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


@pytest.mark.parametrize(
    ("zone", "now", "expected"),
    [
        ("UTC", utc(2026, 3, 8, 1, 59), None),
        ("UTC", utc(2026, 3, 8, 2, 0), date(2026, 3, 8)),
        ("UTC", utc(2026, 3, 8, 23, 59), date(2026, 3, 8)),
        # Spring forward: 01:59 EST is followed by 03:00 EDT; 02:00 never happens, so
        # the first beat at or after 03:00 local (07:00 UTC) starts the run.
        ("America/New_York", utc(2026, 3, 8, 6, 59), None),
        ("America/New_York", utc(2026, 3, 8, 7, 0), date(2026, 3, 8)),
        # Fall back: 01:00-01:59 happens twice (EDT, then EST); 02:00 EST once.
        ("America/New_York", utc(2026, 11, 1, 5, 30), None),
        ("America/New_York", utc(2026, 11, 1, 6, 30), None),
        ("America/New_York", utc(2026, 11, 1, 7, 0), date(2026, 11, 1)),
        # UTC+05:30: 02:00 in Kolkata is 20:30 UTC the day before.
        ("Asia/Kolkata", utc(2026, 11, 21, 20, 29), None),
        ("Asia/Kolkata", utc(2026, 11, 21, 20, 30), date(2026, 11, 22)),
    ],
)
def test_a_site_is_due_once_its_local_time_passes_its_hour(
    zone: str, now: datetime, expected: date | None
) -> None:
    assert due_date(now, zone, 2) == expected


#: When the tests' sites were added: before every night they test.
LONG_AGO = utc(2020, 1, 1)


def _sites(
    db: sessionmaker[Session], vault: Vault, *zones: str, added: datetime = LONG_AGO
) -> dict[str, int]:
    with transaction(db) as session:
        source = make_source(session, vault)
        return {
            zone: make_site(session, vault, source, name=zone, timezone=zone, created_at=added).id
            for zone in zones
        }


def _runs(db: sessionmaker[Session]) -> list[tuple[int, date]]:
    with db() as session:
        rows = session.execute(
            select(SyncRun.site_id, SyncRun.local_date).where(SyncRun.kind == RunKind.FULL)
        )
        return [(site, day) for site, day in rows if day is not None]


ZONES = ("UTC", "America/New_York", "Asia/Kolkata")


@pytest.mark.parametrize("day", [date(2026, 3, 8), date(2026, 11, 1)])
def test_beats_every_five_minutes_start_one_run_per_site_per_local_date(
    db: sessionmaker[Session], vault: Vault, ctx: Context, day: date
) -> None:
    """Two days of beats across a DST change, sites in three zones."""
    sites = _sites(db, vault, *ZONES)
    now = datetime(day.year, day.month, day.day, tzinfo=UTC) - timedelta(hours=12)
    first_start: dict[tuple[int, date], datetime] = {}
    while now < datetime(day.year, day.month, day.day, tzinfo=UTC) + timedelta(hours=36):
        for run_id in start_due_runs(ctx, now):
            with db() as session:
                run = session.get_one(SyncRun, run_id)
                first_start[(run.site_id, run.local_date or day)] = now
        _finish_runs(db)
        now += timedelta(minutes=5)

    runs = _runs(db)
    assert max(Counter(runs).values()) == 1
    new_york = sites["America/New_York"]
    assert first_start[(new_york, day)] == (
        utc(2026, 3, 8, 7, 0) if day.month == 3 else utc(2026, 11, 1, 7, 0)
    )
    assert first_start[(sites["Asia/Kolkata"], day)] == datetime.combine(
        day - timedelta(days=1), datetime.min.time(), UTC
    ) + timedelta(hours=20, minutes=30)
    assert first_start[(sites["UTC"], day)] == datetime.combine(day, datetime.min.time(), UTC) + (
        timedelta(hours=2)
    )


def test_a_beat_that_was_down_at_2_am_starts_the_run_when_it_returns_once(
    db: sessionmaker[Session], vault: Vault, ctx: Context
) -> None:
    sites = _sites(db, vault, "America/New_York")
    back_at_ten = utc(2026, 11, 1, 15, 0)  # 10:00 EST
    started = start_due_runs(ctx, back_at_ten)
    assert len(started) == 1
    _finish_runs(db)
    assert start_due_runs(ctx, back_at_ten + timedelta(minutes=5)) == []
    assert _runs(db) == [(sites["America/New_York"], date(2026, 11, 1))]


def test_inactive_sites_and_finished_manual_runs_do_not_count(
    db: sessionmaker[Session], vault: Vault, ctx: Context
) -> None:
    with transaction(db) as session:
        source = make_source(session, vault)
        asleep = make_site(session, vault, source, name="asleep", active=False, created_at=LONG_AGO)
        awake = make_site(session, vault, source, name="awake", created_at=LONG_AGO)
        run_row(session, awake.id, status=RunStatus.COMPLETED, local_date=date(2026, 11, 22))
    assert len(start_due_runs(ctx, utc(2026, 11, 22, 3, 0))) == 1
    assert [site for site, _ in _runs(db)] == [awake.id] and asleep.id != awake.id


def test_a_run_going_makes_the_nightly_wait_for_the_next_beat_after_it(
    db: sessionmaker[Session], vault: Vault, ctx: Context
) -> None:
    """One live run per site: the nightly run does not overlap an operator's."""
    site = _sites(db, vault, "UTC")["UTC"]
    with transaction(db) as session:
        run_row(session, site, status=RunStatus.RUNNING)
    assert start_due_runs(ctx, utc(2026, 11, 22, 3, 0)) == []
    assert _runs(db) == []
    _finish_runs(db)
    assert len(start_due_runs(ctx, utc(2026, 11, 22, 3, 5))) == 1
    assert _runs(db) == [(site, date(2026, 11, 22))]


def test_the_unique_index_settles_a_race_the_check_missed(
    db: sessionmaker[Session], vault: Vault, ctx: Context
) -> None:
    """Another beat inserted the run after this one looked: its insert fails, quietly."""
    site = _sites(db, vault, "UTC")["UTC"]
    now = utc(2026, 11, 22, 3, 0)
    other_beat = db()
    other_beat.begin()
    # Not committed yet: the other beat's insert holds the index entries.
    run_row(other_beat, site, kind=RunKind.FULL, trigger="beat", local_date=date(2026, 11, 22))
    result: list[list[int]] = []
    beat = threading.Thread(target=lambda: result.append(start_due_runs(ctx, now)), daemon=True)
    try:
        beat.start()
        wait_until_blocked(db)
        other_beat.commit()
    finally:
        other_beat.close()  # rolls back if the wait failed, so the beat never hangs
    beat.join(timeout=10)
    assert result == [[]]
    assert len(_runs(db)) == 1


def test_two_beats_at_once_start_one_run(
    db: sessionmaker[Session], vault: Vault, ctx: Context
) -> None:
    sites = _sites(db, vault, *ZONES)
    for day in range(10):
        now = utc(2026, 11, 10 + day, 23, 0)
        barrier = threading.Barrier(2)
        started: list[int] = []

        def beat(now: datetime, barrier: threading.Barrier, started: list[int]) -> None:
            barrier.wait()
            started.extend(start_due_runs(ctx, now))

        beats = [threading.Thread(target=beat, args=(now, barrier, started)) for _ in range(2)]
        for thread in beats:
            thread.start()
        for thread in beats:
            thread.join()
        assert len(started) == len(sites)
        _finish_runs(db)
    assert max(Counter(_runs(db)).values()) == 1


def test_a_nightly_start_the_broker_refused_is_tried_again_at_the_next_beat(
    db: sessionmaker[Session], vault: Vault, ctx: Context
) -> None:
    """Redis down at 02:00: the run is failed by name, and gives its date back."""
    site = _sites(db, vault, "UTC")["UTC"]
    assert isinstance(ctx.broker, RecordingBroker)
    ctx.broker.fails_after = 0
    with pytest.raises(Unavailable):
        start_due_runs(ctx, utc(2026, 11, 22, 2, 0))
    with db() as session:
        (failed,) = session.scalars(select(SyncRun)).all()
        assert (failed.status, failed.local_date) == (RunStatus.FAILED, None)
        assert failed.error is not None and failed.error.startswith("could not be queued")
    ctx.broker.fails_after = None
    assert len(start_due_runs(ctx, utc(2026, 11, 22, 2, 5))) == 1
    assert _runs(db) == [(site, date(2026, 11, 22))]


def test_a_paused_run_holding_the_nightly_is_a_warning(
    db: sessionmaker[Session], vault: Vault, ctx: Context, caplog: pytest.LogCaptureFixture
) -> None:
    """A forgotten pause holds the site's nightly runs until someone resumes or cancels
    it: say so louder than a run that will end by itself."""
    sites = _sites(db, vault, "UTC", "Asia/Kolkata")
    with transaction(db) as session:
        run_row(session, sites["UTC"], status=RunStatus.PAUSED)
        run_row(session, sites["Asia/Kolkata"], status=RunStatus.RUNNING)
    caplog.set_level(logging.INFO, logger="schedules.due")
    assert start_due_runs(ctx, utc(2026, 11, 22, 3, 0)) == []
    levels = {
        record.site: record.levelname  # type: ignore[attr-defined]
        for record in caplog.records
        if record.getMessage() == "schedules.due.not_started"
    }
    assert levels == {sites["UTC"]: "WARNING", sites["Asia/Kolkata"]: "INFO"}


def test_a_site_added_after_its_hour_waits_for_the_next_night(
    db: sessionmaker[Session], vault: Vault, ctx: Context
) -> None:
    """Added at 10:00 local, a site is not synced live a minute later: its first run
    is the next 02:00, which `sites add` announces (issue 21, item 6)."""
    site = _sites(db, vault, "Europe/Paris", added=utc(2026, 12, 4, 9, 0))["Europe/Paris"]

    assert start_due_runs(ctx, utc(2026, 12, 4, 9, 5)) == []
    assert start_due_runs(ctx, utc(2026, 12, 4, 22, 0)) == []
    started = start_due_runs(ctx, utc(2026, 12, 5, 1, 0))  # 02:00 in Paris

    assert _runs(db) == [(site, date(2026, 12, 5))] and len(started) == 1


def test_a_site_added_before_its_hour_runs_that_night(
    db: sessionmaker[Session], vault: Vault, ctx: Context
) -> None:
    site = _sites(db, vault, "UTC", added=utc(2026, 12, 4, 0, 30))["UTC"]

    start_due_runs(ctx, utc(2026, 12, 4, 2, 0))

    assert _runs(db) == [(site, date(2026, 12, 4))]


def test_a_site_added_without_initial_sync_is_previewed_nightly_until_a_live_run(
    db: sessionmaker[Session], vault: Vault, ctx: Context
) -> None:
    """`sites add --no-initial-sync`: each night a preview (writing nothing), once per
    local date; the first live run that completes makes the nights full runs again."""
    site = _sites(db, vault, "UTC")["UTC"]
    with transaction(db) as session:
        session.get_one(Site, site).awaiting_first_sync = True

    start_due_runs(ctx, utc(2026, 12, 4, 2, 0))
    _finish_runs(db)
    assert start_due_runs(ctx, utc(2026, 12, 4, 2, 5)) == []  # that night is done
    with db() as session:
        kinds = session.scalars(select(SyncRun.kind).order_by(SyncRun.id)).all()
    assert kinds == ["preview"]

    with transaction(db) as session:
        manual = run_row(session, site, kind="manual", status=RunStatus.RUNNING)
        close_run(session, manual)
    with db() as session:
        assert session.get_one(Site, site).awaiting_first_sync is False

    start_due_runs(ctx, utc(2026, 12, 5, 2, 0))
    with db() as session:
        kinds = session.scalars(select(SyncRun.kind).order_by(SyncRun.id)).all()
    assert kinds == ["preview", "manual", "full"]
