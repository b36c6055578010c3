"""One live run per site, whatever starts it: an operator (the API), the nightly beat
and a Business Central `collection` notice racing on one site start exactly one run;
the others are told it is already running (409 in the API).

Each door runs its real code: the API over HTTP, the beat's `start_due_runs`, and the
event task's `process_event` on a logged collection notice. The runs' messages go to
the real broker; no worker is needed to start a run."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from typing import Any

import pytest
import requests
from sqlalchemy import delete, insert, select
from sqlalchemy.orm import Session, sessionmaker

from api.app import create_app
from models import EventKind, SyncRun, WebhookLog, WebhookStatus
from models.crypto import Vault
from models.db import transaction
from sandbox.server import running
from schedules.due import start_due_runs
from settings import Settings
from sync.context import Context
from sync.events import process_event
from tests.factories import make_site, make_source
from workers.context import client_context

ROUNDS = 8


@pytest.fixture
def ctx(settings: Settings, redis_client: object) -> Iterator[Context]:
    with client_context(settings) as context:
        yield context


def _collection_notice(db: sessionmaker[Session], source_id: int) -> int:
    """A logged Business Central `collection` notice, as the relay queues it."""
    with transaction(db) as session:
        return session.execute(
            insert(WebhookLog)
            .values(
                provider="businesscentral",
                source_id=source_id,
                kind=EventKind.ERP_COLLECTION,
                status=WebhookStatus.QUEUED,
            )
            .returning(WebhookLog.id)
        ).scalar_one()


def _race(
    base: str, token: str | None, ctx: Context, site_id: int, notice: int, night: datetime
) -> tuple[requests.Response, list[int]]:
    """The three doors at once: the API's answer and the beat's started runs."""
    barrier = threading.Barrier(3)

    def together(door: Callable[[], Any]) -> Any:
        barrier.wait()
        return door()

    doors: list[Callable[[], Any]] = [
        lambda: requests.post(
            f"{base}/api/inventory/sync/{site_id}",
            headers={"Authorization": f"Bearer {token}"},
            timeout=30,
        ),
        lambda: start_due_runs(ctx, night),
        lambda: process_event(ctx, notice),
    ]
    with ThreadPoolExecutor(3) as pool:
        api, beat, _ = pool.map(together, doors)
    return api, beat


def test_manual_nightly_and_collection_starts_race_to_one_run(
    settings: Settings, db: sessionmaker[Session], vault: Vault, ctx: Context
) -> None:
    with transaction(db) as session:
        source = make_source(session, vault)
        # Added before the nights raced over, so each is due (schedules/due.py).
        added = datetime(2026, 10, 1, tzinfo=UTC)
        site_id = make_site(session, vault, source, full_sync_hour=0, created_at=added).id
        source_id = source.id
    with running(create_app(settings)) as base:
        for day in range(1, ROUNDS + 1):
            with transaction(db) as session:
                session.execute(delete(SyncRun))
            notice = _collection_notice(db, source_id)
            # A new local date each round, so the nightly run is always due.
            night = datetime(2026, 11, day, 3, 0, tzinfo=UTC)
            api, beat = _race(base, settings.admin_token, ctx, site_id, notice, night)

            with db() as session:
                runs = session.scalars(select(SyncRun)).all()
                event = session.get_one(WebhookLog, notice)
            assert len(runs) == 1, [(r.trigger, r.status) for r in runs]
            (run,) = runs
            assert event.status == WebhookStatus.PROCESSED
            winner = {"api": "api", "beat": "beat", "webhook": "event"}[run.trigger]
            assert (api.status_code == 202) == (winner == "api"), api.text
            assert (beat == [run.id]) == (winner == "beat")
            if winner != "api":
                error = api.json()["error"]
                assert api.status_code == 409 and error["code"] == "conflict"
                assert f"already has run {run.id}" in error["message"]
            if winner != "beat":
                assert beat == []
