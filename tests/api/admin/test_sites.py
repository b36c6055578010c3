"""Sites through the API: create, list, show, update, deactivate, webhooks toggle.
Credentials and secrets go in and never come out."""

from __future__ import annotations

import json
import re
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import redis
import requests
from flask import Flask
from sqlalchemy.orm import Session, sessionmaker

from api.app import create_app
from models import Platform, Site, WebhookLog, WebhookStatus
from models.crypto import Vault
from sandbox.server import running
from settings import Settings
from sync.cost_points import PLATFORM_POINTS, PointsBudget
from sync.limits import Limit, budget_owner, quota_for
from tests.factories import make_site, make_source
from tests.factories.sync import run_row
from tests.factories.webhook_log import log_row
from tests.support.admin_api import AUTH, Api, Shop, error_code

NEW_SITE: dict[str, Any] = {
    "check": False,  # no platform behind these addresses
    "name": "new-shop",
    "platform": "shopify",
    "base_url": "https://new-shop.myshopify.com",
    "source": "erp",
    "credentials": {"access_token": "shpat_secret"},
    "webhook_secret": "shpss_secret",
    "timezone": "Europe/Paris",
    "full_sync_hour": 3,
}

ZOHO_SOURCE: dict[str, Any] = {
    "check": False,  # no platform behind these addresses
    "name": "zoho",
    "kind": "zoho",
    "base_url": "https://www.zohoapis.com",
    "credentials": {
        "client_id": "id",
        "client_secret": "zoho-secret",
        "refresh_token": "refresh",
        "organization_id": "1",
    },
}


def _no_secrets(body: Any) -> None:
    text = str(body)
    for secret in ("shpat_secret", "shpss_secret", "credentials", "sealed", "api_key_hash"):
        assert secret not in text, secret


def test_create_stores_secrets_sealed_and_never_returns_them(
    api: Api, shop: Shop, db: sessionmaker[Session], vault: Vault
) -> None:
    response = api.post("/api/sites", NEW_SITE)
    assert response.status_code == 201, response.json
    body = response.json
    assert (body["name"], body["platform"], body["timezone"], body["source_id"]) == (
        "new-shop",
        "shopify",
        "Europe/Paris",
        shop.source_id,
    )
    assert body["has_webhook_secret"] is True
    _no_secrets(body)
    with db() as session:
        site = session.get_one(Site, body["id"])
        assert vault.open(site.credentials_sealed) == {"access_token": "shpat_secret"}
        assert vault.open(site.webhook_secret_sealed or "") == "shpss_secret"
    _no_secrets(api.get("/api/sites").json)
    _no_secrets(api.get(f"/api/sites/{body['id']}").json)
    assert api.post("/api/sites", {**NEW_SITE, "source": shop.source_id}).status_code == 422


def test_create_validation_errors_name_the_field(api: Api, shop: Shop) -> None:
    cases = {
        "platform": ({**NEW_SITE, "platform": "magento"}, "platform"),
        "timezone": ({**NEW_SITE, "timezone": "Mars/Olympus"}, "time zone"),
        "hour": ({**NEW_SITE, "full_sync_hour": 24}, "full_sync_hour"),
        "url": ({**NEW_SITE, "base_url": "ftp://x"}, "base_url"),
        "source": ({**NEW_SITE, "source": "nope"}, "no source"),
        "missing": ({k: v for k, v in NEW_SITE.items() if k != "credentials"}, "credentials"),
        "extra": ({**NEW_SITE, "api_key_hash": "x"}, "api_key_hash"),
        "nul": ({**NEW_SITE, "name": "a\x00b"}, "NUL"),
        "keys": (
            {**NEW_SITE, "credentials": {"token": "shpat_secret"}},
            "credentials for shopify: missing access_token",
        ),
        "http": (
            {**NEW_SITE, "base_url": "http://new-shop.myshopify.com"},
            "base URL must use https (like https://<shop>.myshopify.com)",
        ),
    }
    for case, (body, words) in cases.items():
        response = api.post("/api/sites", body)
        assert response.status_code == 422, case
        assert error_code(response) == "invalid" and words in response.json["error"]["message"], (
            case,
            response.json,
        )
        assert "shpat_secret" not in response.get_data(as_text=True)
    not_json = api.client.post(
        "/api/sites", data="{", headers={**AUTH, "Content-Type": "application/json"}
    )
    assert not_json.status_code == 400 and error_code(not_json) == "bad_request"


def test_update_rotates_the_secret_once_and_checks_fields(
    api: Api, shop: Shop, db: sessionmaker[Session], vault: Vault
) -> None:
    path = f"/api/sites/{shop.site_id}"
    changed = api.patch(path, {"timezone": "Asia/Tokyo", "rate_limit_requests": 10})
    assert changed.status_code == 200
    assert (changed.json["timezone"], changed.json["rate_limit_requests"]) == ("Asia/Tokyo", 10)
    rotated = api.patch(path, {"rotate_webhook_secret": True})
    secret = rotated.json["webhook_secret"]
    with db() as session:
        assert vault.open(session.get_one(Site, shop.site_id).webhook_secret_sealed or "") == secret
    assert "webhook_secret" not in api.get(path).json
    new_keys = {"consumer_key": "new", "consumer_secret": "cs_new"}
    assert api.patch(path, {"credentials": new_keys}).status_code == 200
    with db() as session:
        assert vault.open(session.get_one(Site, shop.site_id).credentials_sealed) == new_keys
    assert api.patch(path, {}).status_code == 422
    assert (
        api.patch(path, {"webhook_secret": "x", "rotate_webhook_secret": True}).status_code == 422
    )
    assert api.patch(path, {"timezone": "Nowhere/City"}).status_code == 422
    assert api.patch("/api/sites/999", {"active": True}).status_code == 404
    api.post("/api/sites", NEW_SITE)
    taken = api.patch(path, {"name": "new-shop"})
    assert taken.status_code == 409 and error_code(taken) == "conflict"


def test_deactivate_keeps_the_site(api: Api, shop: Shop) -> None:
    response = api.patch(f"/api/sites/{shop.site_id}", {"active": False})
    assert response.status_code == 200 and response.json["active"] is False
    assert api.get(f"/api/sites/{shop.site_id}").json["active"] is False
    assert api.post(f"/api/inventory/sync/{shop.site_id}").status_code == 409
    assert api.patch(f"/api/sites/{shop.site_id}", {"active": True}).json["active"] is True


def test_delete_removes_the_site_unless_a_run_is_live_and_frees_its_name(
    api: Api, shop: Shop, db: sessionmaker[Session]
) -> None:
    path = f"/api/sites/{shop.site_id}"
    with db.begin() as session:
        name = session.get_one(Site, shop.site_id).name
        logged = log_row(session, site_id=shop.site_id).id
        live = run_row(session, shop.site_id).id
    refused = api.delete(path)
    assert refused.status_code == 409 and error_code(refused) == "conflict"
    assert f"has a live run {live}: cancel it first" in refused.json["error"]["message"]
    assert api.post(f"/api/sync/runs/{live}/cancel").status_code == 200
    removed = api.delete(path)
    assert removed.status_code == 204 and removed.data == b""
    assert api.get(path).status_code == 404
    assert api.delete(path).status_code == 404
    with db() as session:
        assert session.get(WebhookLog, logged) is not None
    again = api.post("/api/sites", {**NEW_SITE, "name": name})
    assert again.status_code == 201 and again.json["id"] != shop.site_id
    used = api.delete(f"/api/sources/{shop.source_id}")
    assert used.status_code == 409 and "still feeds sites " + name in used.json["error"]["message"]


def test_toggle_flips_or_sets_and_reports_the_last_delivery(
    api: Api, shop: Shop, db: sessionmaker[Session]
) -> None:
    path = f"/api/sites/{shop.site_id}/webhooks/toggle"
    first = api.post(path)
    assert first.json == {
        "site_id": shop.site_id,
        "webhooks_active": False,
        "last_received_at": None,
    }
    assert api.post(path).json["webhooks_active"] is True
    assert api.post(path, {"active": True}).json["webhooks_active"] is True
    accepted = datetime.now(UTC) - timedelta(hours=1)
    with db.begin() as session:
        log_row(session, site_id=shop.site_id, received_at=accepted)
        # Paused deliveries do not show that the platform still reaches us.
        log_row(
            session,
            site_id=shop.site_id,
            received_at=accepted + timedelta(minutes=59),
            status=WebhookStatus.IGNORED,
        )
    state = api.post(path, {"active": False}).json
    assert datetime.fromisoformat(state["last_received_at"]) == accepted
    assert api.post(path, {"active": "yes"}).status_code == 422
    assert api.post("/api/sites/999/webhooks/toggle").status_code == 404


def test_list_pages(api: Api, shop: Shop) -> None:
    api.post("/api/sites", NEW_SITE)
    assert [s["name"] for s in api.get("/api/sites").json["items"]] == ["shop", "new-shop"]
    assert [s["name"] for s in api.get("/api/sites", offset=1).json["items"]] == ["new-shop"]
    assert api.get("/api/sites", limit=500).status_code == 422


@pytest.mark.parametrize(
    "body",
    [
        b"[" * 5000 + b"]" * 5000,
        b'{"name": ' * 5000 + b"1" + b"}" * 5000,
        b'{"name": "x", "full_sync_hour": 1e400}',
        b'{"name": "x", "full_sync_hour": NaN}',
    ],
    ids=["nested-array", "nested-object", "1e400", "nan"],
)
@pytest.mark.parametrize("method", ["POST", "PATCH"])
def test_a_body_the_json_reader_refuses_is_400(
    api: Api, shop: Shop, method: str, body: bytes
) -> None:
    """A body nested 5,000 deep raised RecursionError from request.get_json: a 500."""
    path = "/api/sites" if method == "POST" else f"/api/sites/{shop.site_id}"
    headers = {**AUTH, "Content-Type": "application/json"}
    response = api.client.open(path, method=method, data=body, headers=headers)
    assert response.status_code == 400 and error_code(response) == "bad_request"


@pytest.mark.parametrize("chunked", [False, True], ids=["content-length", "chunked"])
def test_a_body_over_the_limit_is_413_however_it_is_sent(
    settings: Settings, shop: Shop, chunked: bool
) -> None:
    """Sent chunked, werkzeug cut the body at the limit without saying so, and the
    cut-off JSON was refused as not JSON (400); with Content-Length, werkzeug's own 413
    was an HTML page, not the admin API's error shape."""
    big = json.dumps({**NEW_SITE, "name": "x" * 4000}).encode()
    data = (big[i : i + 500] for i in range(0, len(big), 500)) if chunked else big
    headers = {**AUTH, "Content-Type": "application/json"}
    with running(create_app(replace(settings, max_webhook_body_bytes=2048))) as url:
        response = requests.post(url + "/api/sites", data=data, headers=headers, timeout=10)
    assert response.status_code == 413
    assert response.json()["error"]["code"] == "request_entity_too_large"


def test_the_stock_policy_is_shown_and_set_through_patch(api: Api, shop: Shop) -> None:
    site = f"/api/sites/{shop.site_id}"
    shown = api.get(site).json
    assert (shown["stock_buffer"], shown["stock_buffer_unit"], shown["stock_floor"]) == (
        0,
        "units",
        0,
    )
    response = api.patch(site, {"stock_buffer": 15, "stock_buffer_unit": "percent"})
    assert response.status_code == 200, response.json
    assert (response.json["stock_buffer"], response.json["stock_buffer_unit"]) == (15, "percent")
    assert response.json["resync"]["run_id"] is not None
    assert api.get(site).json["stock_buffer"] == 15


@pytest.mark.parametrize(
    "body",
    [
        {"stock_buffer": -1},
        {"stock_floor": 1.5},
        {"stock_buffer_unit": "kilos"},
        {"stock_buffer": 101, "stock_buffer_unit": "percent"},
        {"stock_basis": "committed"},
        {"erp_location_ids": []},
        {"erp_location_ids": [""]},
        {"erp_location_ids": "W1"},
    ],
)
def test_a_bad_stock_policy_is_a_422(api: Api, shop: Shop, body: dict[str, Any]) -> None:
    response = api.patch(f"/api/sites/{shop.site_id}", body)
    assert (response.status_code, error_code(response)) == (422, "invalid")
    assert "\n" not in response.json["error"]["message"]


def test_available_for_sale_on_business_central_is_a_422_saying_why(api: Api, shop: Shop) -> None:
    site = f"/api/sites/{shop.site_id}"
    assert api.get(site).json["stock_basis"] == "on_hand"

    response = api.patch(site, {"stock_basis": "available_for_sale", "stock_floor": 4})

    assert (response.status_code, error_code(response)) == (422, "invalid")
    message = response.json["error"]["message"]
    assert "\n" not in message
    assert "Business Central reports only stock on hand" in message
    assert "docs/platforms.md section 7" in message
    assert (api.get(site).json["stock_basis"], api.get(site).json["stock_floor"]) == (
        "on_hand",
        0,
    )
    assert api.patch(site, {"stock_basis": "on_hand"}).status_code == 200


def test_a_location_mapping_on_business_central_is_a_422_naming_section_7(
    api: Api, shop: Shop
) -> None:
    response = api.patch(f"/api/sites/{shop.site_id}", {"erp_location_ids": ["W1"]})
    assert (response.status_code, error_code(response)) == (422, "invalid")
    message = response.json["error"]["message"]
    assert "\n" not in message and "docs/platforms.md section 7" in message
    assert api.get(f"/api/sites/{shop.site_id}").json["erp_location_ids"] is None


def test_a_zoho_site_maps_locations_and_resyncs(api: Api, shop: Shop) -> None:
    source = api.post("/api/sources", ZOHO_SOURCE).json["id"]
    site = api.post("/api/sites", {**NEW_SITE, "source": source}).json["id"]

    response = api.patch(f"/api/sites/{site}", {"erp_location_ids": ["W1", "W3"]})

    assert response.status_code == 200, response.json
    assert response.json["erp_location_ids"] == ["W1", "W3"]
    assert response.json["resync"]["run_id"] is not None
    assert api.get(f"/api/sites/{site}").json["erp_location_ids"] == ["W1", "W3"]
    response = api.patch(f"/api/sites/{site}", {"erp_location_ids": None})
    assert (response.status_code, response.json["erp_location_ids"]) == (200, None)


def test_sku_rules_are_set_listed_and_cleared(api: Api, shop: Shop) -> None:
    skus = f"/api/sites/{shop.site_id}/skus"
    response = api.put(f"{skus}/ab-1", {"override": 4})
    assert response.status_code == 200, response.json
    assert (response.json["sku"], response.json["rule"], response.json["quantity"]) == (
        "AB-1",
        "override",
        4,
    )
    assert api.put(f"{skus}/AB-2", {"opt_out": True}).status_code == 200
    assert api.get(skus).json["items"] == [
        {"site_id": shop.site_id, "sku": "AB-1", "rule": "override", "quantity": 4},
        {"site_id": shop.site_id, "sku": "AB-2", "rule": "opt_out", "quantity": None},
    ]
    assert api.delete(f"{skus}/ab-1").status_code == 200
    assert [rule["sku"] for rule in api.get(skus).json["items"]] == ["AB-2"]
    missing = api.delete(f"{skus}/AB-1")
    assert (missing.status_code, error_code(missing)) == (404, "not_found")


@pytest.mark.parametrize(
    ("sku", "body"),
    [
        ("A", {}),
        ("A", {"override": -1}),
        ("A", {"override": 1, "opt_out": True}),
        ("A", {"opt_out": False}),
        ("X" * 21, {"opt_out": True}),
        ("%00", {"opt_out": True}),
        ("%20", {"opt_out": True}),
    ],
)
def test_a_bad_sku_rule_is_a_422(api: Api, shop: Shop, sku: str, body: dict[str, Any]) -> None:
    response = api.put(f"/api/sites/{shop.site_id}/skus/{sku}", body)
    assert (response.status_code, error_code(response)) == (422, "invalid"), response.json


def test_sku_rules_of_a_missing_site_are_a_404(api: Api) -> None:
    response = api.put("/api/sites/999999/skus/A", {"opt_out": True})
    assert (response.status_code, error_code(response)) == (404, "not_found")
    assert api.get("/api/sites/999999/skus").status_code == 404


@pytest.mark.parametrize("method", ["GET", "PATCH", "DELETE"])
@pytest.mark.parametrize("number", ["9223372036854775807", "9223372036854775808", "1" * 30])
def test_an_id_too_large_for_a_bigint_is_404_for_every_method(
    app: Flask, method: str, number: str
) -> None:
    """Before, DELETE of a 19-digit id answered 405 (its rule refused the id after GET's
    and PATCH's had matched the path), and no id of ours has 19 digits."""
    answer = app.test_client().open(f"/api/sites/{number}", method=method, headers=AUTH, json={})

    assert answer.status_code == 404, answer.get_data(as_text=True)


def test_a_site_shows_its_store_s_and_its_erp_s_budgets_now(
    api: Api, shop: Shop, db: sessionmaker[Session], redis_client: redis.Redis, vault: Vault
) -> None:
    """Issue 22, item 7: what the shared budgets hold, from Redis, as every worker sees it."""
    with db() as session:
        site = session.get_one(Site, shop.site_id)
        owner = budget_owner(site, vault.open(site.credentials_sealed))
        store = Limit(redis_client, owner, quota_for(site))
    for _ in range(2):
        with store.acquire():
            pass
    budgets = api.get(f"/api/sites/{shop.site_id}").json["budgets"]
    assert (budgets["store"]["in_window"], budgets["erp"]["in_window"]) == (2, 0)
    assert budgets["store"]["text"].startswith("store budget: 2 of ")
    assert budgets["erp"]["text"].startswith("ERP budget: 0 of ")
    assert budgets["store"]["points"] is None  # WooCommerce counts requests only


def test_a_shopify_site_shows_its_cost_points(
    api: Api, db: sessionmaker[Session], vault: Vault, redis_client: redis.Redis
) -> None:
    """Shopify limits by cost points (sync/cost_points.py): a catalog page's 802 points
    spent show in the shop's budget, at the Standard plan until its answers say more."""
    with db.begin() as session:
        source = make_source(session, vault)
        site = make_site(session, vault, source, platform=Platform.SHOPIFY)
        site_id, owner = site.id, budget_owner(site, vault.open(site.credentials_sealed))
    PointsBudget(redis_client, owner, PLATFORM_POINTS[Platform.SHOPIFY]).spend(802)

    store = api.get(f"/api/sites/{site_id}").json["budgets"]["store"]

    assert 198 <= store["points"]["available"] < 260
    assert (store["points"]["maximum"], store["points"]["restore_rate"]) == (1000, 100)
    assert re.match(
        r"store budget: \d+ of 1,000 cost points \(restoring 100 a second\); 0 of 200 requests",
        store["text"],
    )
