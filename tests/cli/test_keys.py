"""`stocksync keys admin-token`: a token that start-up accepts as ADMIN_TOKEN."""

from __future__ import annotations

from click.testing import CliRunner

from cli.main import cli
from settings import load_settings


def test_admin_token_prints_a_token_that_settings_accept() -> None:
    tokens = set()
    for _ in range(3):
        result = CliRunner().invoke(cli, ["keys", "admin-token"], catch_exceptions=False)
        assert result.exit_code == 0
        token = result.output.strip()
        assert load_settings({"ADMIN_TOKEN": token}).admin_token == token
        tokens.add(token)
    assert len(tokens) == 3
