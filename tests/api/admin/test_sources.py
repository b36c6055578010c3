"""Sources through the API: create, list, show, update, delete when unused."""

from __future__ import annotations

from sqlalchemy.orm import Session, sessionmaker

from models import Source
from models.crypto import Vault
from sync.limits import quota_for
from tests.support.admin_api import Api, Shop, error_code

NEW_SOURCE = {
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
    "webhook_secret": {"token": "tok", "hmac_key": "zoho-hmac"},
}


def test_create_show_and_list_without_secrets(
    api: Api, shop: Shop, db: sessionmaker[Session], vault: Vault
) -> None:
    created = api.post("/api/sources", NEW_SOURCE)
    assert created.status_code == 201
    body = created.json
    assert (body["kind"], body["site_ids"], body["has_webhook_secret"]) == ("zoho", [], True)
    for text in (str(body), str(api.get("/api/sources").json)):
        assert "zoho-secret" not in text and "zoho-hmac" not in text
    with db() as session:
        row = session.get_one(Source, body["id"])
        assert vault.open(row.webhook_secret_sealed or "") == NEW_SOURCE["webhook_secret"]
    assert api.get(f"/api/sources/{shop.source_id}").json["site_ids"] == [shop.site_id]
    assert api.get("/api/sources/999").status_code == 404
    assert api.post("/api/sources", NEW_SOURCE).status_code == 422  # the name is taken
    assert api.post("/api/sources", {**NEW_SOURCE, "kind": "sap"}).status_code == 422


def test_update_and_rotate(api: Api, shop: Shop, db: sessionmaker[Session], vault: Vault) -> None:
    path = f"/api/sources/{shop.source_id}"
    updated = api.patch(path, {"base_url": "https://erp.example", "rotate_webhook_secret": True})
    assert updated.status_code == 200 and updated.json["base_url"] == "https://erp.example"
    with db() as session:
        sealed = session.get_one(Source, shop.source_id).webhook_secret_sealed
        assert vault.open(sealed or "") == updated.json["webhook_secret"]
    assert api.patch(path, {"kind": "zoho"}).status_code == 422  # kind is fixed
    assert api.patch("/api/sources/999", {"name": "x"}).status_code == 404


def test_a_source_s_erp_budget_is_its_own_or_the_erp_s_default(
    api: Api, shop: Shop, db: sessionmaker[Session]
) -> None:
    """Zoho's daily cap differs by plan: an agency sets its own; null restores ours."""
    path = f"/api/sources/{shop.source_id}"
    changed = api.patch(path, {"rate_limit_daily": 1000, "rate_limit_concurrency": 10})
    assert (changed.json["rate_limit_daily"], changed.json["rate_limit_concurrency"]) == (1000, 10)
    with db() as session:
        assert quota_for(session.get_one(Source, shop.source_id)).daily == 1000
    assert api.patch(path, {"rate_limit_daily": 0}).status_code == 422
    assert api.patch(path, {"rate_limit_concurrency": None}).json["rate_limit_concurrency"] is None


def test_delete_only_an_unused_source(api: Api, shop: Shop) -> None:
    used = api.delete(f"/api/sources/{shop.source_id}")
    assert used.status_code == 409 and error_code(used) == "conflict"
    spare = api.post("/api/sources", NEW_SOURCE).json["id"]
    deleted = api.delete(f"/api/sources/{spare}")
    assert deleted.status_code == 204 and deleted.data == b""
    assert api.delete(f"/api/sources/{spare}").status_code == 404
