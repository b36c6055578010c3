"""What every task needs (database, Redis, vault, connectors), built once per process.

`get_context()` builds it lazily from the app's resolved settings
(`app.conf.stocksync_settings`, set by `make_celery`) the first time a task asks, so
importing a task module connects to nothing. A prefork child inherits its parent's
objects; `worker_process_init` drops the inherited database connections (a socket
shared by two processes corrupts both) and redis-py reconnects by itself after a fork.

Every wait the workers choose lives here too (`pacing`, `backoff_base_seconds`,
`delivery_schedule`), so a test builds a context with short ones and installs it,
instead of patching constants.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import Any

import redis
from celery import Celery, current_app
from celery.signals import worker_process_init
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from connectors.interfaces import InventorySource, Storefront
from connectors.registry import build_source, build_storefront
from models import Site, Source
from models.crypto import Vault
from models.db import make_engine, make_sessionmaker
from settings import Settings
from sync.limits import MAX_WAIT_SECONDS, StoreLimit, quota_for
from sync.pacing import Pacing, gate_connector
from workers import presets
from workers.token_cache import RedisTokenCache

#: Seconds between the attempts of a lifecycle event delivery: exponential, about a
#: day in all (Standard Webhooks' example schedule spans three, platforms.md section 9).
DELIVERY_SCHEDULE: tuple[float, ...] = (5, 60, 300, 1800, 3600, 7200, 14400, 28800, 28800)


@dataclass
class WorkerContext:
    """Connections and connector factories of one process (see the module docstring)."""

    settings: Settings
    engine: Engine
    sessions: sessionmaker[Session]
    redis: redis.Redis
    vault: Vault
    #: In-place retries of throttled store requests (sync/pacing.py).
    pacing: Pacing = field(default_factory=Pacing)
    #: Base of the task-level retry backoff (presets.backoff_seconds).
    backoff_base_seconds: float = presets.BACKOFF_BASE_SECONDS
    #: Longest wait for a place in a store's shared limit before the task retries.
    limit_max_wait: float = MAX_WAIT_SECONDS
    delivery_schedule: tuple[float, ...] = DELIVERY_SCHEDULE

    @property
    def token_cache(self) -> RedisTokenCache:
        return RedisTokenCache(self.redis)

    def storefront(self, site: Site) -> Storefront:
        """The site's connector, every request of it paced by the site's shared limit."""
        store = build_storefront(
            str(site.platform),
            site.base_url,
            self.vault.open(site.credentials_sealed),
            token_cache=self.token_cache,
        )
        gate_connector(store, self.store_limit(site), self.pacing)
        return store

    def source(self, source: Source) -> InventorySource:
        """The source's connector; short throttles (BC's 429/503 with `Retry-After`,
        platforms.md section 7) are retried in place like a store's."""
        erp = build_source(
            str(source.kind),
            source.base_url,
            self.vault.open(source.credentials_sealed),
            token_cache=self.token_cache,
        )
        gate_connector(erp, None, self.pacing)
        return erp

    def store_limit(self, site: Site) -> StoreLimit:
        return StoreLimit(self.redis, site.id, quota_for(site), max_wait=self.limit_max_wait)

    def backoff(self, attempt: int, hint: float | None) -> float:
        """Countdown before task retry `attempt`: the presets' curve at our base.

        The server's hint is a floor and the cap stays far below the visibility timeout.
        """
        scale = self.backoff_base_seconds / presets.BACKOFF_BASE_SECONDS
        delay = presets.backoff_seconds(attempt) * scale
        return min(max(delay, hint or 0.0), presets.BACKOFF_CAP_SECONDS)

    def dispose(self) -> None:
        self.engine.dispose()
        self.redis.close()


def build_context(settings: Settings, **options: Any) -> WorkerContext:
    """A context on `settings` (resolved: service URLs and keys filled in)."""
    if not settings.database_url or not settings.redis_url:
        raise ValueError("build_context needs resolved settings (database_url, redis_url)")
    engine = make_engine(settings.database_url)
    return WorkerContext(
        settings=settings,
        engine=engine,
        sessions=make_sessionmaker(engine),
        redis=redis.Redis.from_url(settings.redis_url),
        vault=Vault(settings.encryption_keys),
        **options,
    )


_contexts: dict[Settings, WorkerContext] = {}
_lock = threading.Lock()


def get_context(app: Celery | None = None) -> WorkerContext:
    """The process's context for `app` (default: the current app), built on first use.

    Keyed by settings, so the apps of a test run, each with its own settings, never
    share a database engine.
    """
    settings: Settings = (app or current_app).conf.stocksync_settings
    with _lock:
        context = _contexts.get(settings)
        if context is None:
            context = _contexts[settings] = build_context(settings)
        return context


def install(context: WorkerContext) -> None:
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
