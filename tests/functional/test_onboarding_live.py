"""Onboarding through the admin API against the platform sandboxes, as a new user does
it: credentials are tried before anything is saved, and with PUBLIC_URL set the
webhooks are registered on both platforms, so an ERP change reaches the store with no
manual step. Real HTTP everywhere, a real worker and relay."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, replace
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from api.app import create_app
from models import Site, Source
from models.crypto import Vault
from sandbox.accounts import DEFAULTS
from sandbox.base import SandboxConfig, SandboxState
from sandbox.hooks import HookBook
from sandbox.registry import create_app as create_sandbox
from sandbox.server import running
from settings import Settings
from tests.support.admin_api import Api
from tests.support.relaying import relaying
from tests.support.stack import FAST, installed_context, wait_for, workers
from workers.app import make_celery

#: Where the platforms reach the receiver (each sandbox forwards it, as a proxy would).
PUBLIC = "https://hooks.stocksync.test"


@dataclass
class World:
    api: Api
    erp_url: str
    erp: SandboxState
    store_url: str
    store: SandboxState


@pytest.fixture
def world(settings: Settings, db: sessionmaker[Session], redis_client: object) -> Iterator[World]:
    erp_account, store_account = DEFAULTS["businesscentral"], DEFAULTS["woocommerce"]
    erp_app = create_sandbox("businesscentral", SandboxConfig.for_account(erp_account, items=40))
    store_app = create_sandbox(
        "woocommerce", SandboxConfig.for_account(store_account, items=40, drift=0.5)
    )
    app = make_celery(settings)
    with (
        running(erp_app) as erp_url,
        running(store_app) as store_url,
        installed_context(settings, **FAST),
        running(create_app(settings)) as receiver,
        relaying(settings),
        workers(app),
    ):
        erp, store = erp_app.config["SANDBOX_STATE"], store_app.config["SANDBOX_STATE"]
        for state in (erp, store):
            state.set_faults(forward={PUBLIC: receiver})
        admin = Api(create_app(replace(settings, public_url=PUBLIC)).test_client())
        yield World(admin, erp_url, erp, store_url, store)


def _source(world: World, **changes: Any) -> dict[str, Any]:
    account = DEFAULTS["businesscentral"]
    return {
        "name": "erp",
        "kind": "businesscentral",
        "base_url": world.erp_url,
        "credentials": account.stored_credentials(world.erp_url),
        **changes,
    }


def _site(world: World, **changes: Any) -> dict[str, Any]:
    account = DEFAULTS["woocommerce"]
    return {
        "name": "shop",
        "platform": "woocommerce",
        "base_url": world.store_url,
        "source": "erp",
        "credentials": account.stored_credentials(world.store_url),
        **changes,
    }


def _live(state: SandboxState) -> list[str]:
    book: HookBook = state.hooks  # type: ignore[attr-defined]
    return sorted(hook.topic for hook in book.all() if hook.active)


def test_wrong_credentials_are_refused_in_one_line_and_nothing_is_saved(
    world: World, db: sessionmaker[Session]
) -> None:
    source = world.api.post("/api/sources", _source(world))
    assert source.status_code == 201, source.json
    wrong = {"consumer_key": "ck_sandbox", "consumer_secret": "cs_wrong"}

    refused = world.api.post("/api/sites", _site(world, credentials=wrong))

    assert refused.status_code == 422
    message = refused.json["error"]["message"]
    assert message.startswith("WooCommerce answered 401") and "\n" not in message
    assert "cs_wrong" not in refused.get_data(as_text=True)
    with db() as session:
        assert session.scalar(select(func.count()).select_from(Site)) == 0
        assert session.scalar(select(func.count()).select_from(Source)) == 1
    assert _live(world.store) == []


def test_added_with_public_url_the_webhooks_are_ours_and_erp_changes_flow(
    world: World, db: sessionmaker[Session], vault: Vault
) -> None:
    source = world.api.post("/api/sources", _source(world)).json
    site = world.api.post("/api/sites", _site(world)).json

    assert [s["state"] for s in source["subscriptions"]] == ["active"]
    assert {s["state"] for s in site["subscriptions"]} == {"active"}
    assert _live(world.erp) == [s["topic"] for s in source["subscriptions"]]
    assert _live(world.store) == sorted(s["topic"] for s in site["subscriptions"])
    assert {"product.updated", "order.created"} <= set(_live(world.store))
    assert "webhook_secret" not in site and "webhook_secret" not in source
    # The secrets we generated are sealed, given to the platforms, and shown nowhere.
    with db() as session:
        sealed = [
            session.get_one(Source, source["id"]).webhook_secret_sealed,
            session.get_one(Site, site["id"]).webhook_secret_sealed,
        ]
    generated = [vault.open(token) for token in sealed if token]
    assert len(generated) == 2 and all(len(secret) >= 32 for secret in generated)
    shown = json.dumps([source, site, world.api.get("/api/overview").json])
    assert not any(secret in shown for secret in generated)

    # The first full sync, then an ERP change through the webhooks we registered.
    started = world.api.post(f"/api/inventory/sync/{site['id']}").json["started"]
    run = started[0]["run_id"]
    wait_for(
        lambda: world.api.get(f"/api/sync/runs/{run}").json["status"] == "completed",
        120,
        "the first full sync",
    )
    sku = next(iter(world.erp.stock()))
    moved = world.erp.stock()[sku] + 11
    world.erp.set_stock({sku: moved})
    wait_for(lambda: world.store.stock()[sku] == moved, 60, "the ERP change in the store")


def test_a_preview_shows_what_the_first_sync_would_write_and_writes_nothing(
    world: World,
) -> None:
    world.api.post("/api/sources", _source(world))
    site = world.api.post("/api/sites", _site(world)).json
    before = world.store.stock()
    drifted = {s for s, q in before.items() if world.erp.stock().get(s) != q}

    started = world.api.post(f"/api/inventory/preview/{site['id']}")
    assert started.status_code == 202, started.json
    run = started.json["started"][0]["run_id"]
    wait_for(
        lambda: world.api.get(f"/api/sync/runs/{run}").json["status"] == "completed",
        120,
        "the preview",
    )

    found = world.api.get(f"/api/sync/runs/{run}/changes", limit=200).json
    assert world.store.stock() == before  # nothing written
    assert found["total"] == len(drifted) > 0
    assert {row["sku"] for row in found["items"]} == drifted
    assert all(
        (row["store"], row["would_write"]) == (before[row["sku"]], world.erp.stock()[row["sku"]])
        for row in found["items"]
    )
