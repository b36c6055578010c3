"""`alembic upgrade head` then `downgrade base` (then up again) on an empty database."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest
from sqlalchemy import create_engine, inspect

from models import Base
from models.migrate import downgrade, upgrade
from tests.databases import scratch_database

SCRATCH = f"stocksync_migrations_test_{os.getpid()}"


@pytest.fixture
def empty_database(database_server_url: str) -> Iterator[str]:
    with scratch_database(database_server_url, SCRATCH) as url:
        yield url


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
