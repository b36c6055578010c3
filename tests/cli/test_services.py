"""A command that only uses the stack starts none of it: with no URL set and no embedded
server running, it says so in one line and exits 1, leaving nothing behind
(cli/services.py; embedded/runtime.py `resolve_running`)."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from cli.main import cli


@pytest.mark.parametrize(
    "args",
    [["sites", "list"], ["runs", "list"], ["stats"], ["log"], ["sync", "--all"], ["db", "upgrade"]],
)
def test_with_nothing_running_a_command_says_so_and_starts_nothing(
    tmp_path: Path, args: list[str]
) -> None:
    home = tmp_path / "home"
    env = {
        "STOCKSYNC_HOME": str(home),
        "DATABASE_URL": None,
        "REDIS_URL": None,
        "STOCKSYNC_ENCRYPTION_KEY": None,
    }
    result = CliRunner().invoke(cli, args, env=env)

    assert result.exit_code == 1, result.output
    assert result.output == (
        "Error: nothing running: start the stack with `stocksync up` "
        "(or set DATABASE_URL and REDIS_URL)\n"
    )
    # No data directory, no Redis: nothing was started.
    assert not (home / "postgres").exists()
    assert not (home / "redis").exists()
