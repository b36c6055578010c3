"""The Celery app through a real worker on real Redis: round trip, priorities, limits."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import replace

import redis
from celery import Celery

import celeryconfig
from settings import Settings
from sync import retry
from tests.support.stack import wait_for
from workers import presets
from workers.app import make_celery


def _wait_for(predicate: Callable[[], bool], timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "condition not met in time"
        time.sleep(0.05)


def _recorder(app: Celery, key: str) -> object:
    """A task of `app` alone: Celery's default (shared=True) would also add it to every
    app made later in the session, whose task lists other tests check."""

    @app.task(name=f"tests.record.{key}", shared=False, **presets.SYNC)
    def record(label: str) -> None:
        redis.Redis.from_url(app.conf.broker_url).rpush(key, label)

    return record


def test_round_trip_through_a_real_worker(
    celery_app: Celery, worker_factory: Callable[..., None], redis_client: redis.Redis
) -> None:
    record = _recorder(celery_app, "roundtrip")
    worker_factory()
    record.delay("hello")  # type: ignore[attr-defined]
    _wait_for(lambda: redis_client.llen("roundtrip") == 1)
    assert redis_client.lrange("roundtrip", 0, -1) == [b"hello"]


def test_a_high_priority_task_overtakes_a_queue_of_low_priority_ones(
    celery_app: Celery, worker_factory: Callable[..., None], redis_client: redis.Redis
) -> None:
    record = _recorder(celery_app, "order")
    for _ in range(50):
        record.apply_async(("low",), priority=presets.PRIORITY_NIGHTLY_SYNC)  # type: ignore[attr-defined]
    record.apply_async(("high",), priority=presets.PRIORITY_EVENT)  # type: ignore[attr-defined]
    worker_factory()
    _wait_for(lambda: redis_client.llen("order") == 51)
    order = [label.decode() for label in redis_client.lrange("order", 0, -1)]
    # Enqueued last, it runs first or nearly (prefetch 1): before most of the 50.
    assert order.index("high") < 5, order


def test_countdowns_and_time_limits_stay_below_the_visibility_timeout() -> None:
    """Otherwise Redis redelivers an unacked message and the task runs twice."""
    limit = celeryconfig.VISIBILITY_TIMEOUT
    assert retry.BACKOFF_CAP_SECONDS < limit / 2
    for name, preset in presets.PRESETS.items():
        assert preset["time_limit"] < limit / 2, name
        assert preset["soft_time_limit"] < preset["time_limit"], name


def test_the_app_speaks_json_only_and_acks_late(celery_app: Celery) -> None:
    conf = celery_app.conf
    assert conf.accept_content == ["json"] and conf.task_serializer == "json"
    assert conf.task_acks_late and conf.task_reject_on_worker_lost
    assert conf.worker_prefetch_multiplier == 1
    assert {q.name for q in conf.task_queues} == {"events", "sync", "maintenance"}


def test_what_flower_shows_of_the_worker_holds_no_secret(
    settings: Settings, celery_app: Celery, worker_factory: Callable[..., None]
) -> None:
    """Flower's worker page renders the worker's `conf` and `stats` replies: neither may
    carry the admin token, an encryption key or the database URL (issue 19 item 1)."""
    worker_factory()
    answers: list[object] = []

    def both_answered() -> bool:
        # A worker just started may miss the first broadcast (CI saw `conf` unanswered
        # and `stats` answered): ask again until both are.
        inspect = celery_app.control.inspect(timeout=2)
        answers[:] = [inspect.conf(), inspect.stats()]
        return all(answers)

    wait_for(both_answered, 30, "the worker's conf and stats replies")
    replies = json.dumps(answers, default=str)
    assert "task_acks_late" in replies and "broker" in replies  # the worker answered
    assert settings.admin_token and settings.database_url
    for secret in (settings.admin_token, *settings.encryption_keys, settings.database_url):
        assert secret not in replies


def test_a_broker_password_is_masked_in_the_config_flower_renders(settings: Settings) -> None:
    """Celery masks the broker URL's password itself; an embedded Redis with one
    (issue 19 item 6) relies on that."""
    app = make_celery(replace(settings, redis_url="redis://:sekrit-broker-pass@127.0.0.1:1/0"))
    try:
        table = json.dumps(app.conf.table(with_defaults=False, censored=True), default=str)
    finally:
        app.close()
    assert "sekrit-broker-pass" not in table and "broker_url" in table
