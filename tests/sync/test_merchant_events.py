"""A site's lifecycle events (sync/merchant_events.py): `MERCHANT_CONNECTED` at its first
passing connection test, against the WooCommerce sandbox over HTTP, and
`MERCHANT_DISABLED` / `MERCHANT_ENABLED` when it is deactivated and re-activated."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from models import EventDelivery, Site
from sandbox.base import SandboxConfig
from sandbox.server import running
from sandbox.woocommerce import create_app
from sync import lifecycle
from sync.context import Context
from sync.errors import Invalid
from sync.sites import add_site, update_site
from sync.sources import add_source
from sync.subscribers import subscribe
from sync.subscriptions import check_owner
from tests.support.broker import RecordingBroker

CREDENTIALS = {"consumer_key": "ck_test", "consumer_secret": "cs_test_secret"}


@pytest.fixture
def store() -> Iterator[str]:
    with running(create_app(SandboxConfig(items=5, credentials=CREDENTIALS))) as base:
        yield base


def _erp(service: Context) -> None:
    add_source(
        service,
        name="erp",
        kind="businesscentral",
        base_url="https://api.businesscentral.dynamics.com",
        credentials={"tenant_id": "t", "client_id": "c", "client_secret": "s", "company_id": "co"},
        check=False,
    )


@pytest.fixture
def subscribed(service: Context) -> None:
    subscribe(service, "http://127.0.0.1:9/hook", list(lifecycle.TOPICS))
    _erp(service)


def _add(service: Context, base: str, *, check: bool, **fields: Any) -> int:
    site = add_site(
        service,
        name=fields.pop("name", "shop"),
        platform="woocommerce",
        base_url=base,
        source="erp",
        credentials=fields.pop("credentials", CREDENTIALS),
        check=check,
    )
    return int(site["id"])


def _events(db: sessionmaker[Session]) -> list[tuple[str, str, dict[str, Any]]]:
    with db() as session:
        rows = session.scalars(select(EventDelivery).order_by(EventDelivery.id))
        return [(row.topic, row.entity, row.payload["data"]) for row in rows]


@pytest.mark.usefixtures("subscribed")
def test_a_site_added_with_a_passing_check_is_connected_then(
    service: Context, broker: RecordingBroker, db: sessionmaker[Session], store: str
) -> None:
    site_id = _add(service, store, check=True)
    [(topic, entity, data)] = _events(db)
    assert (topic, entity) == (lifecycle.MERCHANT_CONNECTED, f"site:{site_id}")
    assert (data["site_id"], data["name"], data["platform"], data["active"]) == (
        site_id,
        "shop",
        "woocommerce",
        True,
    )
    with db() as session:
        connected_at = session.get_one(Site, site_id).connected_at
    assert connected_at is not None and data["connected_at"] == connected_at.isoformat()
    assert len(broker.sent("delivery")) == 1
    # Later tests pass too, but it connected once.
    check_owner(service, "site", site_id)
    assert len(_events(db)) == 1


@pytest.mark.usefixtures("subscribed")
def test_a_site_added_unchecked_connects_at_its_first_passing_test(
    service: Context, broker: RecordingBroker, db: sessionmaker[Session], store: str
) -> None:
    wrong = {"consumer_key": "ck_test", "consumer_secret": "cs_wrong"}
    site_id = _add(service, store, check=False, credentials=wrong)
    assert _events(db) == []
    with pytest.raises(Invalid):
        check_owner(service, "site", site_id)
    assert _events(db) == []
    update_site(service, site_id, {"credentials": CREDENTIALS})
    check_owner(service, "site", site_id)
    check_owner(service, "site", site_id)
    assert [topic for topic, _, _ in _events(db)] == [lifecycle.MERCHANT_CONNECTED]
    assert broker.sent("delivery") == [1]


@pytest.mark.usefixtures("subscribed")
def test_deactivating_and_reactivating_a_site_are_its_disabled_and_enabled(
    service: Context, db: sessionmaker[Session], store: str
) -> None:
    site_id = _add(service, store, check=False)
    update_site(service, site_id, {"active": False})
    update_site(service, site_id, {"active": False, "timezone": "Europe/Paris"})  # no change
    update_site(service, site_id, {"active": True})
    update_site(service, site_id, {"full_sync_hour": 3})
    events = _events(db)
    assert [(topic, entity) for topic, entity, _ in events] == [
        (lifecycle.MERCHANT_DISABLED, f"site:{site_id}"),
        (lifecycle.MERCHANT_ENABLED, f"site:{site_id}"),
    ]
    assert [data["active"] for _, _, data in events] == [False, True]


def test_a_subscriber_of_another_site_hears_nothing(
    service: Context, db: sessionmaker[Session], store: str
) -> None:
    _erp(service)
    one = _add(service, store, check=False, name="one")
    two = _add(service, store, check=False, name="two")
    subscribe(service, "http://127.0.0.1:9/hook", [lifecycle.MERCHANT_DISABLED], one)
    update_site(service, two, {"active": False})
    update_site(service, one, {"active": False})
    assert [entity for _, entity, _ in _events(db)] == [f"site:{one}"]
