"""Run the relay (workers/relay.py) in a thread for tests that need accepted webhooks to
reach the queue, as `stocksync relay` does in a deployment."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager

import redis

from models.db import make_engine
from settings import Settings
from workers.relay import Relay


@contextmanager
def relaying(settings: Settings) -> Iterator[Relay]:
    assert settings.database_url and settings.redis_url
    engine = make_engine(settings.database_url)
    relay = Relay(engine, redis.Redis.from_url(settings.redis_url), settings.dedupe_window_seconds)
    stop = threading.Event()
    thread = threading.Thread(target=relay.run, args=(stop.is_set,), name="relay", daemon=True)
    thread.start()
    try:
        yield relay
    finally:
        stop.set()
        thread.join(timeout=10)
        engine.dispose()
