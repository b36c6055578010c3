"""`alembic upgrade head` then `downgrade base` (then up again) on an empty database."""

from __future__ import annotations

from collections.abc import Iterator

import psycopg2
import pytest
from sqlalchemy import create_engine, inspect
from sqlalchemy.engine import make_url

from models import Base
from models.migrate import downgrade, upgrade

SCRATCH = "stocksync_migrations_test"


@pytest.fixture
def empty_database(database_server_url: str) -> Iterator[str]:
    admin = make_url(database_server_url)
    conn = psycopg2.connect(admin.set(drivername="postgresql").render_as_string(False))
    conn.autocommit = True
    with conn.cursor() as cur:
        cur.execute(f'DROP DATABASE IF EXISTS "{SCRATCH}" WITH (FORCE)')
        cur.execute(f'CREATE DATABASE "{SCRATCH}"')
    yield admin.set(database=SCRATCH).render_as_string(False)
    with conn.cursor() as cur:
        cur.execute(f'DROP DATABASE IF EXISTS "{SCRATCH}" WITH (FORCE)')
    conn.close()


def _tables(url: str) -> set[str]:
    engine = create_engine(url)
    try:
        return set(inspect(engine).get_table_names())
    finally:
        engine.dispose()


def test_upgrade_downgrade_upgrade(empty_database: str) -> None:
    expected = {t.name for t in Base.metadata.sorted_tables}
    upgrade(empty_database)
    assert expected <= _tables(empty_database)
    downgrade(empty_database, "base")
    assert _tables(empty_database) <= {"alembic_version"}
    upgrade(empty_database)
    assert expected <= _tables(empty_database)
