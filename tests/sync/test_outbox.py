"""The outbox sweeper on real PostgreSQL: what it republishes, and what it leaves."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from redis import ConnectionError as RedisConnectionError
from sqlalchemy import insert, select
from sqlalchemy.orm import Session, sessionmaker

from models import WebhookLog, WebhookStatus
from sync.outbox import QUEUED_TIMEOUT, sweep

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


def test_lost_queued_rows_are_published_again_and_nothing_else(db: sessionmaker[Session]) -> None:
    lost = _row(db, WebhookStatus.QUEUED, QUEUED_TIMEOUT * 2)
    live = _row(db, WebhookStatus.QUEUED, timedelta(minutes=1))
    waiting = _row(db, WebhookStatus.RECEIVED, None)  # the relay's, not the sweeper's
    done = _row(db, WebhookStatus.PROCESSED, QUEUED_TIMEOUT * 2)
    published: list[int] = []
    assert sweep(db, published.append, now=NOW) == 1
    assert published == [lost]
    assert _queued_at(db)[lost] == NOW
    assert sweep(db, published.append, now=NOW) == 0  # not again until it is overdue again
    assert {live, waiting, done}.isdisjoint(published)


def test_a_broker_still_down_leaves_the_rest_due(db: sessionmaker[Session]) -> None:
    ids = [_row(db, WebhookStatus.QUEUED, QUEUED_TIMEOUT * 2) for _ in range(3)]
    published: list[int] = []

    def flaky(row_id: int) -> None:
        if published:
            raise RedisConnectionError("down")
        published.append(row_id)

    assert sweep(db, flaky, now=NOW) == 1
    assert sweep(db, published.append, now=NOW) == 2  # the two left are still due
    assert published == ids
