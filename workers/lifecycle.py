"""Delivery of sync lifecycle events to subscribers, from the `events` queue.

Each attempt is claimed in the database first (sync/lifecycle.py), so duplicate messages
cost nothing, then POSTed, then recorded. The next attempt's time is always stored on
the row; when the wait fits a countdown (at most the retry cap of sync/retry.py, far
below the Redis visibility timeout) the retry is also published with that countdown,
otherwise the sweeper publishes it when due. Waits reach hours (about a day in all), and
an ETA message that long would be handed out twice by Redis.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta

from celery import shared_task
from celery.app.task import Task

from connectors.errors import ConnectorError
from connectors.http import HttpClient
from models.db import transaction
from sync import lifecycle
from sync.retry import BACKOFF_CAP_SECONDS
from workers import presets
from workers.broker import DELIVER
from workers.context import get_context

log = logging.getLogger(__name__)

SWEEP = "workers.lifecycle.sweep"

#: Connect and read timeouts for a subscriber; Standard Webhooks recommends consumers
#: answer within 15-30 s (docs/platforms.md section 9).
TIMEOUT = (5.0, 20.0)
#: A pending delivery due for this long lost its message (or never had one): the
#: sweeper publishes it. Longer than a countdown's usual lateness, so the sweeper does
#: not race the countdown messages.
OVERDUE = timedelta(minutes=1)


@shared_task(name=DELIVER, bind=True, **presets.EVENT)
def deliver(self: Task, delivery_id: int) -> None:
    """One attempt of one delivery; schedules the next attempt if it failed, or hands
    over to the delivery waiting behind it if it ended."""
    ctx = get_context(self.app)
    with transaction(ctx.sessions) as session:
        attempt = lifecycle.claim_attempt(session, ctx.vault, delivery_id)
    if attempt is None:
        return  # delivered, given up, not due yet, or its subscriber was deactivated
    status, error = post(attempt)
    with transaction(ctx.sessions) as session:
        outcome = lifecycle.record_attempt(session, attempt, status, error, ctx.delivery_schedule)
    if outcome.retry_in is not None and outcome.retry_in <= BACKOFF_CAP_SECONDS:
        ctx.broker.queue_deliveries([delivery_id], countdown=outcome.retry_in)
    if outcome.next_in_line is not None:
        # Waiting behind this one (its entity's later event): its turn now.
        ctx.broker.queue_deliveries([outcome.next_in_line])


def post(attempt: lifecycle.Attempt) -> tuple[int | None, str | None]:
    """POST the signed event: (HTTP status or None, error or None). Never raises."""
    client = HttpClient("subscriber", attempt.url, timeout=TIMEOUT)
    try:
        response = client.request(
            "POST",
            attempt.url,
            data=attempt.body.encode(),
            headers=attempt.headers(datetime.now(UTC)),
            # A 3xx is a failure, not a hop to follow (Standard Webhooks, section 9).
            allow_redirects=False,
        )
    except ConnectorError as exc:
        # Every failure is recorded on the row and retried by schedule; none is ours.
        return exc.status, str(exc)[:500]
    if 200 <= response.status_code < 300:
        return response.status_code, None
    return response.status_code, f"HTTP {response.status_code} (redirects are not followed)"


@shared_task(name=SWEEP, bind=True, **presets.MAINTENANCE)
def sweep(self: Task) -> int:
    """Publish pending deliveries whose time has come and that no message carries."""
    ctx = get_context(self.app)
    with ctx.sessions() as session:
        due = lifecycle.due_deliveries(session, OVERDUE)
    ctx.broker.queue_deliveries(due)
    if due:
        log.info("lifecycle.swept", extra={"published": len(due)})
    return len(due)
