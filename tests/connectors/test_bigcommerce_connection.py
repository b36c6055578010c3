"""BigCommerceConnection against the BigCommerce sandbox, over real HTTP."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from typing import Any

import pytest
import requests

from api.webhooks import bigcommerce as receiver_rules
from connectors.bigcommerce_connection import TOPICS, BigCommerceConnection
from connectors.errors import ConnectionProblem, PermanentError, TransientError
from connectors.registry import build_connection
from connectors.types import RemoteSubscription, SubscriptionSpec
from sandbox.base import SandboxConfig
from sandbox.bigcommerce import create_app
from sandbox.bigcommerce.state import BigCommerceState
from sandbox.server import running
from tests.support.webhook_sink import Receiver, receiving

STORE = {"store_hash": "abc123", "access_token": "token-1"}
SANDBOX = {**STORE, "client_secret": "client-secret-1"}
PUBLIC = "https://hooks.example.com"
SECRET = "header-secret-not-in-messages"


@contextmanager
def sandbox(**config: Any) -> Iterator[tuple[str, BigCommerceState]]:
    credentials = SANDBOX | config.pop("credentials", {})
    app = create_app(SandboxConfig(items=8, credentials=credentials, **config))
    with running(app) as url:
        yield url, app.config["SANDBOX_STATE"]


@contextmanager
def forwarded() -> Iterator[tuple[str, BigCommerceState, Receiver]]:
    """A sandbox whose hooks for `PUBLIC` reach a local receiver."""
    with (
        receiving() as (receiver_url, receiver),
        sandbox(forward={PUBLIC: receiver_url}) as (
            url,
            state,
        ),
    ):
        yield url, state, receiver


def spec(topic: str = "store/sku/inventory/updated", site: int = 7) -> SubscriptionSpec:
    return SubscriptionSpec(topic, f"{PUBLIC}/webhooks/bigcommerce/{site}", SECRET)


def test_registry_builds_it_and_its_topics_are_the_scopes_the_receiver_maps() -> None:
    connection = build_connection("bigcommerce", "http://127.0.0.1:9", STORE)
    assert isinstance(connection, BigCommerceConnection)
    assert set(TOPICS) == set(receiver_rules.TOPICS)
    assert len(TOPICS) == len(set(TOPICS)) == 13


def test_hooks_are_created_listed_updated_and_deleted() -> None:
    with sandbox() as (url, state):
        bc = BigCommerceConnection(url, STORE)
        assert bc.list_subscriptions() == []
        created = [bc.create_subscription(spec(topic)) for topic in TOPICS]
        listed = bc.list_subscriptions()
        assert listed == created
        assert {r.topic for r in listed} == set(TOPICS)
        assert all(r.active and r.url == f"{PUBLIC}/webhooks/bigcommerce/7" for r in listed)
        hooks = {hook.topic: hook for hook in state.hooks.all()}
        assert hooks["store/order/created"].extra["headers"] == {"X-Webhook-Secret": SECRET}

        first = created[0]
        moved = bc.update_subscription(first, spec(first.topic, site=8))
        assert moved == RemoteSubscription(
            first.remote_id, first.topic, f"{PUBLIC}/webhooks/bigcommerce/8", True
        )

        bc.delete_subscription(first)
        bc.delete_subscription(first)  # already gone: no error
        assert first.remote_id not in {r.remote_id for r in bc.list_subscriptions()}
        with pytest.raises(PermanentError) as gone:
            bc.update_subscription(first, spec(first.topic))
        assert gone.value.status == 404


def test_listing_follows_the_pages() -> None:
    with sandbox() as (url, state):
        for site in range(1, 8):
            state.hooks.add("store/order/created", f"{PUBLIC}/webhooks/bigcommerce/{site}", None)
        bc = BigCommerceConnection(url, STORE)
        bc.hooks_page = 3
        listed = bc.list_subscriptions()
        assert len(listed) == 7
        assert state.route_calls["GET /stores/<store_hash>/v3/hooks"] == 3


def test_a_registered_hook_delivers_what_the_receiver_accepts() -> None:
    """Registered by the connection, signed by the store with its client secret, and
    carrying our header secret: the receiver's own verification passes."""
    with forwarded() as (url, _state, receiver):
        bc = BigCommerceConnection(url, STORE)
        bc.create_subscription(spec("store/product/inventory/updated"))
        requests.post(f"{url}/_sandbox/stock", json={"SKU-000001": 4321}, timeout=10)
        (delivery,) = receiver.wait_for(1)
    assert delivery.path == "/webhooks/bigcommerce/7"
    assert delivery.headers["x-webhook-secret"] == SECRET
    secret = {"header_secret": SECRET, "client_secret": "client-secret-1"}
    receiver_rules.verify(delivery.body, delivery.headers, secret)
    with pytest.raises(receiver_rules.SignatureError):
        receiver_rules.verify(delivery.body, delivery.headers, {**secret, "header_secret": "x"})


def test_a_hook_deactivated_after_48_hours_of_failures_is_listed_so_and_revived() -> None:
    """The keeper's path: the receiver unreachable for 48 h on the store's clock, the
    hook listed inactive, `update_subscription` bringing deliveries back."""
    with forwarded() as (url, state, receiver):
        bc = BigCommerceConnection(url, STORE)
        hook = bc.create_subscription(spec("store/product/inventory/updated"))
        reachable = dict(state.config.forward)
        control = f"{url}/_sandbox"
        # Our receiver goes away: nothing listens on port 9 (discard) here.
        gone = {"forward": {PUBLIC: "http://127.0.0.1:9"}}
        requests.post(f"{control}/faults", json=gone, timeout=10)
        requests.post(f"{control}/stock", json={"SKU-000001": 11}, timeout=10)
        assert state.webhooks.wait_idle()
        requests.post(f"{control}/clock", json={"advance": 48 * 3600}, timeout=10)
        assert bc.list_subscriptions() == [replace(hook, active=False)]

        requests.post(f"{control}/faults", json={"forward": reachable}, timeout=10)
        requests.post(f"{control}/stock", json={"SKU-000001": 12}, timeout=10)
        assert state.webhooks.wait_idle()
        assert receiver.deliveries == [], "an inactive hook gets nothing"
        assert bc.update_subscription(hook, spec("store/product/inventory/updated")) == hook
        requests.post(f"{control}/stock", json={"SKU-000001": 13}, timeout=10)
        (delivery,) = receiver.wait_for(1)
    assert delivery.headers["x-webhook-secret"] == SECRET


@pytest.mark.parametrize(
    "public_url",
    [
        "http://hooks.example.com",
        "https://hooks.example.com:8443",
        "https://hooks.example.com:80",
    ],
)
def test_a_public_url_bigcommerce_cannot_deliver_to_is_refused_before_asking(
    public_url: str,
) -> None:
    with sandbox() as (url, state):
        bc = BigCommerceConnection(url, STORE)
        wanted = SubscriptionSpec(
            "store/order/created", f"{public_url}/webhooks/bigcommerce/7", SECRET
        )
        with pytest.raises(ConnectionProblem) as refused:
            bc.create_subscription(wanted)
        routes = dict(state.route_calls)
    message = str(refused.value)
    assert "HTTPS on port 443" in message and public_url in message
    assert SECRET not in message
    assert not any("hooks" in route for route in routes)


def test_bigcommerce_refusing_a_hook_is_one_line_without_the_secret() -> None:
    with sandbox() as (url, _state):
        bc = BigCommerceConnection(url, STORE)
        bc.create_subscription(spec("store/order/created"))
        with pytest.raises(ConnectionProblem) as twice:
            bc.create_subscription(spec("store/order/created"))
    message = str(twice.value)
    assert message.startswith("BigCommerce refused the hook for store/order/created: ")
    assert "destination" in message and "\n" not in message and SECRET not in message


def test_check_passes_with_every_scope() -> None:
    with sandbox() as (url, state):
        BigCommerceConnection(url, STORE).check()
        routes = dict(state.route_calls)
    assert routes == {
        "GET /stores/<store_hash>/v3/catalog/products": 1,
        "GET /stores/<store_hash>/v2/orders": 1,
        "GET /stores/<store_hash>/v3/settings/inventory": 1,
        "GET /stores/<store_hash>/v3/inventory/locations/<int:location_id>/items": 1,
        "GET /stores/<store_hash>/v3/hooks": 1,
    }


@pytest.mark.parametrize(
    ("scopes", "missing"),
    [
        ("store_v2_orders,store_v2_information,store_inventory", "Products"),
        ("store_v2_products_read_only,store_v2_information_read_only,store_inventory", "Orders"),
        ("store_v2_products,store_v2_orders_read_only,store_inventory", "Information & Settings"),
        ("store_v2_products,store_v2_orders,store_v2_information", "Store Inventory"),
    ],
)
def test_check_names_the_missing_scope(scopes: str, missing: str) -> None:
    with sandbox(credentials={"scopes": scopes}) as (url, _state):
        with pytest.raises(ConnectionProblem) as problem:
            BigCommerceConnection(url, STORE).check()
    assert (
        str(problem.value) == f"BigCommerce answered 403: the API account lacks the {missing} scope"
    )


def test_check_says_the_token_was_rejected() -> None:
    with sandbox() as (url, _state):
        with pytest.raises(ConnectionProblem) as problem:
            BigCommerceConnection(url, {**STORE, "access_token": "wrong-token"}).check()
    assert str(problem.value) == "BigCommerce answered 401: access token rejected for store abc123"
    assert "wrong-token" not in str(problem.value)


def test_check_names_a_location_the_store_does_not_have() -> None:
    with sandbox() as (url, _state):
        with pytest.raises(ConnectionProblem) as problem:
            BigCommerceConnection(url, {**STORE, "location_id": "7"}).check()
    assert "no inventory location 7" in str(problem.value)


def test_outages_and_quota_stay_transient() -> None:
    with sandbox(outage=True) as (url, _state):
        bc = BigCommerceConnection(url, STORE)
        with pytest.raises(TransientError):
            bc.check()
        with pytest.raises(TransientError):
            bc.list_subscriptions()
        with pytest.raises(TransientError):
            bc.create_subscription(spec())
