"""What request handlers share: the service context, the receiver's intake writer and
owner cache. One bundle per app, built by the factory, and closed by `close_all`."""

from __future__ import annotations

from dataclasses import dataclass, field

import redis
from flask import current_app
from sqlalchemy import Engine

from api.intake import IntakeWriter
from api.owners import OwnerCache
from api.refusals import RefusalTally
from models.db import make_engine, make_sessionmaker
from settings import Settings
from sync.context import Context
from workers.context import client_context

#: The receiver must answer fast even when Redis is down (docs/architecture.md flow 1),
#: so Redis calls from the web process give up quickly; the outbox sweeper catches up.
REDIS_TIMEOUT_SECONDS = 0.5
#: The longest the web process waits on PostgreSQL for one connection or statement:
#: the receiver and `/readyz`, then admin routes, the dashboard and `/metrics`. A hung
#: database gets a 503 (or `source_up 0`) in about that time, not a hang (models/db.py
#: `make_engine`, api/postgres_waits.py).
RECEIVER_WAIT_SECONDS = 1.0
ADMIN_WAIT_SECONDS = 3.0


@dataclass(frozen=True)
class Resources:
    #: The service layer's context: every admin route calls `sync/` with it. Its broker
    #: is a Celery client, used only to publish tasks from the web process.
    ctx: Context
    #: Writes the webhook log rows, several requests' rows per commit, on a connection
    #: of its own (its engine only opens it; api/intake.py says when it is checked).
    intake: IntakeWriter
    owners: OwnerCache
    #: The receiver's own pool, with its shorter bound: the owner cache reads through it
    #: and `/readyz` checks it.
    receiver_engine: Engine
    #: Unknown-owner refusals, logged one row per provider a minute (api/refusals.py).
    refusals: RefusalTally = field(default_factory=RefusalTally)

    @property
    def settings(self) -> Settings:
        return self.ctx.settings

    @classmethod
    def build(cls, settings: Settings) -> Resources:
        assert settings.database_url and settings.redis_url, "settings must be resolved"
        # A short connect timeout: with PostgreSQL down the receiver must answer 503
        # quickly, so the platform retries, instead of holding the connection.
        url = settings.database_url
        engine = make_engine(url, connect_timeout=2, wait_seconds=ADMIN_WAIT_SECONDS)
        client = redis.Redis.from_url(
            settings.redis_url,
            socket_timeout=REDIS_TIMEOUT_SECONDS,
            socket_connect_timeout=REDIS_TIMEOUT_SECONDS,
        )
        ctx = client_context(settings, engine=engine, redis_client=client)
        intake = IntakeWriter(
            make_engine(url, connect_timeout=2, pre_ping=False, wait_seconds=RECEIVER_WAIT_SECONDS),
            # A row may wait for the batch in flight, then for its own.
            timeout=2 * RECEIVER_WAIT_SECONDS,
            ttl_seconds=settings.idempotency_ttl_seconds,
        )
        receiver_engine = make_engine(
            url, pool_size=2, connect_timeout=2, wait_seconds=RECEIVER_WAIT_SECONDS
        )
        owners = OwnerCache(make_sessionmaker(receiver_engine), ctx.vault)
        built = cls(ctx, intake, owners, receiver_engine)
        _BUILT.append(built)
        return built

    def close(self) -> None:
        """Close the intake writer (its thread, connection and engine) and the context."""
        self.intake.close()
        self.receiver_engine.dispose()
        self.ctx.dispose()


#: Every bundle this process built and has not closed. Held strongly: an app may be
#: gone while its intake writer's thread, connection and engine live on.
_BUILT: list[Resources] = []


def close_all() -> None:
    """Close every app's resources this process built: for a process that builds many
    apps and goes on, as the test suite does after each test (api/intake.py `close`)."""
    while _BUILT:
        _BUILT.pop().close()


def resources() -> Resources:
    res: Resources = current_app.extensions["stocksync"]
    return res


def context() -> Context:
    """The service context of the current app, for a route to call `sync/` with."""
    return resources().ctx
