"""The WooCommerce plugin (plugins/stocksync-woocommerce) against the real endpoint: its PHPUnit
suite passes, every body that suite makes it send is taken with the exact answer, and
its own PHP code, run by php-cli, posts to a real receiver over HTTP and the rows appear.
"""

from __future__ import annotations

import json
import subprocess
import uuid
import zipfile
from pathlib import Path
from typing import Any

from sqlalchemy import select, text
from sqlalchemy.orm import Session, sessionmaker

from api.app import create_app
from models import Category, Customer, Item, Order, OrderLine, Product, SyncRun
from models.commerce import email_hash_key, hash_email
from models.crypto import Vault
from plugins.package import build
from sandbox.server import running
from settings import Settings
from tests.support.php import PHP, PLUGIN, run_harness, run_phpunit
from tests.support.plugin_endpoint import keyed_site, push

EVERY = {
    (r, a) for r in ("order", "product", "customer", "category") for a in ("created", "updated")
}


def _taken(answer: dict[str, Any]) -> bool:
    data = answer.get("data") or {}
    return (
        answer.get("success") is True
        and set(data) == {"syncedCount", "skippedCount", "syncLogId"}
        and str(uuid.UUID(data["syncLogId"])) == data["syncLogId"]
    )


def test_phpunit_passes_and_every_body_the_plugin_sends_is_taken(
    settings: Settings, db: sessionmaker[Session], vault: Vault, tmp_path: Path
) -> None:
    suite = run_phpunit(tmp_path)
    assert suite.returncode == 0, suite.stdout[-4000:] + suite.stderr[-2000:]
    bodies = sorted(tmp_path.glob("*.json"))
    client, site = create_app(settings).test_client(), keyed_site(db, vault)
    sent = set()
    for path in bodies:
        envelope = json.loads(path.read_text())
        sent.add((envelope["resource"], envelope["action"]))
        answer = push(client, site, path.read_bytes())
        assert answer.status_code == 200 and _taken(answer.json), (path.name, answer.json)
    assert sent == EVERY, sorted(EVERY - sent)


def test_the_plugins_own_code_posts_to_a_real_receiver_and_the_rows_appear(
    settings: Settings, db: sessionmaker[Session], vault: Vault
) -> None:
    site = keyed_site(db, vault)
    with running(create_app(settings)) as base:
        requests = run_harness(base, site.key)
    assert {(r["resource"], r["action"]) for r in requests} == {
        ("order", "created"),
        ("product", "updated"),
        ("customer", "created"),
        ("category", "updated"),
    }
    assert all(r["status"] == 200 and _taken(r["body"]) for r in requests), requests
    with db() as session:
        runs = session.scalars(select(SyncRun.kind).where(SyncRun.site_id == site.id)).all()
        assert sorted(runs) == [
            "webhook:categories",
            "webhook:customers",
            "webhook:orders",
            "webhook:products",
        ]
        order = session.scalars(select(Order).where(Order.site_id == site.id)).one()
        lines = session.scalars(select(OrderLine).where(OrderLine.order_id == order.id)).all()
        assert sorted(line.sku or "" for line in lines) == ["PLUGIN-A", "PLUGIN-B"]
        product = session.scalars(select(Product).where(Product.site_id == site.id)).one()
        assert product.sku == "PLUGIN-A" and product.name and product.price is not None
        item = session.scalars(select(Item).where(Item.site_id == site.id)).one()
        assert (item.sku, item.active, item.quantity) == ("PLUGIN-A", True, 5)
        customer = session.scalars(select(Customer).where(Customer.site_id == site.id)).one()
        key = email_hash_key(settings.encryption_keys[0])
        assert customer.email_hash == hash_email(key, "ann@example.com")
        assert session.scalars(select(Category).where(Category.site_id == site.id)).one()
        for table in ("orders", "customers", "products", "webhook_log"):
            dump = session.execute(
                text(f"SELECT coalesce(string_agg(t::text, ''), '') FROM {table} t")
            )
            assert "ann@example.com" not in dump.scalar_one(), table


def test_the_zip_holds_the_plugin_alone_in_its_folder(tmp_path: Path) -> None:
    names = build(PLUGIN, tmp_path / "one.zip")
    assert f"{PLUGIN.name}/{PLUGIN.name}.php" in names
    assert f"{PLUGIN.name}/uninstall.php" in names
    assert all(name.startswith(f"{PLUGIN.name}/") for name in names)
    assert not [n for n in names if "/tests/" in n or n.endswith("phpunit.xml.dist")]
    build(PLUGIN, tmp_path / "two.zip")
    assert (tmp_path / "one.zip").read_bytes() == (tmp_path / "two.zip").read_bytes()
    with zipfile.ZipFile(tmp_path / "one.zip") as archive:
        archive.extractall(tmp_path / "store")
    for name in names:
        if name.endswith(".php"):
            linted = subprocess.run(
                [str(PHP), "-l", str(tmp_path / "store" / name)],
                capture_output=True,
                text=True,
                check=False,
            )
            assert linted.returncode == 0, linted.stdout
