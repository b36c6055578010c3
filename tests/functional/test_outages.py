"""Events lost or delayed under `stocksync up` (issue 18, items 10, 11 and 13): Redis or
PostgreSQL stopped mid-burst, control broadcasts, a worker that stops consuming.

Everything is real: the stack's supervisor, gunicorn, the relay, a prefork worker, the
sandboxes over HTTP, and servers the test stops and starts again. The ERP answers each
read 0.2 s late, so tasks are in flight when an outage begins.
"""

from __future__ import annotations

import os
import signal
import socket
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Protocol

import pytest
import requests
from celery import Celery
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from models import Site, WebhookLog, WebhookStatus
from models.crypto import Vault
from models.db import transaction
from settings import Settings
from sync.outbox import sweep
from tests.factories import signed
from tests.support.stack import Stack, installed_context, mirror, sandbox_stack, wait_for
from tests.support.stack_up import no_nightly_run_today, stack_up
from tests.support.stoppable_postgres import StoppablePostgres, private_postgres
from tests.support.stoppable_redis import StoppableRedis
from workers.app import make_celery
from workers.context import client_context

EVENTS = 200
#: Pool processes of the stack's worker (tests/support/stack_up.py).
WORKER_CONCURRENCY = 2
#: The events worker's processes beside the main one's (tests/support/stack_up.py).
EVENTS_CONCURRENCY = 2
#: How long each outage lasts, as in the issue.
OUTAGE_SECONDS = 15
#: The bound the issue sets: every accepted event processed within a minute of the
#: server's return.
CATCH_UP_SECONDS = 60


class SlowReads:
    """WSGI middleware: each ERP request answers 0.2 s late, so workers hold tasks."""

    def __init__(self, app: Callable[..., Any]) -> None:
        self.app = app

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
        time.sleep(0.2)
        return self.app(environ, start_response)


@contextmanager
def store_with_changes(
    settings: Settings, sessions: sessionmaker[Session], vault: Vault
) -> Iterator[tuple[Stack, dict[str, int]]]:
    """A WooCommerce store mirrored, taking Standard Webhooks, and EVENTS ERP changes."""
    with sandbox_stack(sessions, vault, "woocommerce", items=EVENTS + 20, drift=0.0) as stack:
        with transaction(sessions) as session:
            session.get_one(Site, stack.site_id).webhook_secret_sealed = vault.seal(
                signed.STANDARD_SECRET
            )
        with installed_context(settings) as ctx:
            mirror(ctx, stack.site_id)
        no_nightly_run_today(sessions, stack.site_id)
        skus = sorted(stack.erp_stock())[:EVENTS]
        changes = {sku: stack.erp_stock()[sku] + 11 for sku in skus}
        stack.erp.set_stock(changes)
        stack.erp_app.wsgi_app = SlowReads(stack.erp_app.wsgi_app)
        yield stack, changes


@contextmanager
def burst(base: str, stack: Stack, skus: list[str]) -> Iterator[list[int | str]]:
    """Deliver one signed event per SKU from a thread, about 8 a second (the burst spans
    the outage); yields the answers' status codes (or the error), filled in as they come."""
    answers: list[int | str] = []

    def send() -> None:
        for sku in skus:
            request = signed.standard(sku=sku, msg_id=uuid.uuid4().hex)
            try:
                answers.append(
                    requests.post(
                        f"{base}/webhooks/standard/{stack.site_id}",
                        data=request.body,
                        headers=request.headers,
                        timeout=30,
                    ).status_code
                )
            except requests.RequestException as exc:
                answers.append(type(exc).__name__)
            time.sleep(0.12)

    thread = threading.Thread(target=send, name="burst", daemon=True)
    thread.start()
    try:
        yield answers
    finally:
        thread.join(timeout=120)


def _rows(sessions: sessionmaker[Session]) -> list[WebhookLog]:
    with sessions() as session:
        return list(session.scalars(select(WebhookLog).order_by(WebhookLog.id)))


def _in_flight(sessions: sessionmaker[Session]) -> bool:
    """Some events processed, and one being processed now (attempted, still queued)."""
    rows = _rows(sessions)
    return any(r.status == WebhookStatus.PROCESSED for r in rows) and any(
        r.status == WebhookStatus.QUEUED and r.attempts > 0 for r in rows
    )


def _all_processed(sessions: sessionmaker[Session], count: int) -> bool:
    rows = _rows(sessions)
    return len(rows) == count and all(r.status == WebhookStatus.PROCESSED for r in rows)


class Server(Protocol):
    def start(self) -> None: ...

    def stop(self) -> None: ...


def _burst_through_outage(
    base: str, stack: Stack, skus: list[str], sessions: sessionmaker[Session], server: Server
) -> list[int | str]:
    """Deliver one event per SKU; once events are in flight, stop `server` for
    OUTAGE_SECONDS. Returns the answers."""
    with burst(base, stack, skus) as answers:
        wait_for(lambda: _in_flight(sessions), 60, "events in flight")
        server.stop()
        time.sleep(OUTAGE_SECONDS)
        server.start()
    return answers


def _wait_all_processed(sessions: sessionmaker[Session], count: int) -> None:
    wait_for(
        lambda: _all_processed(sessions, count),
        CATCH_UP_SECONDS,
        "every accepted event processed within a minute of the server's return",
    )


def _assert_written(
    stack: Stack, changes: dict[str, int], accepted: list[str], in_flight: int = 0
) -> None:
    """The store holds the ERP's new stock for every accepted SKU, each written once, but
    for at most `in_flight` written again: a push whose commit met the outage is made
    again on retry, with the same reading (as after a kill between push and commit)."""
    assert {sku: stack.store_stock()[sku] for sku in accepted} == {
        sku: changes[sku] for sku in accepted
    }
    written = sum(call.items for call in stack.store.writes)
    assert len(accepted) <= written <= len(accepted) + in_flight


@pytest.fixture
def own_redis(tmp_path: Path) -> Iterator[StoppableRedis]:
    """A Redis of this test alone, which it may stop."""
    server = StoppableRedis(tmp_path / "redis")
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.mark.slow
def test_redis_down_mid_burst_every_delivery_answered_every_event_processed_once(
    settings: Settings,
    db: sessionmaker[Session],
    vault: Vault,
    own_redis: StoppableRedis,
    tmp_path: Path,
) -> None:
    settings = replace(settings, redis_url=own_redis.url)
    with (
        store_with_changes(settings, db, vault) as (stack, changes),
        stack_up(settings, tmp_path / "up.log") as base,
    ):
        answers = _burst_through_outage(base, stack, list(changes), db, own_redis)
        assert answers == [200] * EVENTS
        _wait_all_processed(db, EVENTS)
    # The worker lived through it (a restarted one would not know what it held).
    started = (tmp_path / "up.log").read_text(errors="replace")
    assert started.count("[up] started worker") == started.count("[up] started events") == 1
    _assert_written(stack, changes, list(changes))


@pytest.fixture
def own_postgres() -> Iterator[tuple[StoppablePostgres, sessionmaker[Session]]]:
    with private_postgres() as server_and_sessions:
        yield server_and_sessions


@pytest.mark.slow
def test_postgres_down_mid_burst_every_accepted_event_processed_once(
    settings: Settings,
    own_postgres: tuple[StoppablePostgres, sessionmaker[Session]],
    vault: Vault,
    redis_client: object,
    tmp_path: Path,
) -> None:
    server, sessions = own_postgres
    settings = replace(settings, database_url=server.url)
    with (
        store_with_changes(settings, sessions, vault) as (stack, changes),
        stack_up(settings, tmp_path / "up.log") as base,
    ):
        answers = _burst_through_outage(base, stack, list(changes), sessions, server)
        # Refused while PostgreSQL was down (503: the platform sends it again), else
        # accepted; never a connection refused.
        assert set(answers) == {200, 503}
        accepted = [sku for sku, answer in zip(changes, answers, strict=True) if answer == 200]
        _wait_all_processed(sessions, len(accepted))
    _assert_written(stack, changes, accepted, in_flight=WORKER_CONCURRENCY + EVENTS_CONCURRENCY)


def _worker_pid(log: Path) -> int:
    """The pid of the stack's current worker, from the supervisor's last "[up] started
    worker" line."""
    started = [
        int(line.rsplit(" ", 1)[1].rstrip(")"))
        for line in log.read_text(errors="replace").splitlines()
        if line.startswith("[up] started worker (pid ")
    ]
    assert started, "no worker started"
    return started[-1]


def _consumers(base: str, worker: str = "") -> tuple[int, dict[str, Any]]:
    """`/readyz/consumers`, or with `worker` (a node name) that worker's own probe."""
    asked = f"?worker={worker}" if worker else ""
    answer = requests.get(f"{base}/readyz/consumers{asked}", timeout=5)
    return answer.status_code, answer.json()


def _ready(base: str) -> int:
    return requests.get(f"{base}/readyz", timeout=5).status_code


def _ping(url: str, **transport_options: Any) -> dict[str, Any]:
    """`celery inspect ping` from a client with Celery's defaults (and `transport_options`)."""
    client = Celery(broker=url)
    client.conf.broker_transport_options = transport_options
    try:
        return {
            name: reply for found in client.control.ping(timeout=3) for name, reply in found.items()
        }
    finally:
        client.close()


@pytest.mark.slow
def test_control_broadcasts_cannot_stop_consumption_and_a_frozen_worker_is_replaced(
    settings: Settings,
    db: sessionmaker[Session],
    vault: Vault,
    redis_client: object,
    tmp_path: Path,
) -> None:
    log = tmp_path / "up.log"
    assert settings.redis_url
    with (
        store_with_changes(settings, db, vault) as (stack, changes),
        stack_up(settings, log) as base,
    ):
        skus = list(changes)
        url = settings.redis_url
        ours = make_celery(settings)
        wait_for(lambda: bool(ours.control.ping(timeout=1)), 60, "the worker consuming")
        ours.close()
        # The broadcast: a client with Celery's default separator; then one with
        # the separator we used before. Neither may stop consumption.
        _ping(url)
        _ping(url, sep=":")
        with burst(base, stack, skus[:20]) as answers:
            pass
        assert answers == [200] * 20
        wait_for(lambda: _all_processed(db, 20), 60, "events processed after the broadcasts")
        host = socket.gethostname()
        # `celery inspect` works, and both workers answer it.
        assert _ping(url) == {f"{n}@{host}": {"ok": "pong"} for n in ("stocksync", "events")}
        assert _consumers(base)[0] == 200

        frozen = _worker_pid(log)
        os.killpg(frozen, signal.SIGSTOP)  # alive, connected, consuming nothing
        try:
            with burst(base, stack, skus[20:25]) as answers:
                pass
            assert answers == [200] * 5  # the receiver needs no worker
            # Events go on (the events worker takes them): the worker's own probe,
            # its heartbeat, sees it frozen.
            node = f"stocksync@{host}"
            wait_for(
                lambda: _consumers(base, node)[0] == 503, 90, "the probe to see the frozen worker"
            )
            assert "consumers" in _consumers(base, node)[1]["failing"]
            assert _ready(base) == 200  # and stays in rotation meanwhile
            # `stocksync up` restarts the worker its probe reports stalled.
            wait_for(lambda: _worker_pid(log) != frozen, 90, "the frozen worker replaced")
        finally:
            with suppress(ProcessLookupError):
                os.killpg(frozen, signal.SIGCONT)
        # A message the frozen worker had taken from Redis (BRPOP pops it before the
        # worker records it unacked) died with it; its row is the outbox sweeper's,
        # after QUEUED_TIMEOUT (10 min), run here at once. Any row published twice is
        # still processed once.
        with client_context(settings) as ctx:
            sweep(ctx, queued_before=datetime.now(UTC))
        wait_for(lambda: _all_processed(db, 25), 60, "events processed by the new worker")
        wait_for(lambda: _consumers(base, node)[0] == 200, 30, "the probe healthy again")
    _assert_written(stack, changes, skus[:25])
