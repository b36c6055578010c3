"""The WooCommerce sandbox speaks the real API: paths, shapes, auth, limits, webhooks.

Fidelity is checked with the official `woocommerce` PyPI client, unchanged: over plain
HTTP it signs every request with one-legged OAuth 1.0a, which the sandbox verifies.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from typing import Any

import pytest
import requests
from werkzeug.wrappers import Request, Response
from woocommerce import API
from woocommerce.oauth import OAuth

from sandbox.accounts import DEFAULTS
from sandbox.base import SandboxConfig
from sandbox.catalog import skus, store_quantity
from sandbox.server import running
from sandbox.woocommerce import create_app
from sandbox.woocommerce.state import WooCommerceState
from tests.support.webhook_sink import receiving

ACCOUNT = DEFAULTS["woocommerce"].sandbox
KEY, SECRET = ACCOUNT["consumer_key"], ACCOUNT["consumer_secret"]
WC = "/wp-json/wc/v3"


@contextmanager
def sandbox(**config: Any) -> Iterator[tuple[str, WooCommerceState]]:
    app = create_app(SandboxConfig(**config))
    with running(app) as base:
        yield base, app.config["SANDBOX_STATE"]


@pytest.fixture
def store() -> Iterator[tuple[str, WooCommerceState]]:
    with sandbox(items=250, drift=0.1) as running_store:
        yield running_store


def call(method: str, url: str, **kwargs: Any) -> requests.Response:
    kwargs.setdefault("auth", (KEY, SECRET))
    return requests.request(method, url, timeout=10, **kwargs)


# Catalog -----------------------------------------------------------------------------


@pytest.mark.parametrize("items", [1, 11, 12, 1000])
def test_seed_has_exactly_the_configured_sellable_skus(items: int) -> None:
    with sandbox(items=items, drift=0.2, seed=3) as (base, state):
        stock = call("GET", f"{base}/_sandbox/stock").json()

    assert sorted(stock) == skus(items)
    assert stock == {sku: store_quantity(sku, 0.2, 3) for sku in skus(items)}
    variable = [p for p in state.catalog.records.values() if p.type == "variable"]
    assert all(len(p.variations) == 3 for p in variable)
    assert len(variable) == items // 12  # 10 products: 9 simple + 3 variations


def test_products_page_like_wordpress(store: Any) -> None:
    base, state = store
    first = call("GET", f"{base}{WC}/products")
    second = call("GET", f"{base}{WC}/products", params={"per_page": 100, "page": 2})
    beyond = call("GET", f"{base}{WC}/products", params={"per_page": 100, "page": 9})

    top_level = len(state.catalog.top_ids)
    assert len(first.json()) == 10  # per_page defaults to 10
    assert first.headers["X-WP-Total"] == str(top_level)
    assert first.headers["X-WP-TotalPages"] == str(-(-top_level // 10))
    assert first.json()[0]["id"] > first.json()[1]["id"]  # newest first by default
    assert set(second.links) == {"prev", "next"}
    assert second.links["next"]["url"].endswith("per_page=100&page=3")
    assert beyond.status_code == 200 and beyond.json() == []
    assert "next" not in beyond.links


def test_per_page_over_100_is_rejected(store: Any) -> None:
    base, _ = store
    response = call("GET", f"{base}{WC}/products", params={"per_page": 101})

    assert response.status_code == 400
    body = response.json()
    assert body["code"] == "rest_invalid_param"
    assert body["data"]["status"] == 400 and "per_page" in body["data"]["params"]


def test_sku_filter_takes_a_list_and_finds_variations(store: Any) -> None:
    base, _ = store
    response = call("GET", f"{base}{WC}/products", params={"sku": "SKU-000001,SKU-000011"})

    found = {p["sku"]: p for p in response.json()}
    assert set(found) == {"SKU-000001", "SKU-000011"}
    assert found["SKU-000011"]["type"] == "variation"
    assert found["SKU-000011"]["parent_id"] > 0


def test_product_and_variation_shapes(store: Any) -> None:
    base, state = store
    parent_id = state.catalog.records[state.catalog.by_sku["SKU-000010"]].parent_id
    parent = call("GET", f"{base}{WC}/products/{parent_id}").json()
    variations = call("GET", f"{base}{WC}/products/{parent_id}/variations").json()
    included = call("GET", f"{base}{WC}/products", params={"include": str(parent_id)}).json()

    assert parent["type"] == "variable" and parent["manage_stock"] is False
    assert sorted(parent["variations"]) == sorted(v["id"] for v in variations)
    assert {v["sku"] for v in variations} == {"SKU-000010", "SKU-000011", "SKU-000012"}
    assert all(v["parent_id"] == parent_id and v["type"] == "variation" for v in variations)
    assert [p["id"] for p in included] == [parent_id]
    assert set(parent) >= {"stock_quantity", "stock_status", "date_modified_gmt", "parent_id"}


def test_unknown_product_and_route(store: Any) -> None:
    base, _ = store
    product = call("GET", f"{base}{WC}/products/424242")
    route = call("GET", f"{base}{WC}/nothing-here")

    assert product.status_code == 404
    assert product.json()["code"] == "woocommerce_rest_product_invalid_id"
    assert route.status_code == 404 and route.json()["code"] == "rest_no_route"


# Writes ------------------------------------------------------------------------------


def test_a_profiles_write_takes_its_write_latency_beyond_a_reads() -> None:
    """`write_latency_ms` (sandbox.profiles: WooCommerce saves each product of a batch):
    a batch write answers no sooner than that; a page read does not pay it."""
    with sandbox(items=10, write_latency_ms=400.0) as (base, _state):
        began = time.monotonic()
        call("POST", f"{base}{WC}/products/batch", json={"update": [{"id": 100}]})
        wrote = time.monotonic() - began
        began = time.monotonic()
        call("GET", f"{base}{WC}/products", params={"per_page": 5})
        read = time.monotonic() - began
    assert wrote >= 0.4
    assert read < wrote


def test_batch_over_100_items_is_413_and_not_applied(store: Any) -> None:
    base, state = store
    items = [{"id": 100, "stock_quantity": 1}] * 101
    response = call("POST", f"{base}{WC}/products/batch", json={"update": items})

    assert response.status_code == 413
    assert response.json() == {
        "code": "woocommerce_rest_request_entity_too_large",
        "message": "Unable to accept more than 100 items for this request.",
        "data": {"status": 413},
    }
    assert state.writes == []


def test_batch_reports_bad_items_inside_a_200(store: Any) -> None:
    base, state = store
    update = [
        {"id": 100, "manage_stock": True, "stock_quantity": 42},
        {"id": 999999, "stock_quantity": 1},
        {"id": 101, "stock_quantity": -1},
        {"id": 102, "stock_quantity": "7"},
    ]
    response = call("POST", f"{base}{WC}/products/batch", json={"update": update})

    assert response.status_code == 200
    first, unknown, negative, text = response.json()["update"]
    assert first["stock_quantity"] == 42 and first["stock_status"] == "instock"
    assert unknown == {
        "id": 999999,
        "error": {
            "code": "woocommerce_rest_product_invalid_id",
            "message": "Invalid ID.",
            "data": {"status": 400},
        },
    }
    assert negative["error"]["code"] == text["error"]["code"] == "rest_invalid_param"
    assert [(w.path, w.items) for w in state.writes] == [(f"{WC}/products/batch", 4)]
    assert state.stock()["SKU-000001"] == 42


def test_variation_batch_only_touches_its_parents_variations(store: Any) -> None:
    base, state = store
    variation = state.catalog.records[state.catalog.by_sku["SKU-000010"]]
    url = f"{base}{WC}/products/{variation.parent_id}/variations/batch"
    update = [{"id": variation.id, "stock_quantity": 0}, {"id": 100, "stock_quantity": 0}]

    own, foreign = call("POST", url, json={"update": update}).json()["update"]

    assert own["stock_status"] == "outofstock"
    assert foreign["error"]["code"] == "woocommerce_rest_product_variation_invalid_id"
    assert state.stock()["SKU-000010"] == 0


def test_put_updates_one_product(store: Any) -> None:
    base, state = store
    response = call("PUT", f"{base}{WC}/products/100", json={"stock_quantity": 5})

    assert response.json()["stock_quantity"] == 5
    assert response.json()["date_modified_gmt"] != "2024-01-01T00:00:00"
    assert [(w.method, w.items) for w in state.writes] == [("PUT", 1)]


# Auth and faults ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("method", "path", "auth", "code"),
    [
        ("GET", "/products", None, "woocommerce_rest_cannot_view"),
        ("POST", "/products/batch", None, "woocommerce_rest_cannot_batch"),
        ("PUT", "/products/100", None, "woocommerce_rest_cannot_edit"),
        ("GET", "/products", ("ck_other", SECRET), "woocommerce_rest_cannot_view"),
        ("GET", "/products", (KEY, "cs_wrong"), "woocommerce_rest_authentication_error"),
    ],
)
def test_requests_without_valid_keys_get_401(
    store: Any, method: str, path: str, auth: Any, code: str
) -> None:
    base, state = store
    response = call(method, f"{base}{WC}{path}", auth=auth, json={})

    assert response.status_code == 401
    assert response.json()["code"] == code
    assert response.json()["data"] == {"status": 401}
    assert state.writes == []


def test_keys_in_the_query_string_and_from_config() -> None:
    credentials = {"consumer_key": "ck_mine", "consumer_secret": "cs_mine"}
    with sandbox(items=5, credentials=credentials) as (base, _):
        query = {"consumer_key": "ck_mine", "consumer_secret": "cs_mine"}
        by_query = call("GET", f"{base}{WC}/products", params=query, auth=None)
        defaults = call("GET", f"{base}{WC}/products")

    assert by_query.status_code == 200 and len(by_query.json()) == 5
    assert "consumer_secret" not in by_query.headers.get("Link", "")
    assert defaults.status_code == 401


def test_429_is_wc_shaped_with_retry_after() -> None:
    with sandbox(items=5, share_429=1.0) as (base, _):
        response = call("GET", f"{base}{WC}/products")

    assert response.status_code == 429
    assert int(response.headers["Retry-After"]) >= 1
    assert set(response.json()) == {"code", "message", "data"}
    assert response.json()["data"] == {"status": 429}


@pytest.mark.parametrize("fault", [{"outage": True}, {"share_5xx": 1.0}])
def test_server_errors_are_wp_error_shaped(fault: dict[str, Any]) -> None:
    with sandbox(items=5, **fault) as (base, _):
        response = call("GET", f"{base}{WC}/products")

    assert response.status_code == 503
    body = response.json()
    assert set(body) == {"code", "message", "data"}
    assert body["code"] == "internal_server_error" and body["data"] == {"status": 503}


# Control routes ------------------------------------------------------------------------


def test_unknown_skus_are_refused_and_nothing_changes(store: Any) -> None:
    base, state = store
    before = state.stock()
    # A variable parent's SKU is no stock of its own: unknown too.
    changes = {"SKU-000001": 0, "NOPE": 1, "PARENT-000010": 2}
    response = call("POST", f"{base}/_sandbox/stock", json=changes)

    assert response.status_code == 400
    assert response.json() == {"unknown": ["NOPE", "PARENT-000010"]}
    assert state.stock() == before


@pytest.mark.parametrize("body", [["SKU-000001", 1], {"SKU-000001": "7"}, {"SKU-000001": True}])
def test_stock_changes_must_be_an_object_of_integers(store: Any, body: Any) -> None:
    base, state = store
    before = state.stock()
    response = call("POST", f"{base}/_sandbox/stock", json=body)

    assert response.status_code == 400
    assert state.stock() == before


# The official client, unchanged (OAuth 1.0a over plain HTTP) ---------------------------


def test_official_client_pages_the_catalog_and_batch_updates(store: Any) -> None:
    base, state = store
    wcapi = API(url=base, consumer_key=KEY, consumer_secret=SECRET, version="wc/v3", timeout=10)
    seen: list[str] = []
    page, pages = 1, 1
    while page <= pages:
        response = wcapi.get("products", params={"per_page": 100, "page": page})
        assert response.status_code == 200, response.text
        pages = int(response.headers["X-WP-TotalPages"])
        for product in response.json():
            if product["type"] == "variable":
                variations = wcapi.get(f"products/{product['id']}/variations").json()
                seen.extend(v["sku"] for v in variations)
            else:
                seen.append(product["sku"])
        page += 1

    update = [{"id": 100, "stock_quantity": 77}, {"id": 101, "stock_quantity": 78}]
    batch = wcapi.post("products/batch", {"update": update})

    assert pages == 3
    assert sorted(seen) == skus(250)
    assert batch.status_code == 200, batch.text
    assert [p["stock_quantity"] for p in batch.json()["update"]] == [77, 78]
    assert state.stock()["SKU-000001"] == 77


def _signed_url(base: str, query: str = "per_page=5", **oauth: Any) -> str:
    """A URL signed by the official client's own OAuth class."""
    return OAuth(
        f"{base}{WC}/products?{query}", KEY, SECRET, version="wc/v3", method="GET", **oauth
    ).get_oauth_url()


def test_oauth_rejects_tampering_replay_and_stale_timestamps(store: Any) -> None:
    base, _ = store
    signed = _signed_url(base)
    tampered = signed.replace("per_page=5", "per_page=6")
    stale = _signed_url(base, oauth_timestamp=int(time.time()) - 16 * 60)
    unsigned = signed.split("&oauth_signature=")[0]

    assert call("GET", signed, auth=None).status_code == 200
    replayed = call("GET", signed, auth=None).json()
    assert replayed["message"] == "Invalid nonce - nonce has already been used."
    messages = {
        call("GET", url, auth=None).json()["message"] for url in (tampered, stale, unsigned)
    }
    assert messages == {
        "Invalid signature - provided signature does not match.",
        "Invalid timestamp.",
        "Missing OAuth parameter oauth_signature",
    }


# Webhooks ------------------------------------------------------------------------------


@contextmanager
def receiver() -> Iterator[tuple[str, list[tuple[dict[str, str], bytes]]]]:
    """A tiny webhook endpoint that keeps each delivery's headers and raw body."""
    received: list[tuple[dict[str, str], bytes]] = []

    @Request.application
    def app(request: Request) -> Response:
        received.append((dict(request.headers), request.get_data()))
        return Response("ok")

    with running(app) as url:
        yield f"{url}/hooks/woocommerce", received


def test_stock_changes_send_signed_product_updated_webhooks() -> None:
    secret = "s3cret&<quoted>"
    with receiver() as (url, received):
        with sandbox(items=50, webhook_url=url, webhook_secret=secret) as (base, state):
            changes = {"SKU-000001": 9, "SKU-000011": 0, "SKU-000002": -1}
            call("POST", f"{base}/_sandbox/stock", json=changes)
            call("POST", f"{base}/_sandbox/stock", json={"SKU-000001": 9})  # no change
            call(
                "POST",
                f"{base}{WC}/products/batch",
                json={"update": [{"id": 102, "stock_quantity": 3}]},
            )
            assert state.webhooks.wait_idle(10)

    assert len(received) == 4
    bodies = {}
    for headers, raw in received:
        expected = base64.b64encode(hmac.new(secret.encode(), raw, hashlib.sha256).digest())
        assert hmac.compare_digest(headers["X-Wc-Webhook-Signature"].encode(), expected)
        assert headers["X-Wc-Webhook-Topic"] == "product.updated"
        assert headers["X-Wc-Webhook-Resource"] == "product"
        assert headers["X-Wc-Webhook-Event"] == "updated"
        assert headers["X-Wc-Webhook-Source"] == f"{base}/"
        assert headers["X-Wc-Webhook-Id"] == "1"
        assert len(headers["X-Wc-Webhook-Delivery-Id"]) == 32
        assert headers["Content-Type"] == "application/json"
        assert headers["User-Agent"] == "WooCommerce/9.0 Hookshot (WordPress/6.5)"
        assert b"\\/" in raw and raw == raw.strip()  # wp_json_encode escapes slashes
        body = json.loads(raw)
        bodies[body["sku"]] = body
    assert {sku: b["stock_quantity"] for sku, b in bodies.items()} == {
        "SKU-000001": 9,
        "SKU-000011": 0,
        "SKU-000002": -1,
        "SKU-000003": 3,
    }
    variation = bodies["SKU-000011"]
    assert variation["type"] == "variation" and variation["parent_id"] > 0
    assert variation["stock_status"] == "outofstock"


# Orders (docs/platforms.md section 1, "Order webhooks and WooCommerce's own stock") ------


def _order(base: str, lines: dict[str, int], status: str | None = None) -> int:
    body: dict[str, Any] = {"lines": [{"sku": s, "quantity": q} for s, q in lines.items()]}
    if status is not None:
        body["status"] = status
    answer = call("POST", f"{base}/_sandbox/orders", json=body)
    assert answer.status_code == 201, answer.text
    assert answer.json()["number"] == str(answer.json()["id"])
    return int(answer.json()["id"])


def _status(base: str, order_id: int, status: str) -> None:
    answer = call("POST", f"{base}/_sandbox/orders/{order_id}/status", json={"status": status})
    assert answer.status_code == 200, answer.text


def _refund(base: str, order_id: int, lines: dict[str, int], restock: bool) -> requests.Response:
    body = {"lines": [{"sku": s, "quantity": q} for s, q in lines.items()], "restock": restock}
    return call("POST", f"{base}/_sandbox/orders/{order_id}/refunds", json=body)


def _stock(base: str, *skus_: str) -> list[int]:
    stock = call("GET", f"{base}/_sandbox/stock").json()
    return [stock[sku] for sku in skus_]


def test_an_order_takes_stock_once_when_it_enters_a_reducing_status(store: Any) -> None:
    """pending takes nothing; on-hold takes once; processing and completed take no more;
    cancelled gives it back, and a second cancel gives nothing more."""
    base, _state = store
    [before] = _stock(base, "SKU-000001")
    order_id = _order(base, {"SKU-000001": 2}, "pending")
    assert _stock(base, "SKU-000001") == [before]
    for status, expected in [
        ("on-hold", before - 2),
        ("processing", before - 2),
        ("completed", before - 2),
        ("cancelled", before),
        ("cancelled", before),
        ("processing", before - 2),
        ("pending", before),
    ]:
        _status(base, order_id, status)
        assert _stock(base, "SKU-000001") == [expected], status


@pytest.mark.parametrize("status", ["failed", "refunded", "wc-shipped-custom"])
def test_failed_refunded_and_custom_statuses_give_nothing_back(store: Any, status: str) -> None:
    base, _state = store
    [before] = _stock(base, "SKU-000002")
    order_id = _order(base, {"SKU-000002": 3})
    _status(base, order_id, status)
    assert _stock(base, "SKU-000002") == [before - 3]


def test_a_refund_restocks_only_what_it_asks_to(store: Any) -> None:
    base, _state = store
    before = _stock(base, "SKU-000001", "SKU-000011")
    order_id = _order(base, {"SKU-000001": 3, "SKU-000011": 2})
    assert _refund(base, order_id, {"SKU-000001": 1}, restock=True).status_code == 201
    assert _refund(base, order_id, {"SKU-000011": 2}, restock=False).status_code == 201
    assert _stock(base, "SKU-000001", "SKU-000011") == [before[0] - 2, before[1] - 2]
    # Cancelling now gives back what is still reduced: 2 of the first line, 2 of the other.
    _status(base, order_id, "cancelled")
    assert _stock(base, "SKU-000001", "SKU-000011") == before
    too_many = _refund(base, order_id, {"SKU-000001": 3}, restock=True)
    assert too_many.status_code == 400 and "left" in too_many.json()["error"]


def test_the_rest_api_answers_the_order_and_its_refunds(store: Any) -> None:
    base, _state = store
    order_id = _order(base, {"SKU-000011": 2, "SKU-000001": 1})
    _refund(base, order_id, {"SKU-000011": 1}, restock=True)
    order = call("GET", f"{base}{WC}/orders/{order_id}").json()
    assert (order["id"], order["number"], order["status"]) == (
        order_id,
        str(order_id),
        "processing",
    )
    [variation, simple] = order["line_items"]
    assert variation["sku"] == "SKU-000011" and variation["quantity"] == 2
    assert variation["variation_id"] > 0 and variation["product_id"] != variation["variation_id"]
    assert (simple["variation_id"], simple["quantity"]) == (0, 1)
    [refund_ref] = order["refunds"]
    refunds = call("GET", f"{base}{WC}/orders/{order_id}/refunds")
    assert refunds.headers["X-WP-Total"] == "1"
    [refund] = refunds.json()
    assert refund["id"] == refund_ref["id"]
    [line] = refund["line_items"]
    assert (line["sku"], line["quantity"]) == ("SKU-000011", -1)
    assert line["meta_data"] == [{"key": "_refunded_item_id", "value": str(variation["id"])}]
    assert call("GET", f"{base}{WC}/orders/{order_id}", auth=None).status_code == 401
    missing = call("GET", f"{base}{WC}/orders/1")
    assert (missing.status_code, missing.json()["code"]) == (
        404,
        "woocommerce_rest_shop_order_invalid_id",
    )


@pytest.mark.parametrize(
    "body",
    [
        {"lines": [{"sku": "NOPE", "quantity": 1}]},
        {"lines": []},
        {"lines": [{"sku": "SKU-000001", "quantity": 0}]},
        {"lines": [{"sku": "SKU-000001", "quantity": True}]},
        {"lines": [{"sku": "SKU-000001", "quantity": 1}], "status": ""},
    ],
    ids=["unknown-sku", "no-lines", "zero", "bool", "empty-status"],
)
def test_an_order_the_sandbox_cannot_play_is_400_and_changes_nothing(
    store: Any, body: dict[str, Any]
) -> None:
    base, state = store
    before = call("GET", f"{base}/_sandbox/stock").json()
    assert call("POST", f"{base}/_sandbox/orders", json=body).status_code == 400
    assert call("GET", f"{base}/_sandbox/stock").json() == before and not state.orders.orders


def test_concurrent_orders_never_lose_a_decrement(store: Any) -> None:
    base, _state = store
    [before] = _stock(base, "SKU-000003")
    with ThreadPoolExecutor(8) as pool:
        list(pool.map(lambda _: _order(base, {"SKU-000003": 1}), range(24)))
    assert _stock(base, "SKU-000003") == [before - 24]


def test_order_changes_send_order_and_product_webhooks() -> None:
    """order.created (for a draft only once it becomes an order; a checkout-draft's
    update is order.updated, woocommerce/woocommerce#66995), order.updated for each
    change, and the product.updated WC sends for each stock change."""
    with receiving() as (url, sink):
        with sandbox(items=20, webhook_url=url) as (base, state):
            draft = _order(base, {"SKU-000001": 1}, "checkout-draft")
            _status(base, draft, "checkout-draft")
            order_id = _order(base, {"SKU-000002": 2}, "pending")
            _status(base, order_id, "processing")
            _refund(base, order_id, {"SKU-000002": 1}, restock=True)
            _status(base, draft, "processing")
            assert state.webhooks.wait_idle(10)
    deliveries = [(d.headers["x-wc-webhook-topic"], json.loads(d.body)) for d in sink.deliveries]
    assert [(topic, body["id"]) for topic, body in deliveries] == [
        ("order.updated", draft),
        ("order.created", order_id),
        ("order.updated", order_id),
        ("product.updated", 101),
        ("order.updated", order_id),
        ("product.updated", 101),
        ("order.created", draft),
        ("product.updated", 100),
    ]
    statuses = [body["status"] for topic, body in deliveries if topic.startswith("order")]
    assert statuses == ["checkout-draft", "pending", "processing", "processing", "processing"]
    stamps = [body["date_modified_gmt"] for t, body in deliveries if t.startswith("order")][1:4]
    assert stamps == sorted(set(stamps))
    assert [len(body["refunds"]) for t, body in deliveries if t == "order.updated"] == [0, 0, 1]
