"""The worker process's service context (sync/context.py), built once per settings.

`get_context(app)` builds it lazily from the app's resolved settings (`settings_of(app)`,
kept by `make_celery` outside the Celery config Flower shows) the first time a task
asks, so importing a task module connects to nothing. A prefork child inherits its parent's
objects; `worker_process_init` drops the inherited database connections (a socket
shared by two processes corrupts both) and redis-py reconnects by itself after a fork.
"""

from __future__ import annotations

import threading
from typing import Any

import redis
from celery import Celery, current_app
from celery.signals import worker_process_init

from settings import Settings
from sync.context import Context, build_context
from workers.app import make_celery, settings_of
from workers.broker import CeleryBroker

_contexts: dict[Settings, Context] = {}
_lock = threading.Lock()


def context_for(app: Celery, **options: Any) -> Context:
    """A new context on `app`'s settings whose broker is `app`'s."""
    settings = settings_of(app)
    assert settings.redis_url, "make_celery resolved the settings"
    client = redis.Redis.from_url(settings.redis_url)
    return build_context(settings, CeleryBroker(app, client), redis_client=client, **options)


def client_context(
    settings: Settings, *, redis_client: redis.Redis | None = None, **options: Any
) -> Context:
    """A context for a process that publishes tasks but runs none (the web app, the
    CLI, the demo, benchmarks): a Celery client of its own, closed with the context.
    `redis_client` and `options` as `sync.context.build_context`'s (timeouts)."""
    assert settings.redis_url, "resolved settings"
    client = redis_client or redis.Redis.from_url(settings.redis_url)
    broker = CeleryBroker(make_celery(settings), client, owns_app=True)
    return build_context(settings, broker, redis_client=client, **options)


def get_context(app: Celery | None = None) -> Context:
    """The process's context for `app` (default: the current app), built on first use.

    Keyed by settings, so the apps of a test run, each with its own settings, never
    share a database engine.
    """
    app = app or current_app
    settings = settings_of(app)
    with _lock:
        context = _contexts.get(settings)
        if context is None:
            context = _contexts[settings] = context_for(app)
        return context


def install(context: Context) -> None:
    """Make `context` the one `get_context` returns for its settings (tests)."""
    with _lock:
        previous = _contexts.pop(context.settings, None)
        _contexts[context.settings] = context
    if previous is not None and previous is not context:
        previous.dispose()


def reset() -> None:
    """Dispose of every context of this process (test teardown)."""
    with _lock:
        contexts = list(_contexts.values())
        _contexts.clear()
    for context in contexts:
        context.dispose()


@worker_process_init.connect
def _after_fork(**_: Any) -> None:
    """Leave the parent's pooled connections to the parent (SQLAlchemy's fork recipe)."""
    with _lock:
        for context in _contexts.values():
            context.engine.dispose(close=False)
