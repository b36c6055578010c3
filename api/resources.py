"""What request handlers share: settings, the database, Redis. One bundle per app."""

from __future__ import annotations

from dataclasses import dataclass

import redis
from celery import Celery
from flask import current_app
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from api.intake import IntakeWriter
from api.owners import OwnerCache
from models.crypto import Vault
from models.db import make_engine, make_sessionmaker
from settings import Settings
from workers.app import make_celery

#: The receiver must answer fast even when Redis is down (DESIGN.md flow 1), so Redis
#: calls on the request path give up quickly and the outbox sweeper catches up later.
REDIS_TIMEOUT_SECONDS = 0.5


@dataclass(frozen=True)
class Resources:
    settings: Settings
    engine: Engine
    sessions: sessionmaker[Session]
    redis: redis.Redis
    vault: Vault
    #: A Celery client, used only to publish tasks from the web process.
    celery: Celery
    #: Writes the webhook log rows, several requests' rows per commit, on a connection
    #: of its own (its engine only opens it; api/intake.py says when it is checked).
    intake: IntakeWriter
    owners: OwnerCache

    @classmethod
    def build(cls, settings: Settings) -> Resources:
        assert settings.database_url and settings.redis_url, "settings must be resolved"
        # A short connect timeout: with PostgreSQL down the receiver must answer 503
        # quickly, so the platform retries, instead of holding the connection.
        engine = make_engine(settings.database_url, connect_timeout=2)
        client = redis.Redis.from_url(
            settings.redis_url,
            socket_timeout=REDIS_TIMEOUT_SECONDS,
            socket_connect_timeout=REDIS_TIMEOUT_SECONDS,
        )
        sessions = make_sessionmaker(engine)
        vault = Vault(settings.encryption_keys)
        celery = make_celery(settings)
        intake = IntakeWriter(make_engine(settings.database_url, connect_timeout=2, pre_ping=False))
        return cls(
            settings, engine, sessions, client, vault, celery, intake, OwnerCache(sessions, vault)
        )


def resources() -> Resources:
    res: Resources = current_app.extensions["stocksync"]
    return res
