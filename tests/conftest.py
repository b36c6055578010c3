"""Fixtures: real PostgreSQL, real Redis, a real Celery worker.

Servers: those named by TEST_DATABASE_URL / TEST_REDIS_URL if set, else embedded ones
started under STOCKSYNC_TEST_HOME (default `var/test`). Each test that asks for `db`
gets a freshly truncated schema, and each that asks for `redis_client` an empty
keyspace, so TEST_REDIS_URL must name a disposable Redis database.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest
import redis
from cryptography.fernet import Fernet
from sqlalchemy import Engine, text
from sqlalchemy.orm import Session, sessionmaker

from api.resources import close_all
from models import Base
from models.crypto import Vault
from models.db import make_engine, make_sessionmaker
from models.migrate import upgrade
from settings import Settings, normalize_database_url
from tests.support.admin_api import TOKEN
from tests.support.databases import scratch_database

#: Per process: several test sessions (developers, CI) may share one server.
TEST_DATABASE = f"stocksync_test_{os.getpid()}"
ROOT = Path(__file__).resolve().parent.parent


def _test_home() -> Path:
    return Path(os.environ.get("STOCKSYNC_TEST_HOME") or ROOT / "var" / "test").resolve()


@pytest.fixture(scope="session")
def database_server_url() -> str:
    """A URL to the server's maintenance database, embedded if none is configured."""
    configured = os.environ.get("TEST_DATABASE_URL")
    if configured:
        return normalize_database_url(configured)
    from embedded.postgres import ensure_postgres

    return ensure_postgres(_test_home(), database="postgres")


@pytest.fixture(scope="session")
def database_url(database_server_url: str) -> Iterator[str]:
    """This session's own database at the head migration."""
    with scratch_database(database_server_url, TEST_DATABASE) as url:
        upgrade(url)
        yield url


@pytest.fixture(scope="session")
def redis_url() -> str:
    configured = os.environ.get("TEST_REDIS_URL")
    if configured:
        return configured
    from embedded.redis import ensure_redis

    # The embedded server is shared by this machine's test sessions: each takes its
    # own database index (1-15), since each test empties its keyspace.
    base = ensure_redis(_test_home()).rsplit("/", 1)[0]
    return f"{base}/{os.getpid() % 15 + 1}"


@pytest.fixture(scope="session")
def encryption_key() -> str:
    return Fernet.generate_key().decode()


@pytest.fixture
def settings(database_url: str, redis_url: str, encryption_key: str, tmp_path: Path) -> Settings:
    return Settings(
        database_url=database_url,
        redis_url=redis_url,
        home=tmp_path,
        encryption_keys=(encryption_key,),
        admin_token=TOKEN,
    )


@pytest.fixture(scope="session")
def engine(database_url: str) -> Iterator[Engine]:
    engine = make_engine(database_url)
    yield engine
    engine.dispose()


@pytest.fixture
def db(engine: Engine) -> sessionmaker[Session]:
    """A session factory on a schema emptied before the test."""
    tables = ", ".join(t.name for t in Base.metadata.sorted_tables)
    with engine.begin() as conn:
        conn.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))
    return make_sessionmaker(engine)


@pytest.fixture
def redis_client(redis_url: str) -> Iterator[redis.Redis]:
    client = redis.Redis.from_url(redis_url)
    client.flushdb()
    yield client
    client.close()


@pytest.fixture
def vault(settings: Settings) -> Vault:
    return Vault(settings.encryption_keys)


@pytest.fixture
def unreachable_settings(settings: Settings) -> Settings:
    """Settings pointing at ports where nothing listens (outage tests)."""
    return replace(
        settings,
        database_url="postgresql+psycopg2://postgres@127.0.0.1:1/none",
        redis_url="redis://127.0.0.1:1/0",
    )


@pytest.fixture(autouse=True)
def _close_apps() -> Iterator[None]:
    """Close what each web app of the test opened (its connections, its intake writer's
    thread): left open, the apps of a whole run exhausted PostgreSQL's connections."""
    yield
    close_all()
