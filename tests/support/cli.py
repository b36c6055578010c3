"""`stocksync ...` through the real click command, on the test database and Redis."""

from __future__ import annotations

from collections.abc import Callable

from click.testing import CliRunner

from cli.main import cli
from settings import Settings


def stocksync(settings: Settings) -> Callable[..., str]:
    """A function running one `stocksync` command line; it asserts the exit code
    (`code=`, 0 unless told) and returns the output."""
    assert settings.database_url and settings.redis_url
    env = {
        "DATABASE_URL": settings.database_url,
        "REDIS_URL": settings.redis_url,
        "STOCKSYNC_ENCRYPTION_KEY": settings.encryption_keys[0],
    }

    def invoke(*args: str, code: int = 0) -> str:
        result = CliRunner().invoke(cli, list(args), env=env)
        assert result.exit_code == code, result.output
        return result.output

    return invoke
