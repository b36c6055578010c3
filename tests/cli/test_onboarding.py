"""Onboarding a store or an ERP by the command line alone (issue 21 items 1 and 7):
keys checked when added, files read with one-line errors, addresses checked, edit,
remove and re-add, `--json` everywhere, and which webhook secret each platform expects.
Through the real commands (click's runner) on the test database."""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from api.app import create_app
from cli.main import cli
from connectors.credentials import CREDENTIAL_KEYS
from models import Site, Source, WebhookLog
from models.crypto import Vault
from settings import Settings
from sync.accounts import BASE_URL_EXAMPLES, WEBHOOK_SECRETS
from tests.factories.sync import run_row
from tests.factories.webhook_log import log_row
from tests.support.admin_api import Api
from tests.support.cli import stocksync

BC_KEYS = {"tenant_id": "t", "client_id": "c", "client_secret": "bc-s3cret", "company_id": "co"}
WOO_KEYS = {"consumer_key": "ck_live_key", "consumer_secret": "cs_live_secret"}
ERP = (
    "--kind",
    "businesscentral",
    "--base-url",
    "https://api.businesscentral.dynamics.com",
    "--credentials",
    json.dumps(BC_KEYS),
)
#: A WooCommerce store on this machine, as the sandboxes are (http only there).
STORE = (
    "--platform",
    "woocommerce",
    "--base-url",
    "http://127.0.0.1:8080",
    "--source",
    "erp",
)


@pytest.fixture
def run(settings: Settings, db: sessionmaker[Session], redis_client: object) -> Callable[..., str]:
    """The CLI on an emptied schema and keyspace: a budget another test's site 1 drew
    on would otherwise show in this test's site 1."""
    return stocksync(settings)


def _env(settings: Settings) -> dict[str, str]:
    """What tests/support/cli.py gives its commands."""
    assert settings.database_url and settings.redis_url
    return {
        "DATABASE_URL": settings.database_url,
        "REDIS_URL": settings.redis_url,
        "STOCKSYNC_ENCRYPTION_KEY": settings.encryption_keys[0],
    }


@pytest.fixture
def stdout(settings: Settings, db: sessionmaker[Session]) -> Callable[..., Any]:
    """A command's standard output alone, parsed as the JSON it must be."""

    def invoke(*args: str, given: str | None = None) -> Any:
        result = CliRunner().invoke(cli, [*args, "--json"], env=_env(settings), input=given)
        assert result.exit_code == 0, result.output
        return json.loads(result.stdout)

    return invoke


def _sites(db: sessionmaker[Session]) -> list[Site]:
    with db() as session:
        return list(session.scalars(select(Site).order_by(Site.id)))


def _one_line_error(out: str) -> str:
    lines = out.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("Error: "), out
    assert "Traceback" not in out
    return lines[0]


def test_missing_keys_are_refused_when_the_store_is_added(run, db) -> None:  # type: ignore[no-untyped-def]
    run("sources", "add", "--no-check", "erp", *ERP)
    out = run("sites", "add", "--no-check", "shop", *STORE, "--credentials", "{}", code=1)
    line = _one_line_error(out)
    assert line == (
        "Error: credentials for woocommerce: missing consumer_key (REST API key (ck_...), "
        "Read/Write), missing consumer_secret (its secret (cs_...))"
    )
    out = run(
        "sites",
        "add",
        "--no-check",
        "shop",
        *STORE,
        "--credentials",
        '{"consumer_key": "ck_x"}',
        code=1,
    )
    assert "missing consumer_secret" in out and "ck_x" not in out
    out = run("sources", "add",
"--no-check", "z", "--kind", "zoho", "--base-url", "https://z.example",
              "--credentials", '{"client_id": "zid"}', code=1)  # fmt: skip
    assert "credentials for zoho: missing client_secret" in _one_line_error(out)
    assert [site.name for site in _sites(db)] == []


@pytest.mark.parametrize("option", ["--credentials", "--webhook-secret"])
def test_a_file_that_cannot_be_used_is_one_line_naming_it_exit_2(
    run, db, tmp_path: Path, option: str
) -> None:  # type: ignore[no-untyped-def]
    run("sources", "add", "--no-check", "erp", *ERP)
    good = json.dumps(WOO_KEYS)
    not_json = tmp_path / "keys.txt"
    not_json.write_text("consumer_key=ck_leaked_value")
    a_list = tmp_path / "list.json"
    a_list.write_text('["ck_listed"]')

    def add(value: str) -> str:
        args = {"--credentials": good, "--webhook-secret": None, option: value}
        given = [arg for name, val in args.items() if val is not None for arg in (name, val)]
        return _one_line_error(run("sites", "add", "--no-check", "shop", *STORE, *given, code=2))

    missing = tmp_path / "missing.json"
    assert add(f"@{missing}") == f"Error: {option}: no file {missing}"
    line = add(f"@{not_json}")
    assert line.startswith(f"Error: {option}: {not_json} is not valid JSON (Expecting value)")
    assert "ck_leaked_value" not in line
    expected = "not an object" if option == "--credentials" else "not a string or object"
    assert add(f"@{a_list}") == f"Error: {option}: {a_list} holds a JSON array, {expected}"
    assert add(f"@{tmp_path}") == f"Error: {option}: {tmp_path} is a directory, not a file"
    assert add("@") == f"Error: {option}: give a file name after @"
    if os.geteuid() != 0:  # root reads any file
        locked = tmp_path / "locked.json"
        locked.write_text("{}")
        locked.chmod(0)
        assert add(f"@{locked}") == f"Error: {option}: cannot read {locked}: permission denied"
    if option == "--credentials":
        line = add('{"consumer_key": ck_inline_value}')
        assert "not valid JSON" in line and "ck_inline_value" not in line
    assert _sites(db) == []


def test_keys_and_secrets_are_read_from_files(run, db, vault: Vault, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    keys = tmp_path / "woo.json"
    keys.write_text(json.dumps(WOO_KEYS))
    hook = tmp_path / "hook.json"
    hook.write_text('"whsec-from-file"')
    run("sources", "add", "--no-check", "erp", *ERP)
    run(
        "sites",
        "add",
        "--no-check",
        "shop",
        *STORE,
        "--credentials",
        f"@{keys}",
        "--webhook-secret",
        f"@{hook}",
    )
    (site,) = _sites(db)
    assert vault.open(site.credentials_sealed) == WOO_KEYS
    assert vault.open(site.webhook_secret_sealed or "") == "whsec-from-file"


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("notaurl", "Error: base URL must look like https://shop.example.com"),
        ("http://shop.example.com", "must use https"),
        ("https://ck:cs@shop.example.com", "must not carry a user or password"),
        ("https://shop.example.com/?a=1", "no query or fragment"),
    ],
)
def test_a_bad_address_is_refused_in_one_line(run, db, url: str, message: str) -> None:  # type: ignore[no-untyped-def]
    run("sources", "add", "--no-check", "erp", *ERP)
    args = ["--platform", "woocommerce", "--source", "erp", "--credentials", json.dumps(WOO_KEYS)]
    line = _one_line_error(
        run("sites", "add", "--no-check", "shop", "--base-url", url, *args, code=1)
    )
    assert message in line and "ck:cs" not in line
    out = run("sources", "add", "--no-check", "erp2", *ERP[:2], "--base-url", url, *ERP[4:], code=1)
    assert message.replace("shop.example.com", "") in out
    assert _sites(db) == []


@pytest.mark.parametrize(("group", "kinds"), [("sites", 3), ("sources", 2)])
def test_help_lists_every_platforms_keys_and_secret_line_by_line(
    run, group: str, kinds: int
) -> None:  # type: ignore[no-untyped-def]
    """click rewraps help paragraphs; these must keep one key per line."""
    lines = [line.strip() for line in run(group, "add", "--no-check", "--help").splitlines()]
    headings = {p: f"{p} (--base-url {BASE_URL_EXAMPLES[p]}):" for p in CREDENTIAL_KEYS}
    platforms = [p for p in CREDENTIAL_KEYS if headings[p] in lines]
    assert len(platforms) == kinds
    for platform in platforms:
        start = lines.index(headings[platform])
        for key in CREDENTIAL_KEYS[platform]:
            optional = "" if key.required else " (optional)"
            assert f"{key.name}{optional}: {key.help}" in lines[start:]
        assert f"{platform}: {WEBHOOK_SECRETS[platform]}" in lines


def test_edit_a_store_and_an_erp(run, db, vault: Vault) -> None:  # type: ignore[no-untyped-def]
    run("sources", "add", "--no-check", "erp", *ERP)
    run("sources", "add", "--no-check", "erp2", *ERP)
    run("sites", "add", "--no-check", "shop", *STORE, "--credentials", json.dumps(WOO_KEYS))
    new_keys = {"consumer_key": "ck_2", "consumer_secret": "cs_2"}
    out = run(
        "sites", "edit", "shop", "--name", "store", "--base-url", "https://store.example.com",
        "--credentials", json.dumps(new_keys), "--timezone", "Europe/Paris",
        "--full-sync-hour", "4", "--source", "erp2",
    )  # fmt: skip
    assert out.strip() == (
        "site 1 store updated: base_url, credentials, full_sync_hour, name, source, timezone"
    )
    (site,) = _sites(db)
    assert (site.name, site.base_url, site.timezone, site.full_sync_hour) == (
        "store", "https://store.example.com", "Europe/Paris", 4
    )  # fmt: skip
    assert vault.open(site.credentials_sealed) == new_keys
    with db() as session:
        assert session.get_one(Source, site.source_id).name == "erp2"
    assert "missing consumer_secret" in _one_line_error(
        run("sites", "edit", "store", "--credentials", '{"consumer_key": "k"}', code=1)
    )
    assert "base URL must look like" in run("sites", "edit", "store", "--base-url", "x", code=1)
    assert "give at least one of" in run("sites", "edit", "store", code=2)
    assert "no site 'nope'" in run("sites", "edit", "nope", "--name", "x", code=1)

    run("sources", "edit", "erp", "--name", "bc", "--base-url", "http://localhost:9000")
    run("sources", "edit", "bc", "--credentials", json.dumps({**BC_KEYS, "company_id": "c2"}))
    with db() as session:
        source = session.scalars(select(Source).where(Source.name == "bc")).one()
        assert source.base_url == "http://localhost:9000"
        assert vault.open(source.credentials_sealed)["company_id"] == "c2"
    assert "missing tenant_id" in run("sources", "edit", "bc", "--credentials", "{}", code=1)


def test_remove_then_add_again_with_the_same_name(run, db, settings: Settings) -> None:  # type: ignore[no-untyped-def]
    run("sources", "add", "--no-check", "erp", *ERP)
    run("sites", "add", "--no-check", "shop", *STORE, "--credentials", json.dumps(WOO_KEYS))
    (site,) = _sites(db)
    with db.begin() as session:
        live = run_row(session, site.id).id
        logged = log_row(session, site_id=site.id).id
    out = run("sites", "remove", "shop", "--yes", code=1)
    assert _one_line_error(out) == f"Error: site shop has a live run {live}: cancel it first"
    run("runs", "cancel", str(live))
    out = run("sources", "remove", "erp", "--yes", code=1)
    assert "source erp still feeds sites shop" in _one_line_error(out)

    result = CliRunner().invoke(cli, ["sites", "remove", "shop"], input="n\n", env=_env(settings))
    assert result.exit_code == 1 and "Aborted" in result.output and len(_sites(db)) == 1
    result = CliRunner().invoke(cli, ["sites", "remove", "shop"], input="y\n", env=_env(settings))
    assert result.exit_code == 0, result.output
    assert "site 1 shop removed" in result.output and "/webhooks/woocommerce/1" in result.output
    assert _sites(db) == []
    with db() as session:
        assert session.get(WebhookLog, logged) is not None
    run("sites", "add", "--no-check", "shop", *STORE, "--credentials", json.dumps(WOO_KEYS))
    assert [(s.id, s.name) for s in _sites(db)] == [(2, "shop")]
    run("sites", "remove", "shop", "--yes")
    assert "source 1 erp removed" in run("sources", "remove", "erp", "--yes")
    run("sources", "add", "--no-check", "erp", *ERP)


#: What only the answer to `add` carries: what was registered, and when it first syncs.
ON_ADD = ("subscriptions", "subscriptions_note", "manual_steps", "first_full_sync")
#: What only a shown site carries: its budgets now.
ON_SHOW = ("budgets",)


def _saved(answer: dict[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in answer.items() if key not in ON_ADD + ON_SHOW}


def test_every_command_answers_json_with_the_apis_keys(stdout, settings: Settings) -> None:  # type: ignore[no-untyped-def]
    api = Api(create_app(settings).test_client())
    source = stdout("sources", "add", "--no-check", "erp", *ERP, "--webhook-secret", "client-state")
    assert _saved(source) == api.get(f"/api/sources/{source['id']}").json
    site = stdout(
        "sites", "add", "--no-check", "shop", *STORE, "--credentials", json.dumps(WOO_KEYS)
    )
    path = f"/api/sites/{site['id']}"
    assert _saved(site) == _saved(api.get(path).json)
    assert site["first_full_sync"].endswith("`stocksync sync <site> --preview`")
    assert stdout("sites", "show", "shop") == api.get(path).json
    assert stdout("sites", "list") == api.get("/api/sites").json["items"]
    assert stdout("sources", "show", "erp") == api.get(f"/api/sources/{source['id']}").json
    assert stdout("sources", "list") == api.get("/api/sources").json["items"]

    toggled = stdout("sites", "toggle", "shop", "--webhooks", "off")
    assert set(toggled) == set(api.post(f"{path}/webhooks/toggle", {"active": False}).json)
    toggled = stdout("sources", "toggle", "erp", "--webhooks", "off")
    answer = api.post(f"/api/sources/{source['id']}/webhooks/toggle", {"active": False}).json
    assert toggled == answer

    rotated = stdout("sites", "set-secret", "shop")
    assert rotated["webhook_secret"] and set(rotated) == set(
        api.patch(path, {"rotate_webhook_secret": True}).json
    )
    assert "webhook_secret" not in stdout("sites", "set-secret", "shop", "--secret", "given")
    assert stdout("sources", "set-secret", "erp")["webhook_secret"]
    edited = stdout("sites", "edit", "shop", "--timezone", "Asia/Tokyo")
    assert edited == _saved(api.get(path).json) and edited["timezone"] == "Asia/Tokyo"
    assert stdout("sources", "edit", "erp", "--name", "bc")["name"] == "bc"
    rule = stdout("sites", "sku", "shop", "a-1", "--opt-out")
    assert rule == api.get(f"{path}/skus").json["items"][0] | {"resync": rule["resync"]}
    assert stdout("sites", "sku", "shop") == api.get(f"{path}/skus").json["items"]
    assert stdout("sites", "sku", "shop", "A-1", "--clear")["sku"] == "A-1"
    state = stdout("sites", "policy", "shop")
    assert state["stock_basis"] == api.get(path).json["stock_basis"] == "on_hand"
    # The rule started a resync (no worker here): a live run refuses removal.
    assert stdout("runs", "cancel", str(rule["resync"]["run_id"]))["status"] == "cancelled"
    key = stdout("sites", "api-key", "shop")
    assert set(key) == {"site_id", "api_key"} and key["site_id"] == site["id"]

    removed = stdout("sites", "remove", "shop", "--yes")
    assert removed == {**edited, "has_webhook_secret": True, "has_api_key": True,
                       "webhooks_active": False, "removed": True}  # fmt: skip
    assert stdout("sources", "remove", "bc", "--yes")["removed"] is True


def test_show_says_which_secret_each_platform_expects(run) -> None:  # type: ignore[no-untyped-def]
    """A delivery signed with the wrong secret is refused "signature does not match";
    `show` names the right one (the access token is not Shopify's signing key)."""
    run("sources", "add", "--no-check", "erp", *ERP, "--webhook-secret", "state")
    shown = run("sources", "show", "erp")
    assert f"webhook secret: set: {WEBHOOK_SECRETS['businesscentral']}" in shown
    assert "webhooks:       /webhooks/businesscentral/1" in shown and "bc-s3cret" not in shown
    for platform, keys in (
        ("shopify", {"access_token": "shpat_t"}),
        ("woocommerce", WOO_KEYS),
        ("bigcommerce", {"store_hash": "abc", "access_token": "t"}),
    ):
        run("sites", "add",
"--no-check", platform, *STORE[2:], "--platform", platform,
            "--credentials", json.dumps(keys))  # fmt: skip
        shown = run("sites", "show", platform)
        assert f"webhook secret: NOT SET: {WEBHOOK_SECRETS[platform]}" in shown
        # A Shopify shop's cost points come first, as full as they are: nothing spent.
        first = "1,000 of 1,000 cost points" if platform == "shopify" else "0 of "
        assert f"budgets:        store budget: {first}" in shown
        assert json.dumps(keys)[10:] not in shown
    assert "client secret" in WEBHOOK_SECRETS["shopify"]
    assert "not the access token" in WEBHOOK_SECRETS["shopify"]


def test_a_site_added_without_initial_sync_says_nothing_is_written_until_asked(
    stdout,  # type: ignore[no-untyped-def]
) -> None:
    stdout("sources", "add", "--no-check", "erp", *ERP)
    site = stdout(
        "sites",
        "add",
        "--no-check",
        "--no-initial-sync",
        "shop",
        *STORE,
        "--credentials",
        json.dumps(WOO_KEYS),
    )
    assert site["awaiting_first_sync"] is True
    assert site["first_full_sync"].startswith("none until you start one")
    assert stdout("sites", "show", "shop")["awaiting_first_sync"] is True
