"""Structured logs: JSON lines with extras and the ids of the task being run, so one
webhook event can be followed through the receiver, the relay and a real worker."""

from __future__ import annotations

import inspect
import io
import json
import logging
from collections.abc import Iterator
from dataclasses import replace
from typing import Any

import pytest
from celery.signals import task_postrun, task_prerun
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from api.app import create_app
from logconfig import TASK_IDS, configure_logging, install_celery_logging, json_handler
from models import Site, Source, WebhookLog, WebhookStatus
from models.crypto import Vault
from models.db import transaction
from sandbox.server import running
from settings import Settings
from sync.catalog import refresh_catalog
from tests.support.relaying import relaying
from tests.support.stack import FAST, installed_context, sandbox_stack, wait_for, workers
from workers.app import make_celery

CLIENT_STATE = "erp-client-state"


@pytest.fixture
def captured() -> Iterator[io.StringIO]:
    """Every record of the process as our JSON lines, at INFO."""
    buffer = io.StringIO()
    handler = json_handler("test", buffer)
    handler.set_name("test-capture")  # not ours: configure_logging leaves it in place
    root = logging.getLogger()
    level = root.level
    root.addHandler(handler)
    root.setLevel(logging.INFO)
    yield buffer
    root.removeHandler(handler)
    root.setLevel(level)


def _lines(buffer: io.StringIO) -> list[dict[str, Any]]:
    return [json.loads(line) for line in buffer.getvalue().splitlines() if line.strip()]


class FakeTask:
    name = "workers.batches.process"


def test_lines_carry_extras_and_the_running_task_ids(captured: io.StringIO) -> None:
    install_celery_logging()
    log = logging.getLogger("stocksync.test")
    task_prerun.send(sender=FakeTask, task_id="t-1", task=FakeTask(), args=(42,), kwargs={})
    log.info("sync.batch.done", extra={"site": 3, "synced": 10})
    task_postrun.send(sender=FakeTask, task_id="t-1", task=FakeTask(), args=(42,), kwargs={})
    log.warning("after %s", "the task")
    started, done, after = _lines(captured)[-3:]
    assert started["message"] == "task.started" and started["batch"] == 42
    assert done["message"] == "sync.batch.done"
    assert (done["batch"], done["site"], done["synced"], done["task_id"]) == (42, 3, 10, "t-1")
    assert done["level"] == "INFO" and done["logger"] == "stocksync.test" and "time" in done
    assert after["message"] == "after the task" and "batch" not in after
    celery_line = {"data": {"name": "workers.events.process", "args": "(7,)", "id": "t-2"}}
    log.info("Task workers.events.process[t-2] received", extra=celery_line)
    assert _lines(captured)[-1]["event"] == 7


def test_configure_twice_keeps_one_handler_of_ours() -> None:
    root = logging.getLogger()
    before = len(root.handlers)
    configure_logging("web", "INFO", stream=io.StringIO())
    configure_logging("web", "INFO", stream=io.StringIO())
    ours = [h for h in root.handlers if h.get_name() == "stocksync-json"]
    assert len(ours) == 1 and len(root.handlers) <= before + 1


def test_every_task_taking_an_id_names_it(settings: Settings) -> None:
    app = make_celery(settings)
    app.loader.import_default_modules()
    for name, task in app.tasks.items():
        if name.startswith("celery."):
            continue
        parameters = [p for p in inspect.signature(task.run).parameters if p != "self"]
        assert (name in TASK_IDS) == bool(parameters), name


@pytest.mark.slow
def test_one_event_is_followed_by_its_row_id(
    settings: Settings,
    db: sessionmaker[Session],
    vault: Vault,
    redis_client: object,
    captured: io.StringIO,
) -> None:
    settings = replace(settings, dedupe_window_seconds=0.5)
    with (
        sandbox_stack(db, vault, "woocommerce", items=20, drift=0.0) as stack,
        installed_context(settings, **FAST) as context,
    ):
        with transaction(db) as session:
            source = session.get_one(Source, stack.source_id)
            source.webhook_secret_sealed = vault.seal(CLIENT_STATE)
            site = session.get_one(Site, stack.site_id)
            refresh_catalog(context, site, context.storefront(site))
        app = make_celery(settings)
        with running(create_app(settings)) as base, relaying(settings), workers(app):
            logging.getLogger().setLevel(logging.INFO)  # the worker's start set WARNING
            stack.erp.set_faults(
                webhook_url=f"{base}/webhooks/businesscentral/{stack.source_id}",
                webhook_secret=CLIENT_STATE,
            )
            sku = next(iter(stack.erp_stock()))
            stack.erp.set_stock({sku: 4242})
            wait_for(lambda: stack.store_stock()[sku] == 4242, 60, "the store write")
            wait_for(lambda: _processed(db) is not None, 30, "the row processed")

    row_id = _processed(db)
    traced = [line for line in _lines(captured) if line.get("event") == row_id]
    messages = [line["message"] for line in traced]
    assert "task.started" in messages and "event.processed" in messages, messages
    processed = next(line for line in traced if line["message"] == "event.processed")
    assert "1 pushed" in processed["summary"] and processed["row"] == row_id
    in_task = [line for line in traced if "task" in line]
    assert {line["task"] for line in in_task} == {"workers.events.process"}
    assert len({line["task_id"] for line in in_task}) == 1


def _processed(db: sessionmaker[Session]) -> int | None:
    with db() as session:
        return session.scalar(
            select(WebhookLog.id).where(WebhookLog.status == WebhookStatus.PROCESSED)
        )
