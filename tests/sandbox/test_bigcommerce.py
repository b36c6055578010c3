"""The BigCommerce sandbox over real HTTP: catalog, writes, limits and signed webhooks."""

from __future__ import annotations

import base64
import hashlib
import json
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
import requests
from standardwebhooks import Webhook, WebhookVerificationError
from werkzeug.wrappers import Request, Response

from sandbox.accounts import DEFAULT_WEBHOOK_SECRET
from sandbox.base import FixedWindowLimiter, SandboxConfig
from sandbox.bigcommerce import create_app
from sandbox.bigcommerce.state import MAX_LEVEL, BigCommerceState
from sandbox.catalog import skus
from sandbox.server import running

CREDENTIALS = {
    "store_hash": "abc123",
    "access_token": "token-1",
    "client_secret": "client-secret-1",
}
HEADERS = {"X-Auth-Token": "token-1", "Accept": "application/json"}


class Api:
    """A thin client for one sandbox: URLs under `/stores/abc123/v3/`."""

    def __init__(self, url: str, state: BigCommerceState) -> None:
        self.url, self.state = url, state

    def get(self, path: str, **params: Any) -> requests.Response:
        return requests.get(
            f"{self.url}/stores/abc123/v3/{path}", params=params, headers=HEADERS, timeout=10
        )

    def put(self, path: str, body: Any) -> requests.Response:
        return requests.put(
            f"{self.url}/stores/abc123/v3/{path}", json=body, headers=HEADERS, timeout=10
        )

    def adjust(self, *items: dict[str, Any]) -> requests.Response:
        return self.put("inventory/adjustments/absolute", {"reason": "test", "items": list(items)})


@contextmanager
def sandbox(**config: Any) -> Iterator[Api]:
    app = create_app(SandboxConfig(credentials=CREDENTIALS, **config))
    with running(app) as url:
        yield Api(url, app.config["SANDBOX_STATE"])


def item(quantity: int, **identity: Any) -> dict[str, Any]:
    return {"location_id": 1, **identity, "quantity": quantity}


def test_catalog_holds_exactly_the_configured_variant_skus() -> None:
    with sandbox(items=23) as api:
        first = api.get("catalog/variants").json()
        second = api.get("catalog/variants", page=2, limit=20).json()
        products = api.get("catalog/products", include="variants").json()
    assert first["meta"]["pagination"]["total"] == 23
    assert [v["sku"] for v in first["data"]] == skus(23)
    assert second["meta"]["pagination"] == {
        "total": 23,
        "count": 3,
        "per_page": 20,
        "current_page": 2,
        "total_pages": 2,
        "links": {"current": "?limit=20&page=2", "previous": "?limit=20&page=1"},
    }
    by_tracking = {p["inventory_tracking"] for p in products["data"]}
    assert by_tracking == {"product", "variant"}
    for product in products["data"]:
        options = product["inventory_tracking"] == "variant"
        assert len(product["variants"]) == (4 if options else 1)
        assert (product["base_variant_id"] is None) == options
        assert product["inventory_level"] == sum(v["inventory_level"] for v in product["variants"])


def test_paging_defaults_to_50_and_refuses_more_than_250() -> None:
    with sandbox(items=300) as api:
        default = api.get("catalog/variants").json()
        too_big = api.get("catalog/products", limit=251)
    assert default["meta"]["pagination"]["per_page"] == 50
    assert len(default["data"]) == 50
    assert too_big.status_code == 422
    assert too_big.json()["status"] == 422


def test_sku_filters_and_single_product_reads() -> None:
    with sandbox(items=16) as api:
        one = api.get("catalog/products", sku="SKU-000001").json()["data"]
        many = api.get("catalog/products", **{"sku:in": "SKU-000001,SKU-000002"}).json()["data"]
        variant = api.get("catalog/variants", sku="SKU-000006").json()["data"]
        product = api.get(f"catalog/products/{variant[0]['product_id']}", include="variants")
        missing = api.get("catalog/products/1")
    assert [p["sku"] for p in one] == ["SKU-000001"]
    assert "variants" not in one[0]
    assert [p["sku"] for p in many] == ["SKU-000001", "SKU-000002"]
    assert [v["sku"] for v in product.json()["data"]["variants"]] == [
        "SKU-000005",
        "SKU-000006",
        "SKU-000007",
        "SKU-000008",
    ]
    assert missing.status_code == 404


@pytest.mark.parametrize(
    ("path", "headers"),
    [
        ("/stores/abc123/v3/catalog/products", {"X-Auth-Token": "wrong"}),
        ("/stores/other/v3/catalog/products", {"X-Auth-Token": "token-1"}),
        ("/stores/abc123/v3/catalog/products", {}),
    ],
)
def test_bad_credentials_are_401_in_bigcommerce_shape(path: str, headers: dict[str, str]) -> None:
    with sandbox(items=8) as api:
        response = requests.get(f"{api.url}{path}", headers=headers, timeout=10)
    assert response.status_code == 401
    assert set(response.json()) == {"status", "title", "type", "errors"}


def test_absolute_adjustment_saves_and_is_logged() -> None:
    with sandbox(items=8) as api:
        response = api.adjust(
            item(7, product_id=100), item(8, variant_id=100004), item(9, sku="SKU-000006")
        )
        stock = api.state.stock()
        writes = [(w.method, w.path, w.items) for w in api.state.writes]
    assert response.status_code == 200
    assert set(response.json()) == {"transaction_id"}
    assert (stock["SKU-000001"], stock["SKU-000005"], stock["SKU-000006"]) == (7, 8, 9)
    assert writes == [("PUT", "/stores/abc123/v3/inventory/adjustments/absolute", 3)]


@pytest.mark.parametrize(
    ("bad", "message"),
    [
        (item(1, product_id=104), "Item with product_id 104 is tracked by variant"),
        (item(1, variant_id=100000), "Item with variant_id 100000 is tracked by product"),
        (item(MAX_LEVEL + 1, variant_id=100004), "Item with variant_id 100004 has quantity"),
        (item(-1, product_id=101), "Item with product_id 101 has quantity"),
        (item(1, variant_id=5), "Item with variant_id 5 not found"),
    ],
)
def test_one_bad_item_rejects_the_request_and_saves_nothing(
    bad: dict[str, Any], message: str
) -> None:
    with sandbox(items=8) as api:
        before = api.state.stock()
        response = api.adjust(item(42, product_id=100), bad)
        after = api.state.stock()
        writes = api.state.writes
    assert response.status_code == 422
    assert message in response.json()["title"]
    assert after == before
    assert writes == []


def test_batch_limits_2000_adjustments_and_50_catalog_variants() -> None:
    with sandbox(items=8) as api:
        adjustments = api.adjust(*[item(1, product_id=100)] * 2001)
        variants = api.put("catalog/variants", [{"id": 100004, "inventory_level": 1}] * 51)
        clamped = api.put("catalog/variants", [{"id": 100004, "inventory_level": MAX_LEVEL + 5}])
    assert adjustments.status_code == 422
    assert variants.status_code == 413
    assert clamped.status_code == 200
    assert clamped.json()["data"][0]["inventory_level"] == MAX_LEVEL


def test_quota_headers_count_down_then_429_says_when_the_window_resets() -> None:
    with sandbox(items=8, rate_limit=(5, 30.0)) as api:
        responses = [api.get("catalog/products/100") for _ in range(6)]
    lefts = [r.headers["X-Rate-Limit-Requests-Left"] for r in responses]
    assert [r.status_code for r in responses] == [200] * 5 + [429]
    assert lefts == ["4", "3", "2", "1", "0", "0"]
    for response in responses:
        assert response.headers["X-Rate-Limit-Time-Window-Ms"] == "30000"
        assert response.headers["X-Rate-Limit-Requests-Quota"] == "5"
        assert 0 < int(response.headers["X-Rate-Limit-Time-Reset-Ms"]) <= 30_000


def test_peek_reports_the_window_without_spending_it() -> None:
    limiter = FixedWindowLimiter(3, 30.0)
    limiter.take()

    left, reset = limiter.peek()
    assert left == limiter.peek()[0] == 2
    assert 29 < reset <= 30
    assert limiter.take()[:2] == (True, 1)


@pytest.mark.parametrize("fault", [{"outage": True}, {"share_5xx": 1.0}])
def test_server_errors_are_problem_shaped(fault: dict[str, Any]) -> None:
    with sandbox(items=8, **fault) as api:
        response = api.get("catalog/products")
    assert response.status_code == 503
    assert response.headers["Content-Type"] == "application/problem+json"
    assert set(response.json()) == {"status", "title", "type", "errors"}
    assert response.json()["status"] == 503


def test_unknown_skus_are_refused_and_nothing_changes() -> None:
    with sandbox(items=8) as api:
        before = api.state.stock()
        changes = {"SKU-000001": 0, "SKU-999999": 1, "NOPE": 2}
        response = requests.post(f"{api.url}/_sandbox/stock", json=changes, timeout=10)
        after = api.state.stock()
    assert response.status_code == 400
    assert response.json() == {"unknown": ["NOPE", "SKU-999999"]}
    assert after == before


class Receiver:
    """A tiny webhook endpoint that keeps each delivery's raw body and headers."""

    def __init__(self) -> None:
        self.deliveries: list[tuple[bytes, dict[str, str]]] = []

    @Request.application
    def __call__(self, request: Request) -> Response:
        self.deliveries.append((request.get_data(), dict(request.headers)))
        return Response("ok")


@contextmanager
def webhooks() -> Iterator[tuple[Api, Receiver]]:
    receiver = Receiver()
    with running(receiver) as hook_url, sandbox(items=8, webhook_url=f"{hook_url}/hook") as api:
        yield api, receiver


def _verify(body: bytes, headers: dict[str, str]) -> Any:
    secret = base64.b64encode(CREDENTIALS["client_secret"].encode()).decode()
    return Webhook(secret).verify(body, headers)


def test_a_stock_change_sends_a_signed_sku_webhook() -> None:
    with webhooks() as (api, receiver):
        requests.post(f"{api.url}/_sandbox/stock", json={"SKU-000006": 77}, timeout=10)
        assert api.state.webhooks.wait_idle(10)
    [(body, headers)] = receiver.deliveries
    payload = _verify(body, headers)
    assert payload["scope"] == "store/sku/inventory/updated"
    assert payload["producer"] == "stores/abc123"
    assert payload["data"]["type"] == "sku"
    assert payload["data"]["inventory"] == {
        "product_id": 104,
        "method": "absolute",
        "value": 77,
        "variant_id": 100005,
    }
    encoded = json.dumps(payload["data"], separators=(",", ":")).encode()
    assert payload["hash"] == hashlib.sha1(encoded, usedforsecurity=False).hexdigest()
    assert headers["X-Webhook-Secret"] == DEFAULT_WEBHOOK_SECRET
    with pytest.raises(WebhookVerificationError):
        _verify(body.replace(b"77", b"78"), headers)


def test_api_writes_send_product_webhooks_only_for_real_changes() -> None:
    """BigCommerce fires inventory hooks for API changes too (docs/platforms.md section 3)."""
    with webhooks() as (api, receiver):
        level = api.state.stock()["SKU-000001"]
        assert api.adjust(item(level, product_id=100)).status_code == 200
        assert api.adjust(item(level + 1, product_id=100)).status_code == 200
        assert api.state.webhooks.wait_idle(10)
    [(body, headers)] = receiver.deliveries
    payload = _verify(body, headers)
    assert payload["scope"] == "store/product/inventory/updated"
    assert payload["data"] == {
        "type": "product",
        "id": 100,
        "inventory": {"product_id": 100, "method": "absolute", "value": level + 1},
    }
