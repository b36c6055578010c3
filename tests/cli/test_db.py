"""`stocksync db upgrade` through the real command on a real database."""

from __future__ import annotations

from collections.abc import Iterator

import psycopg2
import pytest
from click.testing import CliRunner
from sqlalchemy import create_engine, inspect
from sqlalchemy.engine import make_url

from cli.main import cli

SCRATCH = "stocksync_cli_test"


@pytest.fixture
def empty_url(database_server_url: str) -> Iterator[str]:
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


def test_db_upgrade_creates_the_schema(empty_url: str) -> None:
    result = CliRunner().invoke(cli, ["db", "upgrade"], env={"DATABASE_URL": empty_url})
    assert result.exit_code == 0, result.output
    engine = create_engine(empty_url)
    try:
        assert {"sites", "items", "sync_runs", "webhook_log"} <= set(
            inspect(engine).get_table_names()
        )
    finally:
        engine.dispose()


def test_a_bad_variable_fails_with_one_line() -> None:
    result = CliRunner().invoke(cli, ["db", "upgrade"], env={"BATCH_SIZE": "many"})
    assert result.exit_code == 1
    assert (
        result.output.strip() == "Error: BATCH_SIZE: expected an integer from 1 to 2000, got 'many'"
    )
