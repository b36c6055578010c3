"""The Shopify sandbox's webhook subscriptions over real HTTP: the GraphQL API, signed
deliveries to each subscription, retries on the sandbox clock and deletion after 8
failures in a row (docs/platforms.md section 5), exact fields, access scopes."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import requests
from werkzeug.wrappers import Request, Response

from sandbox.accounts import credentials_for
from sandbox.base import SandboxConfig
from sandbox.catalog import sku_for
from sandbox.registry import create_app
from sandbox.server import running
from sandbox.shopify.state import ITEM_BASE, ShopifyState
from sandbox.shopify.webhooks import signature

TOKEN = "shpat_subscriptions_test"
PUBLIC = "https://hooks.example.test"
HOOK_URL = f"{PUBLIC}/webhooks/shopify/7"

CREATE = """
mutation ($topic: WebhookSubscriptionTopic!, $sub: WebhookSubscriptionInput!) {
  webhookSubscriptionCreate(topic: $topic, webhookSubscription: $sub) {
    webhookSubscription { id topic uri format createdAt updatedAt }
    userErrors { field message }
  }
}
"""
LIST = """
query ($topics: [WebhookSubscriptionTopic!], $after: String) {
  webhookSubscriptions(first: 2, topics: $topics, after: $after) {
    nodes { id topic uri endpoint { ... on WebhookHttpEndpoint { callbackUrl } } }
    pageInfo { hasNextPage endCursor }
  }
}
"""
UPDATE = """
mutation ($id: ID!, $sub: WebhookSubscriptionInput!) {
  webhookSubscriptionUpdate(id: $id, webhookSubscription: $sub) {
    webhookSubscription { id uri updatedAt }
    userErrors { field message }
  }
}
"""
DELETE = """
mutation ($id: ID!) {
  webhookSubscriptionDelete(id: $id) { deletedWebhookSubscriptionId userErrors { field message } }
}
"""


@dataclass(frozen=True)
class Attempt:
    body: bytes
    headers: dict[str, str]


class Endpoint:
    """A receiver that answers `status` (500 to fail on purpose) and keeps every attempt."""

    def __init__(self) -> None:
        self.status = 200
        self.attempts: list[Attempt] = []
        self._lock = threading.Lock()

    @Request.application
    def __call__(self, request: Request) -> Response:
        with self._lock:
            self.attempts.append(
                Attempt(request.get_data(), {k.lower(): v for k, v in request.headers.items()})
            )
        return Response("no" if self.status >= 300 else "ok", status=self.status)


@contextmanager
def shop(**config: Any) -> Iterator[tuple[str, ShopifyState, Endpoint]]:
    """A sandbox shop whose public `PUBLIC` address reaches a local `Endpoint`."""
    endpoint = Endpoint()
    with running(endpoint) as local:
        credentials = {"access_token": TOKEN, **config.pop("credentials", {})}
        sandbox = SandboxConfig(items=6, credentials=credentials, forward={PUBLIC: local}, **config)
        app = create_app("shopify", sandbox)
        with running(app) as url:
            yield url, app.config["SANDBOX_STATE"], endpoint


def gql(url: str, query: str, variables: dict[str, Any] | None = None) -> dict[str, Any]:
    response = requests.post(
        f"{url}/admin/api/2026-04/graphql.json",
        json={"query": query, "variables": variables or {}},
        headers={"X-Shopify-Access-Token": TOKEN},
        timeout=10,
    )
    assert response.status_code == 200
    body: dict[str, Any] = response.json()
    return body


def create(url: str, topic: str, uri: str = HOOK_URL) -> dict[str, Any]:
    body = gql(url, CREATE, {"topic": topic, "sub": {"uri": uri, "format": "JSON"}})
    payload: dict[str, Any] = body["data"]["webhookSubscriptionCreate"]
    return payload


def set_stock(url: str, quantity: int, item: int = 1) -> None:
    response = requests.post(f"{url}/_sandbox/stock", json={sku_for(item): quantity}, timeout=10)
    assert response.status_code == 200


def advance(url: str, seconds: float) -> None:
    response = requests.post(f"{url}/_sandbox/clock", json={"advance": seconds}, timeout=60)
    assert response.status_code == 200


def listed(url: str) -> list[dict[str, Any]]:
    nodes: list[dict[str, Any]] = gql(url, LIST)["data"]["webhookSubscriptions"]["nodes"]
    return nodes


def test_create_answers_exactly_the_selected_fields() -> None:
    with shop() as (url, _state, _endpoint):
        created = create(url, "INVENTORY_LEVELS_UPDATE")
    assert created["userErrors"] == []
    node = created["webhookSubscription"]
    assert set(node) == {"id", "topic", "uri", "format", "createdAt", "updatedAt"}
    assert node["id"].startswith("gid://shopify/WebhookSubscription/")
    assert node["topic"] == "INVENTORY_LEVELS_UPDATE"
    assert node["uri"] == HOOK_URL
    assert node["format"] == "JSON"
    assert node["createdAt"] == node["updatedAt"]
    assert node["createdAt"].endswith("Z")


def test_list_pages_filters_by_topic_and_answers_the_old_endpoint_field() -> None:
    with shop() as (url, _state, _endpoint):
        ids = [
            create(url, topic)["webhookSubscription"]["id"]
            for topic in ("PRODUCTS_CREATE", "PRODUCTS_UPDATE", "ORDERS_CREATE")
        ]
        first = gql(url, LIST)["data"]["webhookSubscriptions"]
        second = gql(url, LIST, {"after": first["pageInfo"]["endCursor"]})
        orders = gql(url, LIST, {"topics": ["ORDERS_CREATE"]})
    assert [n["id"] for n in first["nodes"]] == ids[:2]
    assert first["pageInfo"]["hasNextPage"] is True
    assert [n["id"] for n in second["data"]["webhookSubscriptions"]["nodes"]] == ids[2:]
    assert orders["data"]["webhookSubscriptions"]["nodes"] == [
        {
            "id": ids[2],
            "topic": "ORDERS_CREATE",
            "uri": HOOK_URL,
            "endpoint": {"callbackUrl": HOOK_URL},
        }
    ]


def test_update_repoints_and_delete_removes() -> None:
    with shop() as (url, _state, _endpoint):
        gid = create(url, "PRODUCTS_DELETE")["webhookSubscription"]["id"]
        advance(url, 60)
        new_url = f"{PUBLIC}/webhooks/shopify/8"
        updated = gql(url, UPDATE, {"id": gid, "sub": {"uri": new_url}})
        after_update = listed(url)
        deleted = gql(url, DELETE, {"id": gid})["data"]["webhookSubscriptionDelete"]
        again = gql(url, DELETE, {"id": gid})["data"]["webhookSubscriptionDelete"]
        remaining = listed(url)
    payload = updated["data"]["webhookSubscriptionUpdate"]
    assert payload["userErrors"] == []
    assert payload["webhookSubscription"]["uri"] == new_url
    assert [n["uri"] for n in after_update] == [new_url]
    assert deleted == {"deletedWebhookSubscriptionId": gid, "userErrors": []}
    assert again["deletedWebhookSubscriptionId"] is None
    assert again["userErrors"] == [
        {"field": ["id"], "message": "Webhook subscription does not exist"}
    ]
    assert remaining == []


def test_mistakes_are_user_errors_or_graphql_errors() -> None:
    with shop() as (url, _state, _endpoint):
        plain_http = create(url, "PRODUCTS_CREATE", "http://hooks.example.test/x")
        create(url, "PRODUCTS_CREATE")
        duplicate = create(url, "PRODUCTS_CREATE")
        unknown = gql(url, CREATE, {"topic": "CARTS_CREATE", "sub": {"uri": HOOK_URL}})
    assert plain_http["webhookSubscription"] is None
    assert plain_http["userErrors"] == [
        {
            "field": ["webhookSubscription", "uri"],
            "message": "Address protocol http:// is not supported",
        }
    ]
    assert duplicate["userErrors"][0]["message"] == "Address for this topic has already been taken"
    assert "data" not in unknown
    assert "WebhookSubscriptionTopic" in unknown["errors"][0]["message"]


def test_deliveries_reach_each_subscription_of_the_topic_signed_with_the_client_secret() -> None:
    with receiving_default() as (default_url, default_box):
        with shop(webhook_url=default_url) as (url, state, endpoint):
            create(url, "INVENTORY_LEVELS_UPDATE")
            create(url, "INVENTORY_LEVELS_UPDATE", f"{PUBLIC}/webhooks/shopify/8")
            create(url, "PRODUCTS_UPDATE")
            set_stock(url, 41)
            assert state.webhooks.wait_idle()
    secret = credentials_for("shopify", {"access_token": TOKEN})["client_secret"]
    assert len(endpoint.attempts) == 2  # not the products/update subscription
    for attempt in endpoint.attempts:
        assert attempt.headers["x-shopify-topic"] == "inventory_levels/update"
        assert attempt.headers["x-shopify-hmac-sha256"] == signature(secret, attempt.body)
        assert b'"available":41' in attempt.body
    first, second = endpoint.attempts
    assert first.headers["x-shopify-webhook-id"] != second.headers["x-shopify-webhook-id"]
    assert first.headers["x-shopify-event-id"] == second.headers["x-shopify-event-id"]
    # The configured single webhook still gets its delivery, as before.
    assert [d["x-shopify-topic"] for d in default_box] == ["inventory_levels/update"]


@contextmanager
def receiving_default() -> Iterator[tuple[str, list[dict[str, str]]]]:
    box: list[dict[str, str]] = []

    @Request.application
    def app(request: Request) -> Response:
        box.append({k.lower(): v for k, v in request.headers.items()})
        return Response("ok")

    with running(app) as url:
        yield url, box


def test_failing_receiver_gets_retries_and_the_subscription_is_deleted_after_8() -> None:
    with shop() as (url, state, endpoint):
        gid = create(url, "INVENTORY_LEVELS_UPDATE")["webhookSubscription"]["id"]
        endpoint.status = 500
        set_stock(url, 3)
        assert state.webhooks.wait_idle()
        advance(url, 3600)  # retries at 1, 3, 7, 15 and 31 min have failed: 6 in a row
        assert [n["id"] for n in listed(url)] == [gid]
        assert len(endpoint.attempts) == 6
        advance(url, 3 * 3600)  # the 8th failure in a row, 2 h 7 min in, deletes it
        assert listed(url) == []
        set_stock(url, 4)
        assert state.webhooks.wait_idle()
    assert len(endpoint.attempts) == 8
    # Every retry repeats the original delivery: same body, same webhook id.
    assert {a.body for a in endpoint.attempts} == {endpoint.attempts[0].body}
    assert len({a.headers["x-shopify-webhook-id"] for a in endpoint.attempts}) == 1


def test_a_success_resets_the_count() -> None:
    with shop() as (url, state, endpoint):
        create(url, "INVENTORY_LEVELS_UPDATE")
        endpoint.status = 500
        set_stock(url, 3)
        assert state.webhooks.wait_idle()
        advance(url, 3600)  # 6 failures in a row
        endpoint.status = 200
        advance(url, 3600)  # the retry at 63 min succeeds: the count starts again
        [hook] = state.hooks.all()
        assert hook.failures == 0
        assert state.hooks.waiting(hook.id) == 0
        endpoint.status = 500
        for quantity in (5, 6, 7):
            set_stock(url, quantity)
        assert state.webhooks.wait_idle()
        advance(url, 60)  # 3 new failures and 3 first retries: 6, not yet 8
        assert len(listed(url)) == 1
        advance(url, 120)  # the second retries: 9 failures in a row, deleted
        assert listed(url) == []


def test_access_scopes_default_to_what_stocksync_needs_and_can_be_cut() -> None:
    query = "{ currentAppInstallation { accessScopes { handle } } }"
    with shop() as (url, _state, _endpoint):
        full = gql(url, query)["data"]["currentAppInstallation"]["accessScopes"]
    with shop(credentials={"scopes": "read_products,read_inventory"}) as (url, _state, _endpoint):
        cut = gql(url, query)["data"]["currentAppInstallation"]["accessScopes"]
    assert [s["handle"] for s in full] == [
        "read_products",
        "read_inventory",
        "write_inventory",
        "read_orders",
        "read_locations",
    ]
    assert cut == [{"handle": "read_products"}, {"handle": "read_inventory"}]


def test_queries_answer_exactly_the_fields_asked_under_their_aliases() -> None:
    query = """
    query { variants: productVariants(first: 2) {
        nodes { ident: id inventoryItem { id } }
        pageInfo { hasNextPage }
    } }
    """
    with shop() as (url, _state, _endpoint):
        body = gql(url, query)
        unknown = gql(url, "{ productVariants(first: 1) { nodes { id nosuch } } }")
        fragment = gql(
            url,
            "query { locations(first: 1) { nodes { ...Where } } } "
            "fragment Where on Location { id }",
        )
    assert body["data"] == {
        "variants": {
            "nodes": [
                {"ident": "gid://shopify/ProductVariant/1", "inventoryItem": {"id": item(1)}},
                {"ident": "gid://shopify/ProductVariant/2", "inventoryItem": {"id": item(2)}},
            ],
            "pageInfo": {"hasNextPage": True},
        }
    }
    assert "data" not in unknown
    assert "nosuch" in unknown["errors"][0]["message"]
    assert fragment["data"] == {"locations": {"nodes": [{"id": "gid://shopify/Location/1"}]}}


def item(n: int) -> str:
    return f"gid://shopify/InventoryItem/{ITEM_BASE + n}"


def test_a_field_the_scopes_do_not_cover_is_access_denied() -> None:
    scopes = "write_products,read_inventory,read_locations"
    with shop(credentials={"scopes": scopes}) as (url, _state, _endpoint):
        orders = gql(url, CREATE, {"topic": "ORDERS_CREATE", "sub": {"uri": HOOK_URL}})
        products = create(url, "PRODUCTS_UPDATE")  # write_products covers read_products
        write = gql(
            url,
            'mutation { inventorySetQuantities(input: {name: "available", reason: "correction",'
            ' quantities: []}) @idempotent(key: "k") { userErrors { code } } }',
        )
    assert orders["errors"][0]["extensions"]["code"] == "ACCESS_DENIED"
    assert "read_orders" in orders["errors"][0]["message"]
    assert products["userErrors"] == []
    assert write["errors"][0]["extensions"]["code"] == "ACCESS_DENIED"
    assert "write_inventory" in write["errors"][0]["message"]
