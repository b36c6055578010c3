"""`alembic upgrade head` then `downgrade base` (then up again) on an empty database,
and a downgrade that must fix rows first."""

from __future__ import annotations

import os
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

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


def test_0006_keeps_one_live_run_per_site_and_cancels_the_others(
    empty_database: str,
) -> None:
    """Before 0006 the beat and ERP collection notices could start a second live run of
    a site; the unique index can only be built once each site has one: a running run
    before a paused one, the oldest of two running ones."""
    upgrade(empty_database, "0005")
    engine = create_engine(empty_database)
    try:
        with engine.begin() as conn:
            conn.execute(
                text(
                    "INSERT INTO sources (id, name, kind, base_url, credentials_sealed) "
                    "VALUES (1, 'erp', 'businesscentral', 'http://erp', 'x')"
                )
            )
            conn.execute(
                text(
                    "INSERT INTO sites (id, name, platform, base_url, source_id, "
                    "credentials_sealed, timezone) "
                    "VALUES (1, 'shop', 'woocommerce', 'http://shop', 1, 'x', 'UTC'), "
                    "(2, 'other', 'woocommerce', 'http://other', 1, 'x', 'UTC')"
                )
            )
            conn.execute(
                text(
                    "INSERT INTO sync_runs (id, site_id, kind, trigger, status, "
                    "batches_total, batches_pending) VALUES "
                    "(1, 1, 'manual', 'api', 'running', 2, 2), "
                    "(2, 1, 'full', 'beat', 'running', 2, 2), "
                    "(3, 1, 'manual', 'api', 'completed', 0, 0), "
                    "(4, 2, 'manual', 'api', 'paused', 0, 0), "
                    "(5, 2, 'full', 'beat', 'running', 0, 0)"
                )
            )
            conn.execute(
                text(
                    "INSERT INTO sync_batches (run_id, seq, skus, status) VALUES "
                    "(2, 0, '[\"A\", \"B\"]', 'processing'), (2, 1, '[\"C\"]', 'queued')"
                )
            )
        upgrade(empty_database)
        with engine.connect() as conn:
            runs = conn.execute(
                text(
                    "SELECT id, status, skipped, batches_pending, finished_at IS NULL "
                    "FROM sync_runs ORDER BY id"
                )
            ).all()
            batches = conn.execute(
                text("SELECT seq, status FROM sync_batches WHERE run_id = 2 ORDER BY seq")
            ).all()
        downgrade(empty_database, "0005")
        indexes = {i["name"] for i in inspect(engine).get_indexes("sync_runs")}
    finally:
        engine.dispose()
    # The newer live run is cancelled: its queued batch skipped, its processing batch
    # left to finish and close it, as an operator's cancel would.
    assert [tuple(run) for run in runs] == [
        (1, "running", 0, 2, True),
        (2, "cancelled", 1, 1, True),
        (3, "completed", 0, 0, True),
        (4, "cancelled", 0, 0, False),  # nothing processing: closed at once
        (5, "running", 0, 0, True),
    ]
    assert [tuple(batch) for batch in batches] == [(0, "processing"), (1, "cancelled")]
    assert "uq_sync_runs_live_per_site" not in indexes


def _sql(url: str, statement: str) -> list[tuple[Any, ...]]:
    """Run one statement in a transaction of its own; its rows, if it returns any."""
    engine = create_engine(url)
    try:
        with engine.begin() as conn:
            result = conn.execute(text(statement))
            return [tuple(row) for row in result] if result.returns_rows else []
    finally:
        engine.dispose()


def test_0007_remembers_recent_delivery_ids_per_owner_and_clears_times_off_the_calendar(
    empty_database: str,
) -> None:
    """Ids accepted in the last 7 days (the longest TTL) are remembered from the start,
    ERP sources' too; a year-0 event time, which made every reader fail, is cleared."""
    upgrade(empty_database, "0006")
    _sql(
        empty_database,
        "INSERT INTO webhook_log"
        " (provider, site_id, source_id, delivery_id, status, received_at, occurred_at) VALUES"
        " ('shopify', 1, NULL, 'a', 'processed', now() - interval '1 hour', now()),"
        " ('shopify', 1, NULL, 'a', 'duplicate', now(), NULL),"
        " ('shopify', 1, NULL, 'coalesced', 'duplicate', now(), NULL),"
        " ('zoho', NULL, 2, 'z', 'queued', now(), NULL),"
        " ('shopify', 1, NULL, 'refused', 'rejected', now(), NULL),"
        " ('shopify', 1, NULL, 'old', 'processed', now() - interval '8 days', NULL),"
        " ('shopify', 1, NULL, NULL, 'processed', now(), '0001-01-01 00:00:00+01:00')",
    )
    upgrade(empty_database)
    remembered = _sql(
        empty_database,
        "SELECT provider, owner_id, delivery_id FROM webhook_deliveries ORDER BY delivery_id",
    )
    assert remembered == [("shopify", 1, "a"), ("shopify", 1, "coalesced"), ("zoho", 2, "z")]
    assert _sql(empty_database, "SELECT count(occurred_at) FROM webhook_log") == [(1,)]
    downgrade(empty_database, "0006")


def test_0007_downgrade_keeps_one_live_row_per_delivery_for_the_old_index(
    empty_database: str,
) -> None:
    """Since 0007 an id is accepted again after its TTL: the index 0006 had allows one
    live row per delivery, so the later ones are marked duplicates first."""
    upgrade(empty_database)
    _sql(
        empty_database,
        "INSERT INTO webhook_log (provider, site_id, delivery_id, status) VALUES"
        " ('shopify', 1, 'again', 'processed'), ('shopify', 1, 'again', 'queued')",
    )
    downgrade(empty_database, "0006")
    statuses = _sql(empty_database, "SELECT status FROM webhook_log ORDER BY id")
    assert statuses == [("processed",), ("duplicate",)]


def test_0028_downgrade_gives_lines_without_a_unit_price_one(empty_database: str) -> None:
    """The WooCommerce plugin sends line totals, not unit prices; the schema before 0028
    requires a price, so the downgrade derives one (or 0) rather than failing."""
    upgrade(empty_database)
    _sql(
        empty_database,
        "INSERT INTO sources (id, name, kind, base_url, credentials_sealed) "
        "VALUES (1, 'erp', 'businesscentral', 'http://erp', 'x');"
        "INSERT INTO sites (id, name, platform, base_url, source_id, credentials_sealed) "
        "VALUES (1, 'shop', 'woocommerce', 'http://shop', 1, 'x');"
        "INSERT INTO orders (id, site_id, external_id, status, total, raw) "
        "VALUES (1, 1, '1001', 'completed', 30, '{}');"
        "INSERT INTO order_lines (site_id, order_id, external_id, sku, quantity, price, total) "
        "VALUES (1, 1, '#1', 'A', 3, NULL, 30), (1, 1, '#2', 'B', 0, NULL, 0), "
        "(1, 1, '#3', 'C', 1, 5, 5)",
    )
    downgrade(empty_database, "0027")
    prices = _sql(empty_database, "SELECT external_id, price FROM order_lines ORDER BY 1")
    assert prices == [("#1", Decimal("10.0000")), ("#2", Decimal("0")), ("#3", Decimal("5"))]
