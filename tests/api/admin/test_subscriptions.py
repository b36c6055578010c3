"""Lifecycle event subscriptions through the API: the secret is shown once."""

from __future__ import annotations

from sqlalchemy.orm import Session, sessionmaker

from models import EventSubscription
from models.crypto import Vault
from sync.lifecycle import TOPICS
from tests.support.admin_api import Api, Shop

PATH = "/api/events/subscriptions"


def test_create_returns_the_secret_once(
    api: Api, shop: Shop, db: sessionmaker[Session], vault: Vault
) -> None:
    created = api.post(PATH, {"url": "https://hooks.example/x", "site_id": shop.site_id})
    assert created.status_code == 201
    body = created.json
    assert body["secret"].startswith("whsec_") and body["topics"] == sorted(TOPICS)
    with db() as session:
        assert (
            vault.open(session.get_one(EventSubscription, body["id"]).secret_sealed)
            == (body["secret"])
        )
    shown = api.get(f"{PATH}/{body['id']}").json
    assert "secret" not in shown and shown["site_id"] == shop.site_id
    assert [s["id"] for s in api.get(PATH).json["items"]] == [body["id"]]
    assert api.get(PATH, site_id=999).json["items"] == []


def test_validation(api: Api, shop: Shop) -> None:
    for body in (
        {"url": "ftp://x"},
        {"url": "https://x.example", "topics": ["PRODUCT_SYNC_EXPLODED"]},
        {"url": "https://x.example", "topics": []},
        {"url": "https://x.example", "site_id": 999},
        {"topics": ["PRODUCT_SYNC_STARTED"]},
    ):
        assert api.post(PATH, body).status_code == 422, body


def test_update_rotate_and_delete(api: Api, shop: Shop, db: sessionmaker[Session]) -> None:
    sub = api.post(PATH, {"url": "https://hooks.example/x"}).json
    path = f"{PATH}/{sub['id']}"
    updated = api.patch(path, {"topics": ["PRODUCT_SYNC_FAILED"], "active": False})
    assert updated.json["topics"] == ["PRODUCT_SYNC_FAILED"] and updated.json["active"] is False
    assert "secret" not in updated.json
    rotated = api.patch(path, {"rotate_secret": True}).json["secret"]
    assert rotated.startswith("whsec_") and rotated != sub["secret"]
    assert api.patch(path, {"site_id": 999}).status_code == 422
    assert api.patch(f"{PATH}/999", {"active": True}).status_code == 404
    assert api.delete(path).status_code == 204
    assert api.get(path).status_code == 404
    assert api.delete(path).status_code == 404
