"""The outbox sweeper on real PostgreSQL: what it republishes, and what it leaves."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from redis import ConnectionError as RedisConnectionError
from sqlalchemy import insert, select
from sqlalchemy.orm import Session, sessionmaker

from models import WebhookLog, WebhookStatus
from sync.outbox import QUEUED_TIMEOUT, RECEIVED_GRACE, sweep

NOW = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)


def _row(
    db: sessionmaker[Session],
    status: WebhookStatus,
    age: timedelta,
    queued_age: timedelta | None = None,
) -> int:
    with db.begin() as session:
        return session.execute(
            insert(WebhookLog)
            .values(
                provider="shopify",
                status=status,
                received_at=NOW - age,
                queued_at=NOW - queued_age if queued_age else None,
            )
            .returning(WebhookLog.id)
        ).scalar_one()


def _statuses(db: sessionmaker[Session]) -> dict[int, WebhookStatus]:
    with db() as session:
        return dict(session.execute(select(WebhookLog.id, WebhookLog.status)).all())  # type: ignore[arg-type]


def test_stranded_rows_are_published_and_fresh_ones_left_alone(db: sessionmaker[Session]) -> None:
    old_received = _row(db, WebhookStatus.RECEIVED, RECEIVED_GRACE * 2)
    fresh_received = _row(db, WebhookStatus.RECEIVED, RECEIVED_GRACE / 2)
    lost_queued = _row(db, WebhookStatus.QUEUED, QUEUED_TIMEOUT * 2, QUEUED_TIMEOUT * 2)
    live_queued = _row(db, WebhookStatus.QUEUED, timedelta(minutes=1), timedelta(minutes=1))
    done = _row(db, WebhookStatus.PROCESSED, timedelta(days=1))
    published: list[int] = []
    assert sweep(db, published.append, now=NOW) == 2
    assert published == [old_received, lost_queued]
    statuses = _statuses(db)
    assert statuses[old_received] == statuses[lost_queued] == WebhookStatus.QUEUED
    assert statuses[fresh_received] == WebhookStatus.RECEIVED
    assert statuses[live_queued] == WebhookStatus.QUEUED
    assert statuses[done] == WebhookStatus.PROCESSED
    assert sweep(db, published.append, now=NOW) == 0  # nothing published twice


def test_a_broker_still_down_hands_the_rows_back(db: sessionmaker[Session]) -> None:
    ids = [_row(db, WebhookStatus.RECEIVED, RECEIVED_GRACE * 2) for _ in range(3)]
    published: list[int] = []

    def flaky(row_id: int) -> None:
        if published:
            raise RedisConnectionError("down")
        published.append(row_id)

    assert sweep(db, flaky, now=NOW) == 1
    statuses = _statuses(db)
    assert statuses[ids[0]] == WebhookStatus.QUEUED
    assert statuses[ids[1]] == statuses[ids[2]] == WebhookStatus.RECEIVED
