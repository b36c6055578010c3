"""A real Celery app on the test Redis and a real worker consuming from it."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import redis
from celery import Celery
from celery.contrib.testing.worker import start_worker

import celeryconfig
from settings import Settings
from tests.support.stack import FAST, installed_context
from workers.app import make_celery
from workers.context import WorkerContext


@pytest.fixture
def celery_app(settings: Settings, redis_client: redis.Redis) -> Celery:
    return make_celery(settings)


@pytest.fixture
def worker_factory(celery_app: Celery) -> Iterator[object]:
    """Start a worker on demand (after a test has queued its messages)."""
    started: list[object] = []

    def start(concurrency: int = 1) -> None:
        context = start_worker(
            celery_app,
            pool="solo" if concurrency == 1 else "threads",
            concurrency=concurrency,
            perform_ping_check=False,
            queues=list(celeryconfig.QUEUES),
            loglevel="WARNING",
            shutdown_timeout=30,
        )
        context.__enter__()
        started.append(context)

    yield start
    for context in started:
        context.__exit__(None, None, None)  # type: ignore[attr-defined]


@pytest.fixture
def sync_ctx(settings: Settings, redis_client: redis.Redis) -> Iterator[WorkerContext]:
    """The worker context every task of this process uses, with test-short waits."""
    with installed_context(settings, **FAST) as context:
        yield context
