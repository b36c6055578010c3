"""`stocksync sources/sites ...` through the real commands on the test database."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from cli.main import cli
from models import Site, Source
from models.crypto import Vault
from settings import Settings
from tests.support.cli import stocksync


@pytest.fixture
def run(settings: Settings, db: sessionmaker[Session]):  # type: ignore[no-untyped-def]
    return stocksync(settings)


def _site(db: sessionmaker[Session]) -> Site:
    with db() as session:
        return session.scalars(select(Site)).one()


def test_register_toggle_and_rotate(run, db: sessionmaker[Session], vault: Vault) -> None:  # type: ignore[no-untyped-def]
    run(
        "sources",
        "add",
        "erp",
        "--kind",
        "businesscentral",
        "--base-url",
        "http://erp",
        "--credentials",
        '{"client_secret": "erp-secret"}',
    )
    out = run(
        "sites",
        "add",
        "shop",
        "--platform",
        "shopify",
        "--base-url",
        "http://shop",
        "--source",
        "erp",
        "--credentials",
        '{"access_token": "shpat_x"}',
        "--webhook-secret",
        "first",
        "--timezone",
        "America/New_York",
    )
    assert "/webhooks/shopify/1" in out
    listed = json.loads(run("sites", "list", "--json"))
    assert listed[0]["timezone"] == "America/New_York" and listed[0]["webhooks_active"]
    assert "shpat_x" not in json.dumps(listed) and "first" not in json.dumps(listed)

    run("sites", "toggle", "shop", "--webhooks", "off")
    assert not _site(db).webhooks_active
    assert run("sources", "toggle", "erp", "--webhooks", "off").strip() == "source 1 webhooks off"
    with db() as session:
        assert not session.scalars(select(Source)).one().webhooks_active

    out = run("sites", "set-secret", "1")
    generated = out.split(": ", 1)[1].strip()
    assert vault.open(_site(db).webhook_secret_sealed or "") == generated

    key = run("sites", "api-key", "shop").split(": ", 1)[1].strip()
    assert _site(db).api_key_hash and key not in (_site(db).api_key_hash or "")


def test_bad_input_is_a_clear_error(settings: Settings, db: sessionmaker[Session]) -> None:
    env = {
        "DATABASE_URL": settings.database_url,
        "REDIS_URL": settings.redis_url,
        "STOCKSYNC_ENCRYPTION_KEY": settings.encryption_keys[0],
    }
    runner = CliRunner()
    result = runner.invoke(
        cli,
        [
            "sites",
            "add",
            "s",
            "--platform",
            "shopify",
            "--base-url",
            "x",
            "--source",
            "nope",
            "--credentials",
            "{}",
        ],
        env=env,
    )
    assert result.exit_code == 1 and "no source 'nope'" in result.output
    runner.invoke(
        cli,
        ["sources", "add", "erp", "--kind", "zoho", "--base-url", "x", "--credentials", "{}"],
        env=env,
    )
    result = runner.invoke(
        cli,
        [
            "sites",
            "add",
            "s",
            "--platform",
            "shopify",
            "--base-url",
            "x",
            "--source",
            "erp",
            "--credentials",
            "{}",
            "--timezone",
            "Mars/Base",
        ],
        env=env,
    )
    assert result.exit_code == 1 and "unknown IANA time zone" in result.output
