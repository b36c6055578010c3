"""The Shopify sandbox over real HTTP: catalog, GraphQL rules, throttling, webhooks."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import uuid
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from typing import Any

import pytest
import requests
from werkzeug.datastructures import Headers
from werkzeug.wrappers import Request, Response

from sandbox.accounts import SHOPIFY_LOCATION, credentials_for
from sandbox.base import SandboxConfig
from sandbox.catalog import skus, store_quantity
from sandbox.registry import create_app
from sandbox.server import running
from sandbox.shopify.state import ITEM_BASE, ShopifyState
from sandbox.shopify.webhooks import signature

TOKEN = "shpat_sandbox_test"
LOCATION = SHOPIFY_LOCATION
VARIANTS = """
query ($first: Int!, $after: String) {
  productVariants(first: $first, after: $after) {
    nodes { id sku inventoryQuantity product { id } inventoryItem { id tracked } }
    pageInfo { hasNextPage endCursor }
  }
}
"""
SET = """
mutation ($input: InventorySetQuantitiesInput!, $key: String!) {
  inventorySetQuantities(input: $input) @idempotent(key: $key) {
    inventoryAdjustmentGroup { id }
    userErrors { code field message }
  }
}
"""


@contextmanager
def shop(**config: Any) -> Iterator[tuple[str, ShopifyState]]:
    config.setdefault("credentials", {"access_token": TOKEN})
    app = create_app("shopify", SandboxConfig(**config))
    with running(app) as url:
        yield url, app.config["SANDBOX_STATE"]


def gql(url: str, query: str, variables: Any = None, token: str = TOKEN) -> requests.Response:
    return requests.post(
        f"{url}/admin/api/2026-04/graphql.json",
        json={"query": query, "variables": variables or {}},
        headers={"X-Shopify-Access-Token": token},
        timeout=10,
    )


def item(n: int) -> str:
    return f"gid://shopify/InventoryItem/{ITEM_BASE + n}"


def set_input(*quantities: tuple[str, int]) -> dict[str, Any]:
    return {
        "name": "available",
        "reason": "correction",
        "quantities": [
            {
                "inventoryItemId": n,
                "locationId": LOCATION,
                "quantity": q,
                "changeFromQuantity": None,
            }
            for n, q in quantities
        ],
    }


def test_catalog_pages_cover_the_seed_catalog_in_products_of_one_to_three() -> None:
    with shop(items=1000, drift=0.3, seed=7) as (url, _state):
        nodes: list[dict[str, Any]] = []
        after = None
        while True:
            page = gql(url, VARIANTS, {"first": 250, "after": after}).json()["data"]
            nodes += page["productVariants"]["nodes"]
            if not page["productVariants"]["pageInfo"]["hasNextPage"]:
                break
            after = page["productVariants"]["pageInfo"]["endCursor"]
    assert [n["sku"] for n in nodes] == skus(1000)
    assert all(n["inventoryQuantity"] == store_quantity(n["sku"], 0.3, 7) for n in nodes)
    sizes = Counter(n["product"]["id"] for n in nodes).values()
    assert set(sizes) == {1, 2, 3}
    assert sum(sizes) == 1000


def test_product_query_returns_its_variants_or_null() -> None:
    query = "query ($id: ID!) { product(id: $id) { id variants(first: 250) { nodes { sku } } } }"
    with shop(items=10) as (url, _state):
        found = gql(url, query, {"id": "gid://shopify/Product/2"}).json()["data"]["product"]
        missing = gql(url, query, {"id": "gid://shopify/Product/99"}).json()["data"]["product"]
    assert [n["sku"] for n in found["variants"]["nodes"]] == ["SKU-000002", "SKU-000003"]
    assert missing is None


def test_product_query_with_a_rest_id_is_an_error_not_null() -> None:
    """A REST id is not a deleted product: Shopify refuses it (docs/platforms.md section 5,
    "Ids"), so a caller mixing the forms fails loudly."""
    query = "query ($id: ID!) { product(id: $id) { id } }"
    with shop(items=10) as (url, _state):
        body = gql(url, query, {"id": "2"}).json()
    assert "data" not in body and "Invalid global id" in body["errors"][0]["message"]


def test_bad_or_missing_token_is_401() -> None:
    with shop(items=10) as (url, _state):
        wrong = gql(url, VARIANTS, {"first": 1}, token="shpat_wrong")
        missing = requests.post(f"{url}/admin/api/2026-04/graphql.json", json={}, timeout=10)
    for response in (wrong, missing):
        assert response.status_code == 401
        assert response.json() == {
            "errors": "[API] Invalid API key or access token (unrecognized login or wrong password)"
        }


def test_page_size_over_250_unknown_fields_and_bad_syntax_are_errors() -> None:
    with shop(items=10) as (url, _state):
        too_big = gql(url, VARIANTS, {"first": 251}).json()
        unknown = gql(url, "{ orders(first: 1) { nodes { id } } }").json()
        broken = gql(url, "query { productVariants(").json()
    for body in (too_big, unknown, broken):
        assert "data" not in body
        assert body["errors"][0]["message"]


def test_mutation_without_idempotent_directive_is_refused() -> None:
    query = SET.replace(" @idempotent(key: $key)", "")
    with shop(items=10) as (url, state):
        body = gql(url, query, {"input": set_input((item(1), 5)), "key": "k"}).json()
        assert state.stock()["SKU-000001"] == store_quantity("SKU-000001", 0.0)
    assert body["errors"][0]["extensions"]["code"] == "BAD_REQUEST"
    assert "@idempotent directive is required" in body["errors"][0]["message"]


def test_quantity_without_change_from_quantity_is_refused() -> None:
    payload = set_input((item(1), 5))
    del payload["quantities"][0]["changeFromQuantity"]
    with shop(items=10) as (url, state):
        body = gql(url, SET, {"input": payload, "key": "k"}).json()
        assert state.stock()["SKU-000001"] == store_quantity("SKU-000001", 0.0)
    assert "changeFromQuantity" in body["errors"][0]["message"]


def test_unknown_inventory_item_is_a_user_error_and_nothing_is_saved() -> None:
    with shop(items=10) as (url, state):
        before = state.stock()
        body = gql(url, SET, {"input": set_input((item(1), 5), (item(99), 5)), "key": "k"}).json()
        assert state.stock() == before
        assert state.writes == []
    payload = body["data"]["inventorySetQuantities"]
    assert payload["inventoryAdjustmentGroup"] is None
    assert payload["userErrors"] == [
        {
            "field": ["input", "quantities", "1", "inventoryItemId"],
            "code": "INVALID_INVENTORY_ITEM",
            "message": "The inventory item was not found.",
        }
    ]


def test_stale_change_from_quantity_is_a_user_error() -> None:
    payload = set_input((item(1), 5))
    payload["quantities"][0]["changeFromQuantity"] = store_quantity("SKU-000001", 0.0) + 1
    with shop(items=10) as (url, _state):
        body = gql(url, SET, {"input": payload, "key": "k"}).json()
    errors = body["data"]["inventorySetQuantities"]["userErrors"]
    assert [e["code"] for e in errors] == ["CHANGE_FROM_QUANTITY_STALE"]


def test_a_replayed_key_answers_the_first_result_without_applying_again() -> None:
    variables = {"input": set_input((item(1), 5)), "key": str(uuid.uuid4())}
    with shop(items=10) as (url, state):
        first = gql(url, SET, variables).json()
        requests.post(f"{url}/_sandbox/stock", json={"SKU-000001": 9}, timeout=10)
        replay = gql(url, SET, variables).json()
        assert state.stock()["SKU-000001"] == 9
        assert len(state.writes) == 1
        variables["input"]["quantities"][0]["quantity"] = 6
        other = gql(url, SET, variables).json()
    assert replay == first
    assert first["data"]["inventorySetQuantities"]["userErrors"] == []
    assert "different parameters" in other["errors"][0]["message"]


def test_rate_limit_answers_200_throttled_with_the_cost_bucket() -> None:
    with shop(items=10, rate_limit=(1, 20.0)) as (url, state):
        assert "data" in gql(url, VARIANTS, {"first": 1}).json()
        response = gql(url, VARIANTS, {"first": 1})
        assert state.rejected_429 == 1
    assert response.status_code == 200
    body = response.json()
    assert body["errors"] == [{"message": "Throttled", "extensions": {"code": "THROTTLED"}}]
    cost = body["extensions"]["cost"]
    bucket = cost["throttleStatus"]
    assert cost["actualQueryCost"] is None
    assert 0 <= bucket["currentlyAvailable"] < cost["requestedQueryCost"]
    wait = (cost["requestedQueryCost"] - bucket["currentlyAvailable"]) / bucket["restoreRate"]
    assert 15 < wait <= 20


@pytest.mark.parametrize("fault", [{"outage": True}, {"share_5xx": 1.0}])
def test_server_errors_are_shopify_shaped(fault: dict[str, Any]) -> None:
    with shop(items=10, **fault) as (url, _state):
        response = gql(url, VARIANTS, {"first": 1})
    assert response.status_code == 503
    assert set(response.json()) == {"errors"}
    assert isinstance(response.json()["errors"], str)


def test_unknown_skus_are_refused_and_nothing_changes() -> None:
    with shop(items=10) as (url, state):
        before = state.stock()
        changes = {"SKU-000001": 0, "SKU-000011": 1}
        response = requests.post(f"{url}/_sandbox/stock", json=changes, timeout=10)
        assert state.stock() == before
    assert response.status_code == 400
    assert response.json() == {"unknown": ["SKU-000011"]}


@contextmanager
def receiver() -> Iterator[tuple[str, list[tuple[Headers, bytes]]]]:
    """A tiny webhook endpoint that keeps each delivery's headers and raw body."""
    deliveries: list[tuple[Headers, bytes]] = []

    @Request.application
    def app(request: Request) -> Response:
        deliveries.append((Headers(request.headers.items()), request.get_data()))
        return Response("ok")

    with running(app) as url:
        yield f"{url}/webhooks/shopify", deliveries


def test_stock_changes_send_signed_inventory_level_webhooks() -> None:
    secret = "shpss_test_secret"
    with receiver() as (hook_url, deliveries):
        credentials = {"access_token": TOKEN, "client_secret": secret}
        with shop(items=10, webhook_url=hook_url, credentials=credentials) as (url, state):
            unchanged = store_quantity("SKU-000003", 0.0)
            variables = {"input": set_input((item(1), 501), (item(3), unchanged)), "key": "k"}
            assert gql(url, SET, variables).json()["data"]["inventorySetQuantities"]
            requests.post(f"{url}/_sandbox/stock", json={"SKU-000002": 502}, timeout=10)
            assert state.webhooks.wait_idle(10)
    # An unchanged level is not an update: two deliveries, not three.
    assert len(deliveries) == 2
    for headers, raw in deliveries:
        expected = base64.b64encode(hmac.new(secret.encode(), raw, hashlib.sha256).digest())
        assert hmac.compare_digest(headers["X-Shopify-Hmac-Sha256"].encode(), expected)
        assert headers["X-Shopify-Topic"] == "inventory_levels/update"
        assert headers["X-Shopify-Shop-Domain"] == "sandbox.myshopify.com"
        assert headers["X-Shopify-API-Version"] == "2026-04"
        assert headers["Content-Type"] == "application/json"
        uuid.UUID(headers["X-Shopify-Event-Id"])
        datetime.fromisoformat(headers["X-Shopify-Triggered-At"])
    assert len({h["X-Shopify-Webhook-Id"] for h, _ in deliveries}) == 2
    bodies = [json.loads(raw) for _, raw in deliveries]
    assert [(b["inventory_item_id"], b["location_id"], b["available"]) for b in bodies] == [
        (ITEM_BASE + 1, 1, 501),
        (ITEM_BASE + 2, 1, 502),
    ]
    assert bodies[0]["admin_graphql_api_id"].startswith("gid://shopify/InventoryLevel/1?")
    datetime.fromisoformat(bodies[0]["updated_at"])


def test_catalog_edits_send_products_webhooks_with_rest_ids() -> None:
    """Created, renamed and deleted products: Shopify's `products/*` bodies, REST ids with
    the GID only in `admin_graphql_api_id`; a deleted product is gone from every read."""
    query = "query ($id: ID!) { product(id: $id) { id variants(first: 250) { nodes { sku } } } }"
    with receiver() as (hook_url, deliveries):
        with shop(items=10, webhook_url=hook_url) as (url, state):
            created = state.add_product(["NEW-1", "NEW-2"])
            state.rename_sku("SKU-000002", "SKU-R00002")
            state.delete_product_of("SKU-000004")
            assert state.webhooks.wait_idle(10)
            new = gql(url, query, {"id": f"gid://shopify/Product/{created}"}).json()["data"]
            gone = gql(url, query, {"id": "gid://shopify/Product/3"}).json()["data"]
            stock = state.stock()
    topics = [headers["X-Shopify-Topic"] for headers, _ in deliveries]
    assert topics == ["products/create", "products/update", "products/delete"]
    create, update, delete = (json.loads(raw) for _, raw in deliveries)
    # 10 variants make products of 1, 2, 3, 1, 2 and 1: the new one is number 7.
    assert create["id"] == created == 7
    assert create["admin_graphql_api_id"] == "gid://shopify/Product/7"
    assert [(v["sku"], v["product_id"]) for v in create["variants"]] == [
        ("NEW-1", 7),
        ("NEW-2", 7),
    ]
    assert [v["sku"] for v in update["variants"]] == ["SKU-R00002", "SKU-000003"]
    assert update["variants"][0]["inventory_item_id"] == ITEM_BASE + 2
    assert delete == {"id": 3}
    assert [n["sku"] for n in new["product"]["variants"]["nodes"]] == ["NEW-1", "NEW-2"]
    assert gone["product"] is None
    assert "SKU-000006" not in stock and "SKU-000007" in stock and stock["NEW-1"] == 0


# Orders (docs/platforms.md section 5, "What an order does to Shopify's numbers") ------


def control(url: str, path: str, body: Any = None) -> requests.Response:
    return requests.post(f"{url}/_sandbox/{path}", json=body or {}, timeout=10)


def levels(url: str, sku: str) -> tuple[int, int, int]:
    level = requests.get(f"{url}/_sandbox/levels", timeout=10).json()[sku]
    return level["available"], level["committed"], level["on_hand"]


def place(url: str, **units: int) -> int:
    lines = [{"sku": sku.replace("_", "-"), "quantity": q} for sku, q in units.items()]
    answer = control(url, "orders", {"lines": lines})
    assert answer.status_code == 201, answer.text
    return int(answer.json()["id"])


def test_an_order_moves_units_from_available_to_committed_and_fulfilment_ships_them() -> None:
    with shop(items=5) as (url, state):
        available = state.stock()["SKU-000001"]
        order_id = place(url, SKU_000001=3)
        assert levels(url, "SKU-000001") == (available - 3, 3, available)
        # The catalog reads `available` as inventoryQuantity.
        nodes = gql(url, VARIANTS, {"first": 1}).json()["data"]["productVariants"]["nodes"]
        assert nodes[0]["inventoryQuantity"] == available - 3
        assert control(url, f"orders/{order_id}/fulfil").status_code == 200
        assert levels(url, "SKU-000001") == (available - 3, 0, available - 3)


@pytest.mark.parametrize(("restock", "back"), [(True, 2), (False, 0)])
def test_a_cancel_releases_committed_units_back_to_available_only_with_restock(
    restock: bool, back: int
) -> None:
    with shop(items=5) as (url, state):
        available = state.stock()["SKU-000002"]
        order_id = place(url, SKU_000002=2)
        assert control(url, f"orders/{order_id}/cancel", {"restock": restock}).status_code == 200
        assert levels(url, "SKU-000002") == (available - 2 + back, 0, available - 2 + back)
        again = control(url, f"orders/{order_id}/cancel", {"restock": restock})
        assert again.status_code == 400


def test_refunds_restock_by_type() -> None:
    """`cancel` takes unfulfilled units back, `return` fulfilled ones; `no_restock`
    restocks nothing; a type asking for units the line does not have is refused."""
    with shop(items=5) as (url, state):
        available = state.stock()["SKU-000003"]
        order_id = place(url, SKU_000003=5)

        def refund(quantity: int, restock_type: str) -> requests.Response:
            line = {"sku": "SKU-000003", "quantity": quantity, "restock_type": restock_type}
            return control(url, f"orders/{order_id}/refunds", {"lines": [line]})

        assert refund(1, "return").status_code == 400  # nothing shipped yet
        assert refund(1, "cancel").status_code == 201
        assert levels(url, "SKU-000003") == (available - 4, 4, available)
        assert refund(1, "no_restock").status_code == 201
        assert levels(url, "SKU-000003") == (available - 4, 3, available - 1)
        control(url, f"orders/{order_id}/fulfil")
        assert refund(2, "return").status_code == 201
        assert levels(url, "SKU-000003") == (available - 2, 0, available - 2)
        assert refund(2, "return").status_code == 400  # only 1 unit left on the line


def test_order_steps_deliver_rest_orders_and_refunds() -> None:
    with receiver() as (hook_url, deliveries):
        with shop(items=5, webhook_url=hook_url) as (url, state):
            first = place(url, SKU_000001=2, SKU_000002=1)
            line = {"sku": "SKU-000002", "quantity": 1, "restock_type": "cancel"}
            control(url, f"orders/{first}/refunds", {"lines": [line]})
            control(url, f"orders/{first}/fulfil")
            second = place(url, SKU_000004=1)
            control(url, f"orders/{second}/cancel", {"restock": True})
            assert state.webhooks.wait_idle(10)
    topics = [headers["X-Shopify-Topic"] for headers, _ in deliveries]
    assert topics == [
        "inventory_levels/update",
        "inventory_levels/update",
        "orders/create",
        "inventory_levels/update",
        "refunds/create",
        "orders/updated",
        "orders/updated",
        "inventory_levels/update",
        "orders/create",
        "inventory_levels/update",
        "orders/cancelled",
    ]
    bodies = [json.loads(raw) for _, raw in deliveries]
    create, refund, refunded, fulfilled = bodies[2], bodies[4], bodies[5], bodies[6]
    assert (create["id"], create["name"]) == (first, "#1001")
    assert create["admin_graphql_api_id"] == f"gid://shopify/Order/{first}"
    assert create["cancelled_at"] is None and create["refunds"] == []
    assert [
        (li["variant_id"], li["sku"], li["quantity"], li["fulfillable_quantity"])
        for li in create["line_items"]
    ] == [(1, "SKU-000001", 2, 2), (2, "SKU-000002", 1, 1)]
    assert {li["variant_inventory_management"] for li in create["line_items"]} == {"shopify"}
    [refund_line] = refund["refund_line_items"]
    assert refund_line["line_item_id"] == create["line_items"][1]["id"]
    assert (refund_line["restock_type"], refund_line["location_id"]) == ("cancel", 1)
    assert refunded["refunds"][0]["id"] == refund["id"]
    assert refunded["financial_status"] == "partially_refunded"
    assert fulfilled["fulfillment_status"] == "fulfilled"
    cancelled = bodies[-1]
    assert cancelled["cancelled_at"] and cancelled["name"] == "#1002"
    [restock] = cancelled["refunds"]
    assert [(r["quantity"], r["restock_type"]) for r in restock["refund_line_items"]] == [
        (1, "cancel")
    ]
    assert cancelled["financial_status"] == "refunded"
    secret = credentials_for("shopify", {})["client_secret"]
    for headers, raw in deliveries:
        assert headers["X-Shopify-Hmac-Sha256"] == signature(secret, raw)
        uuid.UUID(headers["X-Shopify-Webhook-Id"])
        datetime.fromisoformat(headers["X-Shopify-Triggered-At"])


@pytest.mark.parametrize(
    "body",
    [{"lines": [{"sku": "NOPE", "quantity": 1}]}, {"lines": []}, {}],
    ids=["unknown-sku", "no-lines", "empty"],
)
def test_an_order_the_sandbox_cannot_play_is_400_and_changes_nothing(body: Any) -> None:
    with shop(items=5) as (url, state):
        before = requests.get(f"{url}/_sandbox/levels", timeout=10).json()
        assert control(url, "orders", body).status_code == 400
        assert requests.get(f"{url}/_sandbox/levels", timeout=10).json() == before
        assert not state.orders.orders
