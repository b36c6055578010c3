"""The outbox sweeper: webhook rows that were logged but never reached the queue.

A row stays `received` when Redis was down at intake or the receiver died between its
commit and its publish; a row can sit `queued` with no message if Redis lost it (a
restart without persistence) or the sweeper itself died after marking. Both are found
by age and published again. A row processed twice is harmless: the task takes a row
lock and skips rows that are no longer pending.
"""

from __future__ import annotations

import logging
import socket
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from kombu.exceptions import KombuError
from redis import RedisError
from sqlalchemy import and_, or_, select, update
from sqlalchemy.orm import Session, sessionmaker

from models import WebhookLog, WebhookStatus

log = logging.getLogger(__name__)

#: `received` rows younger than this are still on the receiver's normal path.
RECEIVED_GRACE = timedelta(seconds=60)
#: `queued` rows older than this lost their message: far beyond the dedupe countdown
#: and any backlog the events queue should ever have.
QUEUED_TIMEOUT = timedelta(minutes=30)


def sweep(
    sessions: sessionmaker[Session],
    publish: Callable[[int], None],
    *,
    now: datetime | None = None,
    limit: int = 1000,
) -> int:
    """Publish up to `limit` stranded rows; return how many were published.

    Rows are marked `queued` and committed *before* publishing: a worker that gets the
    message must find the row unlocked. Killed after the commit, a row waits for
    QUEUED_TIMEOUT and is swept again. A publish failure (Redis still down) puts the
    unpublished rows back to `received` and stops this sweep.
    """
    now = now or datetime.now(UTC)
    with sessions.begin() as session:
        ids = list(
            session.scalars(
                select(WebhookLog.id)
                .where(
                    or_(
                        and_(
                            WebhookLog.status == WebhookStatus.RECEIVED,
                            WebhookLog.received_at < now - RECEIVED_GRACE,
                        ),
                        and_(
                            WebhookLog.status == WebhookStatus.QUEUED,
                            WebhookLog.queued_at < now - QUEUED_TIMEOUT,
                        ),
                    )
                )
                .order_by(WebhookLog.id)
                .limit(limit)
                .with_for_update(skip_locked=True)
            )
        )
        if not ids:
            return 0
        session.execute(
            update(WebhookLog)
            .where(WebhookLog.id.in_(ids))
            .values(status=WebhookStatus.QUEUED, queued_at=now)
        )
    for done, row_id in enumerate(ids):
        try:
            publish(row_id)
        except (KombuError, RedisError, OSError, socket.timeout) as exc:
            # The broker is still down: hand the rest back to the next sweep.
            _unmark(sessions, ids[done:])
            log.warning(
                "outbox.publish_failed", extra={"left": len(ids) - done, "error": repr(exc)}
            )
            return done
    log.info("outbox.swept", extra={"published": len(ids)})
    return len(ids)


def _unmark(sessions: sessionmaker[Session], ids: list[int]) -> None:
    with sessions.begin() as session:
        session.execute(
            update(WebhookLog)
            .where(WebhookLog.id.in_(ids), WebhookLog.status == WebhookStatus.QUEUED)
            .values(status=WebhookStatus.RECEIVED, queued_at=None)
        )
