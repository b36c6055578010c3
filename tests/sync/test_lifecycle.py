"""Sync lifecycle events: signed Standard Webhooks deliveries, retries, 410."""

from __future__ import annotations

import json
import re
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

from api.app import create_app
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
from tests.support.admin_api import AUTH
from tests.support.cli import stocksync
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
    """An HTTP endpoint answering `answers` in turn (then 200), or 500 to the first
    `failing[type]` events of a type, recording every request and its answer."""

    answers: list[int] = field(default_factory=list)
    failing: dict[str, int] = field(default_factory=dict)
    received: list[tuple[dict[str, str], bytes]] = field(default_factory=list)
    answered: list[tuple[str, int]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)
    url: str = ""

    def app(self) -> Flask:
        app = Flask("subscriber")

        @app.post("/hook")
        def hook() -> Response:
            with self.lock:
                self.received.append((dict(request.headers), request.get_data()))
                topic = json.loads(request.get_data())["type"]
                status = self.answers.pop(0) if self.answers else 200
                if self.failing.get(topic):
                    self.failing[topic] -= 1
                    status = 500
                self.answered.append((topic, status))
            return Response("", status)

        return app


@contextmanager
def subscriber(*answers: int, failing: dict[str, int] | None = None) -> Iterator[Subscriber]:
    endpoint = Subscriber(list(answers), dict(failing or {}))
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
        outcome = lifecycle.record_attempt(session, attempt, 503, "HTTP 503", DELIVERY_SCHEDULE[3:])
    delay = outcome.retry_in
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


def test_a_retried_started_still_arrives_before_its_completed(
    db: sessionmaker[Session],
    vault: Vault,
    settings: Settings,
    redis_client: object,
    service: Context,
) -> None:
    """The subscriber fails STARTED three times, then recovers: it receives STARTED,
    then COMPLETED, each accepted once under its one event id."""
    app = make_celery(settings)
    failing = {lifecycle.STARTED: 3}
    with subscriber(failing=failing) as endpoint, installed_context(settings, **FAST) as ctx:
        _, secret = _subscribe(service, endpoint.url)
        with sandbox_stack(db, vault, "shopify", items=10) as stack, transaction(db) as session:
            run = run_row(session, stack.site_id, status=RunStatus.COMPLETED)
            started = lifecycle.record_run_event(session, run, lifecycle.STARTED)
            completed = lifecycle.record_run_event(session, run, lifecycle.COMPLETED)
        with workers(app):
            ctx.broker.queue_deliveries(started + completed)
            wait_for(
                lambda: {d.status for d in _deliveries(db)} == {DeliveryStatus.DELIVERED},
                what="both delivered",
            )

    assert endpoint.answered == [(lifecycle.STARTED, 500)] * 3 + [
        (lifecycle.STARTED, 200),
        (lifecycle.COMPLETED, 200),
    ]
    ids = {}
    for headers, body in endpoint.received:
        event = Webhook(secret).verify(body, headers)
        ids.setdefault(event["type"], set()).add(headers["Webhook-Id"])
        assert headers["X-Stocksync-Topic"] == event["type"]
        assert headers["X-Stocksync-Event-Id"] == headers["Webhook-Id"]
        assert (headers["X-Stocksync-Entity"], headers["X-Stocksync-Entity-Id"]) == (
            "run",
            str(run.id),
        )
    assert [len(ids[lifecycle.STARTED]), len(ids[lifecycle.COMPLETED])] == [1, 1]


def test_a_later_event_waits_for_the_earlier_one_of_its_entity(
    db: sessionmaker[Session], vault: Vault, service: Context
) -> None:
    with subscriber() as endpoint:
        _subscribe(service, endpoint.url)
    with sandbox_stack(db, vault, "shopify", items=10) as stack, transaction(db) as session:
        run = run_row(session, stack.site_id, status=RunStatus.COMPLETED)
        other = run_row(session, stack.site_id, status=RunStatus.COMPLETED, kind="full")
        [started] = lifecycle.record_run_event(session, run, lifecycle.STARTED)
        [completed] = lifecycle.record_run_event(session, run, lifecycle.COMPLETED)
        [elsewhere] = lifecycle.record_run_event(session, other, lifecycle.COMPLETED)
    with transaction(db) as session:
        assert lifecycle.claim_attempt(session, vault, completed) is None
        attempt = lifecycle.claim_attempt(session, vault, started)
        assert attempt is not None
        # Another run's event does not wait for this one.
        assert lifecycle.claim_attempt(session, vault, elsewhere) is not None
    with transaction(db) as session:
        retry = lifecycle.record_attempt(session, attempt, 500, "HTTP 500", (0.0,))
    assert retry == lifecycle.Outcome(0.0, None)
    with transaction(db) as session:
        session.execute(
            update(EventDelivery).values(next_attempt_at=datetime(2000, 1, 1, tzinfo=UTC))
        )
    with db() as session:
        # Overdue, but behind STARTED: the sweeper leaves it.
        assert completed not in lifecycle.due_deliveries(session, OVERDUE)
    with transaction(db) as session:
        attempt = lifecycle.claim_attempt(session, vault, started)
        assert attempt is not None
    with transaction(db) as session:
        # Failed for good: it no longer holds COMPLETED back, which is handed over.
        ended = lifecycle.record_attempt(session, attempt, 500, "HTTP 500", (0.0,))
    assert ended == lifecycle.Outcome(None, completed)
    with transaction(db) as session:
        assert lifecycle.claim_attempt(session, vault, completed) is not None


def test_a_subscriber_asks_for_a_test_event_through_the_api_and_the_cli(
    db: sessionmaker[Session],
    settings: Settings,
    redis_client: object,
    service: Context,
) -> None:
    run = stocksync(settings)
    with (
        subscriber() as endpoint,
        installed_context(settings, **FAST),
        workers(make_celery(settings)),
    ):
        subscription_id, secret = _subscribe(service, endpoint.url)
        client = create_app(settings).test_client()
        sent = client.post(f"/api/events/subscriptions/{subscription_id}/test", headers=AUTH)
        assert sent.status_code == 202, sent.json
        assert (sent.json["topic"], sent.json["status"]) == (lifecycle.TEST, "pending")
        url = f"/api/events/deliveries/{sent.json['id']}"
        wait_for(lambda: client.get(url, headers=AUTH).json["status"] == "delivered")
        listed = run("events", "list")
        assert endpoint.url in listed and lifecycle.MERCHANT_CONNECTED in listed
        said = run("events", "test", str(subscription_id))
        assert f"{lifecycle.TEST} msg_" in said and "delivered, HTTP 200" in said
        endpoint.answers = [500] * 10
        failing = run("events", "test", str(subscription_id), "--wait", "1", code=1)
        assert re.search(r"attempt \d failed \(.*HTTP 500.*\); retried at", failing), failing
        client.patch(
            f"/api/events/subscriptions/{subscription_id}", json={"active": False}, headers=AUTH
        )
        refused = client.post(f"/api/events/subscriptions/{subscription_id}/test", headers=AUTH)
        assert refused.status_code == 409 and "inactive" in refused.json["error"]["message"]

    tests = [Webhook(secret).verify(body, headers) for headers, body in endpoint.received]
    assert {event["type"] for event in tests} == {lifecycle.TEST}
    assert tests[0]["data"] == {"subscription_id": subscription_id, "url": endpoint.url}
    # Each test event is its own entity: a new one never waits behind a failing one.
    entities = {(h["X-Stocksync-Entity"], h["X-Stocksync-Entity-Id"]) for h, _ in endpoint.received}
    assert {kind for kind, _ in entities} == {"test"} and len(entities) == 3


def test_deactivating_a_site_through_the_api_tells_its_subscriber_in_order(
    db: sessionmaker[Session],
    vault: Vault,
    settings: Settings,
    redis_client: object,
    service: Context,
) -> None:
    app = make_celery(settings)
    with (
        subscriber(failing={lifecycle.MERCHANT_DISABLED: 2}) as endpoint,
        sandbox_stack(db, vault, "woocommerce", items=5) as stack,
        installed_context(settings, **FAST),
        workers(app),
    ):
        _, secret = _subscribe(service, endpoint.url)
        client = create_app(settings).test_client()
        for active in (False, True):
            answer = client.patch(
                f"/api/sites/{stack.site_id}", json={"active": active}, headers=AUTH
            )
            assert answer.status_code == 200, answer.json
        wait_for(lambda: len(endpoint.answered) == 4, what="DISABLED thrice, ENABLED once")

    assert endpoint.answered == [
        (lifecycle.MERCHANT_DISABLED, 500),
        (lifecycle.MERCHANT_DISABLED, 500),
        (lifecycle.MERCHANT_DISABLED, 200),
        (lifecycle.MERCHANT_ENABLED, 200),
    ]
    headers, body = endpoint.received[-1]
    event = Webhook(secret).verify(body, headers)
    assert (headers["X-Stocksync-Entity"], headers["X-Stocksync-Entity-Id"]) == (
        "site",
        str(stack.site_id),
    )
    assert (event["data"]["site_id"], event["data"]["active"]) == (stack.site_id, True)


def test_the_sweeper_leaves_an_inactive_subscribers_deliveries_waiting(
    db: sessionmaker[Session], vault: Vault, service: Context
) -> None:
    """Else they could fill its every page and starve the active subscribers'."""
    with subscriber() as endpoint:
        paused, _ = _subscribe(service, endpoint.url)
        _subscribe(service, endpoint.url)
    with sandbox_stack(db, vault, "shopify", items=10) as stack, transaction(db) as session:
        run = run_row(session, stack.site_id)
        deliveries = lifecycle.record_run_event(session, run, lifecycle.STARTED)
        session.execute(
            update(EventSubscription).where(EventSubscription.id == paused).values(active=False)
        )
    with db() as session:
        due = lifecycle.due_deliveries(session, timedelta(0))
        kept = session.scalars(
            select(EventDelivery.id).where(EventDelivery.subscription_id != paused)
        ).all()
    assert len(deliveries) == 2 and due == list(kept)
