"""Subscribers to the lifecycle events (sync/subscribers.py): what is refused, and
that a secret is shown once and stored sealed."""

from __future__ import annotations

import pytest

from models import EventSubscription
from sync.context import Context
from sync.errors import Invalid, NotFound
from sync.subscribers import show_subscription, subscribe, update_subscription


def test_a_subscription_needs_an_http_url_and_known_topics(service: Context) -> None:
    with pytest.raises(Invalid, match="http"):
        subscribe(service, "ftp://example.com")
    with pytest.raises(Invalid, match="topics"):
        subscribe(service, "https://example.com", ["ORDER_CREATED"])
    with pytest.raises(Invalid, match="no site 9"):
        subscribe(service, "https://example.com", site_id=9)


def test_the_secret_is_shown_once_and_stored_sealed(service: Context) -> None:
    created = subscribe(service, "https://example.com")
    secret = created["secret"]
    assert secret.startswith("whsec_")
    with service.sessions() as session:
        stored = session.get_one(EventSubscription, created["id"])
        assert secret not in stored.secret_sealed
        assert service.vault.open(stored.secret_sealed) == secret
    assert "secret" not in show_subscription(service, created["id"])
    rotated = update_subscription(service, created["id"], {"rotate_secret": True})
    assert rotated["secret"] != secret


def test_a_missing_subscription_is_not_found(service: Context) -> None:
    with pytest.raises(NotFound):
        update_subscription(service, 1, {"active": False})
