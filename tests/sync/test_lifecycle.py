"""Sync lifecycle events: signed Standard Webhooks deliveries, retries, 410."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from itertools import pairwise

from flask import Flask, Response, request
from sqlalchemy import select, update
from sqlalchemy.orm import Session, sessionmaker
from standardwebhooks import Webhook

from models import DeliveryStatus, EventDelivery, EventSubscription, RunStatus
from models.crypto import Vault
from models.db import transaction
from sandbox.server import running
from settings import Settings
from sync import lifecycle
from sync.context import Context
from sync.retry import BACKOFF_CAP_SECONDS, DELIVERY_SCHEDULE
from sync.subscribers import subscribe
from tests.factories.sync import run_row
from tests.support.stack import (
    FAST,
    installed_context,
    sandbox_stack,
    sync_to_end,
    wait_for,
    workers,
)
from workers.app import make_celery
from workers.lifecycle import OVERDUE


@dataclass
class Subscriber:
    """An HTTP endpoint answering `answers` in turn (then 200), recording every request."""

    answers: list[int] = field(default_factory=list)
    received: list[tuple[dict[str, str], bytes]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)
    url: str = ""

    def app(self) -> Flask:
        app = Flask("subscriber")

        @app.post("/hook")
        def hook() -> Response:
            with self.lock:
                self.received.append((dict(request.headers), request.get_data()))
                status = self.answers.pop(0) if self.answers else 200
            return Response("", status)

        return app


@contextmanager
def subscriber(*answers: int) -> Iterator[Subscriber]:
    endpoint = Subscriber(list(answers))
    with running(endpoint.app()) as base:
        endpoint.url = f"{base}/hook"
        yield endpoint


def _subscribe(ctx: Context, url: str) -> tuple[int, str]:
    subscription = subscribe(ctx, url)
    return subscription["id"], subscription["secret"]


def _deliveries(db: sessionmaker[Session]) -> list[EventDelivery]:
    with db() as session:
        return list(session.scalars(select(EventDelivery).order_by(EventDelivery.id)))


def test_a_subscriber_hears_started_then_completed_signed(
    db: sessionmaker[Session],
    vault: Vault,
    settings: Settings,
    redis_client: object,
    service: Context,
) -> None:
    app = make_celery(settings)
    with (
        subscriber() as endpoint,
        sandbox_stack(db, vault, "shopify", items=600) as stack,
        installed_context(settings, **FAST),
        workers(app),
    ):
        _, secret = _subscribe(service, endpoint.url)
        run = sync_to_end(app, db, stack.site_id)
        wait_for(lambda: len(endpoint.received) == 2, what="two deliveries")

    events = [Webhook(secret).verify(body, headers) for headers, body in endpoint.received]
    assert [event["type"] for event in events] == [lifecycle.STARTED, lifecycle.COMPLETED]
    done = events[1]["data"]
    assert (done["run_id"], done["status"], done["synced"], done["total"]) == (
        run.id,
        RunStatus.COMPLETED,
        run.synced,
        600,
    )
    assert done["duration_seconds"] is not None and done["error"] is None
    ids = [headers["Webhook-Id"] for headers, _ in endpoint.received]
    assert len(set(ids)) == 2 and all(i.startswith("msg_") for i in ids)
    assert {d.status for d in _deliveries(db)} == {DeliveryStatus.DELIVERED}


def test_a_failing_subscriber_is_retried_with_growing_delays_under_one_id(
    db: sessionmaker[Session],
    vault: Vault,
    settings: Settings,
    redis_client: object,
    service: Context,
) -> None:
    app = make_celery(settings)
    with subscriber(503, 500, 429) as endpoint, installed_context(settings, **FAST) as ctx:
        _, secret = _subscribe(service, endpoint.url)
        with sandbox_stack(db, vault, "shopify", items=10) as stack, transaction(db) as session:
            run = run_row(session, stack.site_id, status=RunStatus.COMPLETED)
            [delivery_id] = lifecycle.record_run_event(session, run, lifecycle.COMPLETED)
        with workers(app):
            ctx.broker.queue_deliveries([delivery_id])
            wait_for(lambda: _deliveries(db)[0].status != DeliveryStatus.PENDING)

    [delivery] = _deliveries(db)
    assert delivery.status == DeliveryStatus.DELIVERED and delivery.attempts == 4
    assert [entry["status"] for entry in delivery.history] == [503, 500, 429, 200]
    times = [datetime.fromisoformat(entry["at"]) for entry in delivery.history]
    gaps = [(later - earlier).total_seconds() for earlier, later in pairwise(times)]
    schedule = ctx.delivery_schedule
    assert list(schedule) == sorted(schedule)
    assert all(gap >= wait for gap, wait in zip(gaps, schedule, strict=True)), gaps
    # One event, one id: every retry carries the same webhook-id, each one verifies.
    assert {headers["Webhook-Id"] for headers, _ in endpoint.received} == {delivery.event_id}
    for headers, body in endpoint.received:
        Webhook(secret).verify(body, headers)


def test_410_gone_deactivates_the_subscriber(
    db: sessionmaker[Session],
    vault: Vault,
    settings: Settings,
    redis_client: object,
    service: Context,
) -> None:
    app = make_celery(settings)
    with subscriber(410) as endpoint, installed_context(settings, **FAST) as ctx:
        subscription_id, _ = _subscribe(service, endpoint.url)
        with sandbox_stack(db, vault, "shopify", items=10) as stack, transaction(db) as session:
            run = run_row(session, stack.site_id)
            first = lifecycle.record_run_event(session, run, lifecycle.STARTED)
            second = lifecycle.record_run_event(session, run, lifecycle.FAILED)
        with workers(app):
            ctx.broker.queue_deliveries(first)
            wait_for(lambda: _deliveries(db)[0].status != DeliveryStatus.PENDING)
            ctx.broker.queue_deliveries(second)  # finds its subscriber gone: not sent

    assert len(endpoint.received) == 1
    assert [d.status for d in _deliveries(db)] == [DeliveryStatus.CANCELLED] * 2
    with db() as session:
        subscription = session.get_one(EventSubscription, subscription_id)
        assert not subscription.active and subscription.deactivated_reason == "answered 410 Gone"
        assert lifecycle.record_run_event(session, run, lifecycle.STARTED) == []


def test_waits_longer_than_a_countdown_are_left_to_the_sweeper(
    db: sessionmaker[Session], vault: Vault, service: Context
) -> None:
    with subscriber() as endpoint:
        _subscribe(service, endpoint.url)
    with sandbox_stack(db, vault, "shopify", items=10) as stack, transaction(db) as session:
        run = run_row(session, stack.site_id)
        [delivery_id] = lifecycle.record_run_event(session, run, lifecycle.STARTED)
    with transaction(db) as session:
        attempt = lifecycle.claim_attempt(session, vault, delivery_id)
        assert attempt is not None
        # A duplicate message while the attempt is under way finds nothing due.
        assert lifecycle.claim_attempt(session, vault, delivery_id) is None
    with transaction(db) as session:
        delay = lifecycle.record_attempt(session, attempt, 503, "HTTP 503", DELIVERY_SCHEDULE[3:])
    assert delay is not None and delay > BACKOFF_CAP_SECONDS
    with transaction(db) as session:
        assert lifecycle.due_deliveries(session, OVERDUE) == []
        session.execute(
            update(EventDelivery).values(
                next_attempt_at=datetime.now(UTC) - timedelta(seconds=delay)
            )
        )
    with db() as session:
        assert lifecycle.due_deliveries(session, OVERDUE) == [delivery_id]
