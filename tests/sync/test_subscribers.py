"""Subscribers to the lifecycle events (sync/subscribers.py): what is refused, and
that a secret is shown once and stored sealed."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy.orm import Session, sessionmaker

from models import EventSubscription
from settings import Settings
from sync.context import Context, build_context
from sync.errors import Invalid, NotFound
from sync.subscribers import show_subscription, subscribe, update_subscription
from tests.support.broker import RecordingBroker


@pytest.fixture
def ctx(settings: Settings, db: sessionmaker[Session]) -> Iterator[Context]:
    with build_context(settings, RecordingBroker()) as context:
        yield context


def test_a_subscription_needs_an_http_url_and_known_topics(ctx: Context) -> None:
    with pytest.raises(Invalid, match="http"):
        subscribe(ctx, "ftp://example.com")
    with pytest.raises(Invalid, match="topics"):
        subscribe(ctx, "https://example.com", ["ORDER_CREATED"])
    with pytest.raises(Invalid, match="no site 9"):
        subscribe(ctx, "https://example.com", site_id=9)


def test_the_secret_is_shown_once_and_stored_sealed(ctx: Context) -> None:
    created = subscribe(ctx, "https://example.com")
    secret = created["secret"]
    assert secret.startswith("whsec_")
    with ctx.sessions() as session:
        stored = session.get_one(EventSubscription, created["id"])
        assert secret not in stored.secret_sealed
        assert ctx.vault.open(stored.secret_sealed) == secret
    assert "secret" not in show_subscription(ctx, created["id"])
    rotated = update_subscription(ctx, created["id"], {"rotate_secret": True})
    assert rotated["secret"] != secret


def test_a_missing_subscription_is_not_found(ctx: Context) -> None:
    with pytest.raises(NotFound):
        update_subscription(ctx, 1, {"active": False})
