"""`stocksync db upgrade` through the real command on a real database."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest
from click.testing import CliRunner
from sqlalchemy import create_engine, inspect

from cli.main import cli
from settings import Settings
from tests.support.databases import scratch_database

SCRATCH = f"stocksync_cli_test_{os.getpid()}"


@pytest.fixture
def empty_url(database_server_url: str) -> Iterator[str]:
    with scratch_database(database_server_url, SCRATCH) as url:
        yield url


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


@pytest.mark.parametrize("args", [["runs", "list"], ["sites", "list"], ["stats"]])
def test_a_database_never_upgraded_is_one_line_not_a_traceback(
    empty_url: str, redis_client: object, settings: Settings, args: list[str]
) -> None:
    assert settings.redis_url
    key = settings.encryption_keys[0]
    env = {
        "DATABASE_URL": empty_url,
        "REDIS_URL": settings.redis_url,
        "STOCKSYNC_ENCRYPTION_KEY": key,
    }

    result = CliRunner().invoke(cli, args, env=env)

    assert result.exit_code == 1, result.output
    assert result.output == (
        "Error: the database has no stocksync tables, or older ones: "
        "run `stocksync db upgrade` (stocksync up does it too)\n"
    )
