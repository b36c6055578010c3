"""The outbox sweeper: `queued` webhook rows whose message never ran.

`received` rows are the relay's (workers/relay.py), which sends them as soon as Redis
answers. A row can still sit `queued` with no live message: Redis lost it (a restart
without persistence), or a worker lost its broker while holding it (a retry's countdown),
which leaves it in Redis's unacked set until the visibility timeout. Such rows are found
by age and published again. A row processed twice is harmless: the task takes a row
lock and skips rows that are no longer pending. (The dedupe window is no longer a
countdown the worker holds: the relay keeps due messages in Redis, workers/relay.py;
a row whose message waits there more than `QUEUED_TIMEOUT`, every relay down that
long, is published again and still processed once.)
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session, sessionmaker

from models import WebhookLog, WebhookStatus
from sync.context import Context
from sync.errors import Unavailable

log = logging.getLogger(__name__)

#: `queued` rows older than this are published again. Their message may be gone (a Redis
#: restart without persistence), or stuck in Redis's unacked set: a worker that loses
#: its broker while holding a message with a countdown leaves it there until the
#: visibility timeout (1 h). Far above the dedupe window and a normal events
#: backlog; a row published twice is processed once (sync/events.py), so erring early
#: costs a message, not a double write.
QUEUED_TIMEOUT = timedelta(minutes=10)


def sweep(
    ctx: Context,
    *,
    now: datetime | None = None,
    limit: int = 1000,
    queued_before: datetime | None = None,
) -> int:
    """Publish up to `limit` stranded rows again; return how many were published.

    Stranded: queued before `queued_before`, by default QUEUED_TIMEOUT ago. A worker that
    lost its broker passes the moment of the loss instead (workers/outages.py): the
    messages it held then are stuck in Redis's unacked set, and a row whose message was
    not stuck costs one more message, not a second write.

    `queued_at` is renewed and committed *before* publishing: a worker that gets the
    message must find the row unlocked. Killed after the commit, a row waits for
    QUEUED_TIMEOUT and is swept again. A publish failure (Redis still down) puts the
    unpublished rows back (their `queued_at` as it was) and stops this sweep.
    """
    now = now or datetime.now(UTC)
    cutoff = queued_before or now - QUEUED_TIMEOUT
    with ctx.sessions.begin() as session:
        previous: dict[int, Any] = dict(
            session.execute(
                select(WebhookLog.id, WebhookLog.queued_at)
                .where(
                    WebhookLog.status == WebhookStatus.QUEUED,
                    WebhookLog.queued_at < cutoff,
                )
                .order_by(WebhookLog.id)
                .limit(limit)
                .with_for_update(skip_locked=True)
            ).all()
        )
        ids = list(previous)
        if not ids:
            return 0
        session.execute(update(WebhookLog).where(WebhookLog.id.in_(ids)).values(queued_at=now))
    for done, row_id in enumerate(ids):
        try:
            ctx.broker.queue_event(row_id)
        except Unavailable as exc:
            # The broker is still down: the rest stay due for the next sweep.
            _unmark(ctx.sessions, ids[done:], previous)
            log.warning(
                "outbox.publish_failed", extra={"left": len(ids) - done, "error": exc.message}
            )
            return done
    log.info("outbox.swept", extra={"published": len(ids)})
    return len(ids)


def _unmark(sessions: sessionmaker[Session], ids: list[int], previous: dict[int, Any]) -> None:
    """Put back the `queued_at` the rows had, so they stay due for the next sweep."""
    with sessions.begin() as session:
        for row_id in ids:
            session.execute(
                update(WebhookLog)
                .where(WebhookLog.id == row_id, WebhookLog.status == WebhookStatus.QUEUED)
                .values(queued_at=previous[row_id])
            )
