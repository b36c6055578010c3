"""Polling an ERP's stock-movement feed (sync/change_feed.py) against a fake feed: the
cursor and the logged event move together, a new source starts from now, a lost
cursor becomes full runs. The feeds themselves are tested on the sandboxes
(tests/connectors/), and the whole path in tests/functional/test_erp_feed.py."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from connectors.errors import CursorLost, PermanentError, TransientError
from connectors.types import ChangePage
from models import EventKind, Site, Source, SyncRun, WebhookLog, WebhookStatus
from models.crypto import Vault
from models.db import transaction
from sync import change_feed, sources
from sync.context import Context
from tests.factories import make_site, make_source
from tests.support.broker import RecordingBroker


class FakeFeed:
    """Pages by cursor: `pages[cursor]` is what a read from that cursor answers."""

    def __init__(self) -> None:
        self.pages: dict[str | None, ChangePage] = {None: ChangePage((), "10")}
        self.reads: list[str | None] = []
        self.lost = False
        self.refused = False

    def stock_changes(self, cursor: str | None) -> ChangePage:
        self.reads.append(cursor)
        if self.refused:
            raise PermanentError("fake: 403, the app may not read the ledger", status=403)
        if (self.lost and cursor is not None) or cursor == change_feed.RESTART:
            raise CursorLost(f"fake: cursor {cursor} is gone")
        return self.pages.get(cursor, ChangePage((), cursor or "10"))


@pytest.fixture
def feed(service: Context, monkeypatch: pytest.MonkeyPatch) -> FakeFeed:
    fake = FakeFeed()
    monkeypatch.setattr(Context, "source", lambda self, source: fake)
    return fake


@pytest.fixture
def source(db: sessionmaker[Session], vault: Vault) -> int:
    with transaction(db) as session:
        erp = make_source(session, vault)
        make_site(session, vault, erp)
        return erp.id


def _cursor(db: sessionmaker[Session], source_id: int) -> str | None:
    with db() as session:
        return session.get_one(Source, source_id).feed_cursor


def _events(db: sessionmaker[Session]) -> list[WebhookLog]:
    with db() as session:
        return list(session.scalars(select(WebhookLog).order_by(WebhookLog.id)))


def test_a_new_source_starts_watching_from_now(
    service: Context, feed: FakeFeed, source: int, db: sessionmaker[Session]
) -> None:
    assert change_feed.poll(service, source) == 0
    assert _cursor(db, source) == "10" and _events(db) == []


def test_movements_are_logged_once_with_the_cursor_moved_in_the_same_commit(
    service: Context, feed: FakeFeed, source: int, db: sessionmaker[Session]
) -> None:
    change_feed.poll(service, source)
    feed.pages["10"] = ChangePage(("B", "A"), "12", more=True)
    feed.pages["12"] = ChangePage(("A", "C"), "15")

    assert change_feed.poll(service, source) == 3
    (row,) = _events(db)
    assert (row.kind, row.status, row.source_id) == (
        EventKind.ERP_STOCK_MOVED,
        WebhookStatus.RECEIVED,
        source,
    )
    payload: Any = row.payload
    assert payload == {"skus": ["A", "B", "C"], "from": "10", "to": "15"}
    assert row.dedupe_key and _cursor(db, source) == "15"
    # Nothing new: no event, no write.
    assert change_feed.poll(service, source) == 0
    assert len(_events(db)) == 1 and feed.reads[-1] == "15"


def test_a_cursor_the_erp_lost_restarts_the_feed_and_runs_every_site(
    service: Context,
    feed: FakeFeed,
    source: int,
    db: sessionmaker[Session],
    broker: RecordingBroker,
) -> None:
    change_feed.poll(service, source)
    feed.lost = True
    feed.pages[None] = ChangePage((), "40")

    assert change_feed.poll(service, source) == 0

    # Watching again from the ERP's newest position, after a run that reads it all.
    assert _cursor(db, source) == "40" and feed.reads[-2:] == ["10", None]
    with db() as session:
        runs = session.scalars(select(SyncRun)).all()
    assert [r.trigger for r in runs] == ["feed"] and broker.sent("start_run") == [runs[0].id]


def test_a_lost_cursor_starts_no_run_of_a_site_awaiting_its_first_sync(
    service: Context, feed: FakeFeed, source: int, db: sessionmaker[Session]
) -> None:
    with transaction(db) as session:
        session.scalars(select(Site)).one().awaiting_first_sync = True
    change_feed.poll(service, source)
    feed.lost = True

    change_feed.poll(service, source)

    with db() as session:
        assert session.scalars(select(SyncRun)).all() == []


def test_a_source_moved_to_another_erp_account_restarts_its_feed_with_full_runs(
    service: Context, feed: FakeFeed, source: int, db: sessionmaker[Session]
) -> None:
    """Before, the old company's entry number was kept: `entryNumber gt N` in the new
    company showed nothing until it passed N, and its movements were lost."""
    change_feed.poll(service, source)
    sources.update_source(service, source, {"name": "renamed"})
    assert _cursor(db, source) == "10"

    changed = {
        "credentials": {
            "tenant_id": "t",
            "client_id": "c",
            "client_secret": "s",
            "company_id": "another",
        }
    }
    answer = sources.update_source(service, source, changed)
    assert _cursor(db, source) == change_feed.RESTART and "full runs" in answer["feed"]

    # The next poll restarts it, whichever process makes it: head, runs, then the cursor.
    feed.pages[None] = ChangePage((), "3")
    change_feed.poll(service, source)

    assert _cursor(db, source) == "3"
    with db() as session:
        (run,) = session.scalars(select(SyncRun)).all()
    assert run.trigger == "feed"


def test_a_refused_read_keeps_the_cursor_and_starts_no_run(
    service: Context, feed: FakeFeed, source: int, db: sessionmaker[Session]
) -> None:
    """Credentials revoked, or an app that may not read the ledger: every poll fails
    and says so, and none may reset the cursor or start full runs every 2 seconds."""
    change_feed.poll(service, source)
    feed.refused = True

    assert change_feed.poll_all(service) == {"sources": 1, "skus": 0, "failed": 1}

    assert _cursor(db, source) == "10"
    with db() as session:
        assert session.scalars(select(SyncRun)).all() == []


def test_sources_with_real_time_off_are_not_polled(
    service: Context, feed: FakeFeed, source: int, db: sessionmaker[Session]
) -> None:
    with transaction(db) as session:
        session.get_one(Source, source).webhooks_active = False

    assert change_feed.poll_all(service) == {"sources": 0, "skus": 0, "failed": 0}
    assert feed.reads == []


def test_a_poll_holding_the_lock_makes_another_a_no_op(
    service: Context, feed: FakeFeed, source: int
) -> None:
    lock = service.redis.lock(f"stocksync:feed:{source}", timeout=10)
    assert lock.acquire(blocking=False)
    try:
        assert change_feed.poll(service, source) == 0
        assert feed.reads == []
    finally:
        lock.release()


def test_beat_reads_a_source_once_per_its_erps_period(
    service: Context, feed: FakeFeed, source: int
) -> None:
    """Beat asks every 2 s; a source is read once per POLL_SECONDS of its ERP, on every
    host alike (the spacing is a Redis key)."""
    change_feed.poll_all(service)
    change_feed.poll_all(service)
    assert feed.reads == [None]
    spacing = service.redis.pttl(f"stocksync:feed:read:{source}")
    period = change_feed.POLL_SECONDS["businesscentral"]
    # Gone half a beat before the beat one period later (beats come a few ms late or
    # early), where a key held the whole period made every other beat miss: one read
    # every 4 s instead of 2.
    assert 0 < spacing <= (period - change_feed.BEAT_SECONDS / 2) * 1000
    service.redis.delete(f"stocksync:feed:read:{source}")  # the period has passed
    change_feed.poll_all(service)
    assert feed.reads == [None, "10"]


def test_a_nudge_reads_the_feed_now_and_waits_for_a_read_going_rather_than_skip_it(
    service: Context,
    feed: FakeFeed,
    source: int,
    db: sessionmaker[Session],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A read already going may have begun before the movement the nudge announces:
    skipping it, as beat's polls do, could leave the movement for the next poll."""
    change_feed.poll(service, source)
    feed.pages["10"] = ChangePage(("A",), "11")
    nudge = WebhookLog(provider="zoho", source_id=source, kind=EventKind.ERP_STOCK_NUDGE)
    lock = service.redis.lock(f"stocksync:feed:{source}", timeout=10)
    assert lock.acquire(blocking=False)
    monkeypatch.setattr(change_feed, "LOCK_WAIT_SECONDS", 0.2)
    try:
        with db() as session, pytest.raises(TransientError):
            change_feed.read_now(service, session, nudge)
    finally:
        lock.release()

    with db() as session:
        assert change_feed.read_now(service, session, nudge) == (
            "read the change feed now: 1 SKU(s) moved"
        )
    assert [row.payload for row in _events(db)] == [{"skus": ["A"], "from": "10", "to": "11"}]


def test_nudges_in_a_burst_cost_one_read_and_bring_the_next_poll_forward(
    service: Context, feed: FakeFeed, source: int, db: sessionmaker[Session]
) -> None:
    """A shop invoicing all day nudges without end: before, each nudge (one per 5 s
    window) read the feed, about 17,000 calls a day against Zoho's daily cap."""
    change_feed.poll(service, source)
    nudge = WebhookLog(provider="zoho", source_id=source, kind=EventKind.ERP_STOCK_NUDGE)
    due = f"stocksync:feed:read:{source}"

    with db() as session:
        first = change_feed.read_now(service, session, nudge)
        second = change_feed.read_now(service, session, nudge)

    assert first.startswith("read the change feed now") and len(feed.reads) == 2
    assert second.startswith("a nudged read ran moments ago")
    # The nudged read counted as the poll; the later nudge brought beat's next read
    # forward to when the nudge spacing ends, well inside Zoho's minute.
    assert 0 < service.redis.pttl(due) <= change_feed.NUDGE_SECONDS * 1000
