"""ShopifyConnection against the Shopify sandbox, over real HTTP: the token and scope
check, and webhook subscriptions made, listed, repointed, deleted, and deleted by
Shopify after 8 failed deliveries in a row (docs/platforms.md section 5)."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
import requests
from werkzeug.wrappers import Request, Response

from connectors.errors import ConnectionProblem, TransientError
from connectors.registry import build_connection
from connectors.shopify_connection import REQUIRED_SCOPES, TOPICS, ShopifyConnection
from connectors.types import SubscriptionSpec
from sandbox.accounts import credentials_for
from sandbox.base import SandboxConfig
from sandbox.catalog import sku_for
from sandbox.registry import create_app
from sandbox.server import running
from sandbox.shopify.state import ShopifyState
from sandbox.shopify.webhooks import signature

TOKEN = "shpat_connection_test"
PUBLIC = "https://stocksync.example.test"


class Receiver:
    """Our receiver as Shopify reaches it: answers `status`, keeps (path, body, headers)."""

    def __init__(self) -> None:
        self.status = 200
        self.seen: list[tuple[str, bytes, dict[str, str]]] = []
        self._lock = threading.Lock()

    @Request.application
    def __call__(self, request: Request) -> Response:
        headers = {k.lower(): v for k, v in request.headers.items()}
        with self._lock:
            self.seen.append((request.path, request.get_data(), headers))
        return Response("", status=self.status)


@contextmanager
def shop(**credentials: str) -> Iterator[tuple[str, ShopifyState, Receiver]]:
    receiver = Receiver()
    with running(receiver) as local:
        config = SandboxConfig(
            items=6, credentials={"access_token": TOKEN, **credentials}, forward={PUBLIC: local}
        )
        app = create_app("shopify", config)
        with running(app) as url:
            yield url, app.config["SANDBOX_STATE"], receiver


def connect(url: str, token: str = TOKEN) -> ShopifyConnection:
    built = build_connection("shopify", url, {"access_token": token})
    assert isinstance(built, ShopifyConnection)
    return built


def spec(topic: str, site: int = 3) -> SubscriptionSpec:
    return SubscriptionSpec(topic, f"{PUBLIC}/webhooks/shopify/{site}", None)


def set_stock(url: str, quantity: int) -> None:
    response = requests.post(f"{url}/_sandbox/stock", json={sku_for(1): quantity}, timeout=10)
    assert response.status_code == 200


def advance(url: str, seconds: float) -> None:
    response = requests.post(f"{url}/_sandbox/clock", json={"advance": seconds}, timeout=60)
    assert response.status_code == 200


def test_topics_and_scopes_are_what_stocksync_uses() -> None:
    assert TOPICS == (
        "PRODUCTS_CREATE",
        "PRODUCTS_UPDATE",
        "PRODUCTS_DELETE",
        "INVENTORY_LEVELS_UPDATE",
        "ORDERS_CREATE",
        "ORDERS_UPDATED",
        "ORDERS_CANCELLED",
    )
    assert REQUIRED_SCOPES == (
        "read_products",
        "read_inventory",
        "write_inventory",
        "read_orders",
        "read_locations",
    )


def test_check_passes_with_every_scope() -> None:
    with shop() as (url, state, _receiver):
        connect(url).check()
        assert state.route_calls["POST /admin/api/<version>/graphql.json"] == 1


def test_check_names_the_missing_scopes() -> None:
    with shop(scopes="read_products,read_inventory,read_locations") as (url, _state, _receiver):
        with pytest.raises(ConnectionProblem) as caught:
            connect(url).check()
    assert str(caught.value) == "Shopify token lacks write_inventory, read_orders"


def test_write_access_covers_read_access() -> None:
    scopes = "read_products,write_inventory,write_orders,read_locations"
    with shop(scopes=scopes) as (url, _state, _receiver):
        connect(url).check()


def test_a_rejected_token_is_one_line_without_the_token() -> None:
    with shop() as (url, _state, _receiver):
        with pytest.raises(ConnectionProblem) as caught:
            connect(url, token="shpat_wrong_one").check()
    assert str(caught.value) == "Shopify answered 401: access token rejected"


def test_missing_token_is_a_connection_problem() -> None:
    with pytest.raises(ConnectionProblem, match="no access_token"):
        ShopifyConnection("http://127.0.0.1:9", {})


def test_an_outage_is_transient() -> None:
    with shop() as (url, state, _receiver):
        state.set_faults(outage=True)
        with pytest.raises(TransientError):
            connect(url).check()
        with pytest.raises(TransientError):
            connect(url).list_subscriptions()


def test_created_subscriptions_are_listed_and_receive_signed_deliveries() -> None:
    with shop() as (url, state, receiver):
        connection = connect(url)
        made = [connection.create_subscription(spec(topic)) for topic in connection.topics]
        listed = connection.list_subscriptions()
        set_stock(url, 17)
        assert state.webhooks.wait_idle()
    assert listed == made
    assert {s.topic for s in listed} == set(TOPICS)
    assert all(s.active and s.url == f"{PUBLIC}/webhooks/shopify/3" for s in listed)
    assert all(s.remote_id.startswith("gid://shopify/WebhookSubscription/") for s in listed)
    secret = credentials_for("shopify", {"access_token": TOKEN})["client_secret"]
    [(path, body, headers)] = receiver.seen  # one topic fired: inventory_levels/update
    assert path == "/webhooks/shopify/3"
    assert headers["x-shopify-topic"] == "inventory_levels/update"
    assert headers["x-shopify-hmac-sha256"] == signature(secret, body)


def test_update_repoints_and_delete_removes_once_and_quietly_after() -> None:
    with shop() as (url, state, receiver):
        connection = connect(url)
        remote = connection.create_subscription(spec("INVENTORY_LEVELS_UPDATE"))
        moved = connection.update_subscription(remote, spec("INVENTORY_LEVELS_UPDATE", site=9))
        set_stock(url, 5)
        assert state.webhooks.wait_idle()
        connection.delete_subscription(moved)
        connection.delete_subscription(moved)  # already gone: no error
        remaining = connection.list_subscriptions()
    assert moved.remote_id == remote.remote_id
    assert moved.url == f"{PUBLIC}/webhooks/shopify/9"
    assert [path for path, _body, _headers in receiver.seen] == ["/webhooks/shopify/9"]
    assert remaining == []


def test_a_failing_receiver_loses_the_subscription_after_4_hours_and_it_is_made_again() -> None:
    with shop() as (url, state, receiver):
        connection = connect(url)
        remote = connection.create_subscription(spec("INVENTORY_LEVELS_UPDATE"))
        receiver.status = 500
        set_stock(url, 8)
        assert state.webhooks.wait_idle()
        advance(url, 4 * 3600)
        gone = connection.list_subscriptions()
        # What the keeper does with it: update a deleted one, which makes it anew.
        receiver.status = 200
        again = connection.update_subscription(remote, spec("INVENTORY_LEVELS_UPDATE"))
        set_stock(url, 9)
        assert state.webhooks.wait_idle()
        listed = connection.list_subscriptions()
    assert gone == []
    assert len(receiver.seen) == 8 + 1  # 8 failed attempts, then the new one's delivery
    assert again.remote_id != remote.remote_id
    assert listed == [again]


def test_shopify_refusals_are_one_line_problems() -> None:
    with shop() as (url, _state, _receiver):
        connection = connect(url)
        with pytest.raises(ConnectionProblem) as plain_http:
            connection.create_subscription(
                SubscriptionSpec("PRODUCTS_UPDATE", "http://stocksync.example.test/x", None)
            )
        with pytest.raises(ConnectionProblem) as unknown_topic:
            connection.create_subscription(spec("CARTS_CREATE"))
    assert str(plain_http.value) == (
        "Shopify refused the PRODUCTS_UPDATE subscription: "
        "Address protocol http:// is not supported"
    )
    assert str(unknown_topic.value).startswith("Shopify refused the CARTS_CREATE subscription: ")


def test_slash_topics_are_taken_in_enum_form() -> None:
    with shop() as (url, _state, _receiver):
        made = connect(url).create_subscription(spec("orders/updated"))
    assert made.topic == "ORDERS_UPDATED"


def test_a_topic_the_token_may_not_read_is_refused_by_name() -> None:
    scopes = "read_products,write_inventory,read_locations"
    with shop(scopes=scopes) as (url, _state, _receiver):
        connection = connect(url)
        with pytest.raises(ConnectionProblem) as caught:
            connection.create_subscription(spec("ORDERS_CREATE"))
        made = connection.create_subscription(spec("PRODUCTS_UPDATE"))
    assert str(caught.value).startswith("Shopify refused the ORDERS_CREATE subscription: ")
    assert "read_orders" in str(caught.value)
    assert made.topic == "PRODUCTS_UPDATE"


def test_list_pages_past_250() -> None:
    with shop() as (url, state, _receiver):
        for n in range(251):
            state.hooks.add("products/update", f"{PUBLIC}/webhooks/shopify/{n}", None)
        listed = connect(url).list_subscriptions()
        calls = state.route_calls["POST /admin/api/<version>/graphql.json"]
    assert len(listed) == 251
    assert len({s.remote_id for s in listed}) == 251
    assert listed[-1].url == f"{PUBLIC}/webhooks/shopify/250"
    assert calls == 2
