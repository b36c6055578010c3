"""A real Celery app on the test Redis and a real worker consuming from it."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import ExitStack

import pytest
import redis
from celery import Celery

from settings import Settings
from sync.context import Context
from tests.support.stack import FAST, installed_context, workers
from workers.app import make_celery


@pytest.fixture
def celery_app(settings: Settings, redis_client: redis.Redis) -> Celery:
    return make_celery(settings)


@pytest.fixture
def worker_factory(celery_app: Celery) -> Iterator[object]:
    """Start a worker on demand (after a test has queued its messages)."""
    with ExitStack() as started:
        yield lambda concurrency=1: started.enter_context(workers(celery_app, concurrency))


@pytest.fixture
def sync_ctx(settings: Settings, redis_client: redis.Redis) -> Iterator[Context]:
    """The worker context every task of this process uses, with test-short waits."""
    with installed_context(settings, **FAST) as context:
        yield context
