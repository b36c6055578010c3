"""`alembic upgrade head` then `downgrade base` (then up again) on an empty database,
and a downgrade that must fix rows first."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest
from sqlalchemy import create_engine, inspect, text

from models import Base
from models.migrate import downgrade, upgrade
from tests.support.databases import scratch_database

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


def test_0005_downgrade_clears_ids_of_deleted_owners_then_restores_the_keys(
    empty_database: str,
) -> None:
    # Since 0005 a log row may name a deleted site or source; the keys 0004 had must
    # still be restorable, so those ids are cleared as ON DELETE SET NULL would have.
    upgrade(empty_database)
    engine = create_engine(empty_database)
    try:
        with engine.begin() as conn:
            conn.execute(
                text(
                    "INSERT INTO webhook_log (provider, site_id, source_id, status) "
                    "VALUES ('shopify', 987654, 876543, 'received')"
                )
            )
        downgrade(empty_database, "0004")
        with engine.connect() as conn:
            ids = conn.execute(text("SELECT site_id, source_id FROM webhook_log")).one()
        keys = {fk["name"] for fk in inspect(engine).get_foreign_keys("webhook_log")}
    finally:
        engine.dispose()
    assert tuple(ids) == (None, None)
    assert keys == {"fk_webhook_log_site_id_sites", "fk_webhook_log_source_id_sources"}
