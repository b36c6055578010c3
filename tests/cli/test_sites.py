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

BC_KEYS = {"tenant_id": "t", "client_id": "c", "client_secret": "s", "company_id": "co"}
BC_ARGS = (
    "--kind",
    "businesscentral",
    "--base-url",
    "https://api.businesscentral.dynamics.com",
    "--credentials",
    json.dumps(BC_KEYS),
)
ZOHO_KEYS = {"client_id": "c", "client_secret": "s", "refresh_token": "r", "organization_id": "1"}
ZOHO_ARGS = ("--base-url", "https://www.zohoapis.com", "--credentials", json.dumps(ZOHO_KEYS))
SHOPIFY_KEYS = '{"access_token": "shpat_x"}'
WOO_KEYS = {"consumer_key": "ck_x", "consumer_secret": "cs_x"}
#: A WooCommerce store on the local machine, where http is allowed (sandboxes).
WOO_ARGS = (
    "--platform",
    "woocommerce",
    "--base-url",
    "http://127.0.0.1:8080",
    "--credentials",
    json.dumps(WOO_KEYS),
)


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
        "--no-check",
        "erp",
        "--kind",
        "businesscentral",
        "--base-url",
        "https://api.businesscentral.dynamics.com",
        "--credentials",
        json.dumps({**BC_KEYS, "client_secret": "erp-secret"}),
    )
    out = run(
        "sites",
        "add",
        "--no-check",
        "shop",
        "--platform",
        "shopify",
        "--base-url",
        "https://shop.myshopify.com",
        "--source",
        "erp",
        "--credentials",
        '{"access_token": "shpat_x"}',
        "--webhook-secret",
        "whsec-one",
        "--timezone",
        "America/New_York",
    )
    assert "/webhooks/shopify/1" in out
    listed = json.loads(run("sites", "list", "--json"))
    assert listed[0]["timezone"] == "America/New_York" and listed[0]["webhooks_active"]
    assert "shpat_x" not in json.dumps(listed) and "whsec-one" not in json.dumps(listed)

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
            "--no-check",
            "s",
            "--platform",
            "shopify",
            "--base-url",
            "https://s.myshopify.com",
            "--source",
            "nope",
            "--credentials",
            SHOPIFY_KEYS,
        ],
        env=env,
    )
    assert result.exit_code == 1 and "no source 'nope'" in result.output
    runner.invoke(
        cli,
        ["sources", "add", "--no-check", "erp", "--kind", "zoho", *ZOHO_ARGS],
        env=env,
    )
    result = runner.invoke(
        cli,
        [
            "sites",
            "add",
            "--no-check",
            "s",
            "--platform",
            "shopify",
            "--base-url",
            "https://s.myshopify.com",
            "--source",
            "erp",
            "--credentials",
            SHOPIFY_KEYS,
            "--timezone",
            "Mars/Base",
        ],
        env=env,
    )
    assert result.exit_code == 1 and "unknown IANA time zone" in result.output


def _shop(run) -> None:  # type: ignore[no-untyped-def]
    run("sources", "add", "--no-check", "erp", "--kind", "zoho", *ZOHO_ARGS)
    run("sites", "add", "--no-check", "shop", "--source", "erp", *WOO_ARGS)


def test_stock_policy_and_sku_rules(run, db: sessionmaker[Session]) -> None:  # type: ignore[no-untyped-def]
    _shop(run)
    out = run("sites", "policy", "shop", "--buffer", "2", "--floor", "3")
    assert out.startswith("site 1 stock: basis on_hand, buffer 2 units, floor 3; run ")
    assert "started" in out
    site = _site(db)
    assert (site.stock_buffer, site.stock_buffer_unit, site.stock_floor) == (2, "units", 3)
    # The run that change started is still queued (no worker here): left alone.
    out = run("sites", "policy", "shop", "--buffer", "10", "--percent")
    assert "buffer 10%, floor 3" in out and "left alone" in out
    shown = "site 1 stock: basis on_hand, buffer 10%, floor 3"
    assert run("sites", "policy", "shop").strip() == shown
    out = run("sites", "policy", "shop", "--basis", "available_for_sale")
    assert "basis available_for_sale, buffer 10%" in out
    assert _site(db).stock_basis == "available_for_sale"

    assert "site 1 AB-1: override 5" in run("sites", "sku", "shop", " ab-1", "--override", "5")
    assert "site 1 AB-2: opted out" in run("sites", "sku", "shop", "AB-2", "--opt-out")
    assert run("sites", "sku", "shop").split("\n")[:2] == [
        f"{'AB-1':<20} override 5",
        f"{'AB-2':<20} opt out",
    ]
    assert "AB-1: rule cleared" in run("sites", "sku", "shop", "ab-1", "--clear")


def test_a_location_mapping_is_set_shown_and_cleared(run, db) -> None:  # type: ignore[no-untyped-def]
    _shop(run)
    out = run("sites", "policy", "shop", "--locations", "W1, W3")
    assert out.startswith("site 1 stock: basis on_hand at locations W1,W3, buffer 0 units")
    assert _site(db).erp_location_ids == ["W1", "W3"]
    assert "at locations W1,W3" in run("sites", "policy", "shop")
    out = run("sites", "policy", "shop", "--locations", "W1,,W2", code=1)
    assert "erp_location_ids must be" in out and "Traceback" not in out
    out = run("sites", "policy", "shop", "--locations", "all")
    assert out.startswith("site 1 stock: basis on_hand, buffer 0 units")
    assert _site(db).erp_location_ids is None


def _bc_shop(run) -> None:  # type: ignore[no-untyped-def]
    run("sources", "add", "--no-check", "bc", *BC_ARGS)
    run("sites", "add", "--no-check", "bcshop", "--source", "bc", *WOO_ARGS)


def test_available_for_sale_on_business_central_is_refused(run, db) -> None:  # type: ignore[no-untyped-def]
    _bc_shop(run)
    out = run("sites", "policy", "bcshop", "--basis", "available_for_sale", code=1)
    assert "Business Central reports only stock on hand" in out
    assert "docs/platforms.md section 7" in out and "Traceback" not in out
    assert _site(db).stock_basis == "on_hand"


def test_a_location_mapping_on_business_central_is_refused(run, db) -> None:  # type: ignore[no-untyped-def]
    _bc_shop(run)
    out = run("sites", "policy", "bcshop", "--locations", "W1", code=1)
    assert "Business Central reports no stock per location" in out
    assert "docs/platforms.md section 7" in out and "Traceback" not in out
    assert _site(db).erp_location_ids is None


#: Refusals of the service are exit 1; of the command line itself (click's usage), 2.
@pytest.mark.parametrize(
    ("args", "code", "message"),
    [
        (("policy", "shop", "--buffer", "-1"), 1, "stock_buffer must be a whole number"),
        (("policy", "shop", "--buffer", "101", "--percent"), 1, "percent stock_buffer must be"),
        (("policy", "shop", "--percent"), 2, "--percent qualifies --buffer"),
        (("policy", "shop", "--basis", "committed"), 2, "'committed' is not one of"),
        (("policy", "nope", "--floor", "1"), 1, "no site 'nope'"),
        (("sku", "shop", "A"), 2, "give one of --override N, --opt-out or --clear"),
        (("sku", "shop", "A", "--opt-out", "--clear"), 2, "give one of"),
        (("sku", "shop", "A", "--override", "-3"), 1, "override must be a whole number"),
        (("sku", "shop", "X" * 21, "--opt-out"), 1, "longer than 20"),
        (("sku", "shop", "A", "--clear"), 1, "no rule for SKU A"),
    ],
)
def test_bad_policy_input_is_a_clear_error(
    run, args: tuple[str, ...], code: int, message: str
) -> None:  # type: ignore[no-untyped-def]
    _shop(run)
    out = run("sites", *args, code=code)
    assert message in out and "Traceback" not in out


def test_the_lists_are_tables_whose_columns_hold_with_long_names(run) -> None:  # type: ignore[no-untyped-def]
    """Before, `sites list` padded names to 20 characters: a longer one pushed the rest
    of its row out of line, and the columns had no headers."""
    long = "the-agency-client-with-a-very-long-store-name"
    run("sources", "add", "--no-check", "erp", *BC_ARGS)
    for name in ("shop", long):
        run("sites", "add", "--no-check", name, *WOO_ARGS, "--source", "erp")

    listed = run("sites", "list").splitlines()
    header = next(line for line in listed if line.lstrip().startswith("id"))
    rows = [line for line in listed if "woocommerce" in line]
    assert len(rows) == 2
    assert {row.index("woocommerce") for row in rows} == {header.index("platform")}
    sources = run("sources", "list").splitlines()
    (erp,) = [line for line in sources if "businesscentral" in line]
    assert erp.split()[-3:] == ["1,", "2", "on"]  # its sites, then its webhooks
