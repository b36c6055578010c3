"""What request handlers share: settings, the database, Redis. One bundle per app."""

from __future__ import annotations

from dataclasses import dataclass

import redis
from flask import current_app
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from models.db import make_engine, make_sessionmaker
from settings import Settings

#: The receiver must answer fast even when Redis is down (DESIGN.md flow 1), so Redis
#: calls on the request path give up quickly and the outbox sweeper catches up later.
REDIS_TIMEOUT_SECONDS = 0.5


@dataclass(frozen=True)
class Resources:
    settings: Settings
    engine: Engine
    sessions: sessionmaker[Session]
    redis: redis.Redis

    @classmethod
    def build(cls, settings: Settings) -> Resources:
        assert settings.database_url and settings.redis_url, "settings must be resolved"
        engine = make_engine(settings.database_url)
        client = redis.Redis.from_url(
            settings.redis_url,
            socket_timeout=REDIS_TIMEOUT_SECONDS,
            socket_connect_timeout=REDIS_TIMEOUT_SECONDS,
        )
        return cls(settings, engine, make_sessionmaker(engine), client)


def resources() -> Resources:
    res: Resources = current_app.extensions["stocksync"]
    return res
