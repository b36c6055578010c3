"""The outbox sweeper on real PostgreSQL: what it republishes, and what it leaves."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import insert, select
from sqlalchemy.orm import Session, sessionmaker

from models import WebhookLog, WebhookStatus
from settings import Settings
from sync.context import Context, build_context
from sync.outbox import QUEUED_TIMEOUT, sweep
from tests.support.broker import RecordingBroker

NOW = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)


@pytest.fixture
def ctx(settings: Settings, db: sessionmaker[Session]) -> Iterator[Context]:
    with build_context(settings, RecordingBroker()) as context:
        yield context


def _published(ctx: Context) -> list[int]:
    assert isinstance(ctx.broker, RecordingBroker)
    return ctx.broker.sent("event")


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
    db: sessionmaker[Session], ctx: Context
) -> None:
    lost = _row(db, WebhookStatus.QUEUED, QUEUED_TIMEOUT * 2)
    live = _row(db, WebhookStatus.QUEUED, timedelta(minutes=1))
    waiting = _row(db, WebhookStatus.RECEIVED, None)  # the relay's, not the sweeper's
    done = _row(db, WebhookStatus.PROCESSED, QUEUED_TIMEOUT * 2)
    assert sweep(ctx, now=NOW) == 1
    assert _published(ctx) == [lost]
    assert _queued_at(db)[lost] == NOW
    assert sweep(ctx, now=NOW) == 0  # not again until it is overdue again
    assert {live, waiting, done}.isdisjoint(_published(ctx))


def test_a_broker_still_down_leaves_the_rest_due(db: sessionmaker[Session], ctx: Context) -> None:
    ids = [_row(db, WebhookStatus.QUEUED, QUEUED_TIMEOUT * 2) for _ in range(3)]
    assert isinstance(ctx.broker, RecordingBroker)
    ctx.broker.fails_after = 1  # the first goes out, then the broker is down
    assert sweep(ctx, now=NOW) == 1
    ctx.broker.fails_after = None
    assert sweep(ctx, now=NOW) == 2  # the two left are still due
    assert _published(ctx) == ids
