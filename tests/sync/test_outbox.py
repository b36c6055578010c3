"""The outbox sweeper on real PostgreSQL: what it republishes, and what it leaves."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import insert, select
from sqlalchemy.orm import Session, sessionmaker

from models import WebhookLog, WebhookStatus
from sync.context import Context
from sync.outbox import QUEUED_TIMEOUT, sweep
from tests.support.broker import RecordingBroker

NOW = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)


def _row(db: sessionmaker[Session], status: WebhookStatus, queued_age: timedelta | None) -> int:
    with db.begin() as session:
        return session.execute(
            insert(WebhookLog)
            .values(
                provider="shopify",
                status=status,
                received_at=NOW - timedelta(hours=1),
                queued_at=NOW - queued_age if queued_age else None,
            )
            .returning(WebhookLog.id)
        ).scalar_one()


def _queued_at(db: sessionmaker[Session]) -> dict[int, datetime | None]:
    with db() as session:
        return dict(session.execute(select(WebhookLog.id, WebhookLog.queued_at)).all())  # type: ignore[arg-type]


def test_lost_queued_rows_are_published_again_and_nothing_else(
    db: sessionmaker[Session], service: Context, broker: RecordingBroker
) -> None:
    lost = _row(db, WebhookStatus.QUEUED, QUEUED_TIMEOUT * 2)
    live = _row(db, WebhookStatus.QUEUED, timedelta(minutes=1))
    waiting = _row(db, WebhookStatus.RECEIVED, None)  # the relay's, not the sweeper's
    done = _row(db, WebhookStatus.PROCESSED, QUEUED_TIMEOUT * 2)
    assert sweep(service, now=NOW) == 1
    assert broker.sent("event") == [lost]
    assert _queued_at(db)[lost] == NOW
    assert sweep(service, now=NOW) == 0  # not again until it is overdue again
    assert {live, waiting, done}.isdisjoint(broker.sent("event"))


def test_a_broker_still_down_leaves_the_rest_due(
    db: sessionmaker[Session], service: Context, broker: RecordingBroker
) -> None:
    ids = [_row(db, WebhookStatus.QUEUED, QUEUED_TIMEOUT * 2) for _ in range(3)]
    broker.fails_after = 1  # the first goes out, then the broker is down
    assert sweep(service, now=NOW) == 1
    broker.fails_after = None
    assert sweep(service, now=NOW) == 2  # the two left are still due
    assert broker.sent("event") == ids
