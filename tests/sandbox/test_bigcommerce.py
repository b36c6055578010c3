"""The BigCommerce sandbox over real HTTP: catalog, writes, limits and signed webhooks."""

from __future__ import annotations

import base64
import hashlib
import json
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from email.utils import parsedate_to_datetime
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

    def v2(self, path: str, **params: Any) -> requests.Response:
        return requests.get(
            f"{self.url}/stores/abc123/v2/{path}", params=params, headers=HEADERS, timeout=10
        )

    def control(self, path: str, body: Any) -> requests.Response:
        return requests.post(f"{self.url}/_sandbox/orders{path}", json=body, timeout=10)

    def order(self, status_id: int = 11, **units: int) -> int:
        """Place an order of `SKU_000001=2`-style lines; its id."""
        response = self.control("", {"lines": _lines(units), "status_id": status_id})
        assert response.status_code == 201, response.text
        return int(response.json()["id"])

    def status(self, order_id: int, status_id: int) -> None:
        response = self.control(f"/{order_id}/status", {"status_id": status_id})
        assert response.json() == {"id": order_id, "status_id": status_id}

    def refund(self, order_id: int, **units: int) -> int:
        """Refund `SKU_000001=1`-style lines; the order's status after it."""
        response = self.control(f"/{order_id}/refunds", {"lines": _lines(units)})
        assert response.status_code == 201, response.text
        return int(response.json()["status_id"])

    def settings(self, **changes: Any) -> requests.Response:
        return self.put("settings/inventory", changes)


def _lines(units: dict[str, int]) -> list[dict[str, Any]]:
    return [{"sku": sku.replace("_", "-"), "quantity": n} for sku, n in units.items()]


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


# -- orders (docs/platforms.md section 4, "BigCommerce lowers its own levels on orders") --


def _levels(api: Api, *wanted: str) -> dict[str, int]:
    stock = api.state.stock()
    return {sku: stock[sku] for sku in wanted}


def test_order_placed_lowers_at_placement_and_restores_on_cancel() -> None:
    with sandbox(items=8) as api:
        before = _levels(api, "SKU-000001", "SKU-000006")
        order = api.order(SKU_000001=2, SKU_000006=1)
        placed = _levels(api, "SKU-000001", "SKU-000006")
        api.status(order, 9)
        moved_on = _levels(api, "SKU-000001", "SKU-000006")
        api.status(order, 5)
        cancelled = _levels(api, "SKU-000001", "SKU-000006")
        api.status(order, 11)
        revived = _levels(api, "SKU-000001", "SKU-000006")
    assert placed == {
        "SKU-000001": before["SKU-000001"] - 2,
        "SKU-000006": before["SKU-000006"] - 1,
    }
    assert moved_on == placed
    assert cancelled == before
    # Restored once: BigCommerce's handling of a revived order is undocumented, and the
    # sandbox never takes twice.
    assert revived == before


def test_an_incomplete_order_takes_stock_only_when_it_leaves_incomplete() -> None:
    with sandbox(items=8) as api:
        before = api.state.stock()["SKU-000002"]
        order = api.order(status_id=0, SKU_000002=3)
        incomplete = api.state.stock()["SKU-000002"]
        api.status(order, 11)
        placed = api.state.stock()["SKU-000002"]
        declined = api.order(status_id=6, SKU_000002=1)
        api.status(declined, 5)
        after_declined = api.state.stock()["SKU-000002"]
    assert incomplete == before
    assert placed == before - 3
    assert after_declined == placed


def test_a_partial_refund_keeps_levels_and_the_full_refund_restores_them() -> None:
    with sandbox(items=8) as api:
        before = api.state.stock()["SKU-000003"]
        order = api.order(SKU_000003=4)
        partial_status = api.refund(order, SKU_000003=1)
        partial = api.state.stock()["SKU-000003"]
        lines = api.v2(f"orders/{order}/products").json()
        full_status = api.refund(order, SKU_000003=3)
        refunded = api.state.stock()["SKU-000003"]
    assert (partial_status, partial) == (14, before - 4)
    assert [(line["quantity"], line["quantity_refunded"]) for line in lines] == [(4, 1)]
    assert (full_status, refunded) == (4, before)


def test_order_completed_or_shipped_lowers_only_when_shipped_or_completed() -> None:
    with sandbox(items=8) as api:
        assert api.settings(update_stock_behavior="order_completed_or_shipped").status_code == 200
        before = api.state.stock()["SKU-000004"]
        order = api.order(SKU_000004=2)
        awaiting = api.state.stock()["SKU-000004"]
        api.status(order, 2)
        shipped = api.state.stock()["SKU-000004"]
        api.status(order, 10)
        completed = api.state.stock()["SKU-000004"]
        api.status(order, 4)
        refunded = api.state.stock()["SKU-000004"]
    assert awaiting == before
    assert shipped == completed == before - 2
    assert refunded == before


def test_without_refund_adjustment_a_cancel_keeps_levels_down() -> None:
    with sandbox(items=8) as api:
        api.settings(refund_order_stock_adjustment=False)
        before = api.state.stock()["SKU-000005"]
        api.status(api.order(SKU_000005=2), 5)
        after = api.state.stock()["SKU-000005"]
    assert after == before - 2


def test_an_order_never_takes_a_level_below_zero_and_gives_back_what_it_took() -> None:
    with sandbox(items=8) as api:
        api.state.set_stock({"SKU-000001": 1})
        order = api.order(SKU_000001=3)
        placed = api.state.stock()["SKU-000001"]
        api.status(order, 5)
        cancelled = api.state.stock()["SKU-000001"]
    assert (placed, cancelled) == (0, 1)


def test_inventory_settings_read_write_and_refuse_bad_values() -> None:
    with sandbox(items=8) as api:
        default = api.get("settings/inventory").json()
        wrong = api.settings(update_stock_behavior="order_paid")
        not_bool = api.settings(refund_order_stock_adjustment="yes")
        changed = api.settings(edit_order_stock_adjustment=False).json()
        anonymous = requests.get(f"{api.url}/stores/abc123/v3/settings/inventory", timeout=10)
    assert default == {
        "data": {
            "update_stock_behavior": "order_placed",
            "refund_order_stock_adjustment": True,
            "edit_order_stock_adjustment": True,
        },
        "meta": {},
    }
    assert (wrong.status_code, not_bool.status_code) == (422, 422)
    assert changed["data"]["edit_order_stock_adjustment"] is False
    assert changed["data"]["update_stock_behavior"] == "order_placed"
    assert anonymous.status_code == 401


def test_v2_order_reads_have_the_v2_shape_and_page() -> None:
    with sandbox(items=8) as api:
        order = api.order(**{f"SKU_00000{n}": n for n in range(1, 6)})
        body = api.v2(f"orders/{order}").json()
        first = api.v2(f"orders/{order}/products", limit=2).json()
        last = api.v2(f"orders/{order}/products", limit=2, page=3).json()
        past = api.v2(f"orders/{order}/products", limit=2, page=4)
        too_big = api.v2(f"orders/{order}/products", limit=251)
        missing = api.v2("orders/1")
        anonymous = requests.get(f"{api.url}/stores/abc123/v2/orders/{order}", timeout=10)
    assert body["id"] == order and body["status_id"] == 11
    assert body["status"] == "Awaiting Fulfillment" and body["items_total"] == 15
    assert parsedate_to_datetime(body["date_modified"]).utcoffset() == timedelta(0)
    assert body["date_modified"].endswith(" +0000")
    assert set(first[0]) == {
        "id",
        "order_id",
        "product_id",
        "variant_id",
        "sku",
        "quantity",
        "quantity_shipped",
        "quantity_refunded",
    }
    assert [(line["sku"], line["quantity"]) for line in first] == [
        ("SKU-000001", 1),
        ("SKU-000002", 2),
    ]
    assert [line["sku"] for line in last] == ["SKU-000005"]
    assert (past.status_code, past.content) == (204, b"")
    assert too_big.status_code == 422
    assert missing.status_code == 404 and missing.json()[0]["status"] == 404
    assert anonymous.status_code == 401


@pytest.mark.parametrize(
    ("path", "body", "status"),
    [
        ("", {"lines": [{"sku": "NOPE", "quantity": 1}]}, 400),
        ("", {"lines": [{"sku": "SKU-000001", "quantity": 0}]}, 400),
        ("", {"lines": []}, 400),
        ("", {"lines": [{"sku": "SKU-000001", "quantity": 1}], "status_id": 99}, 400),
        ("", {"lines": [{"sku": "SKU-000001", "quantity": 1}], "status_id": True}, 400),
        ("/1/status", {"status_id": 5}, 404),
        ("/1/refunds", {"lines": [{"sku": "SKU-000001", "quantity": 1}]}, 404),
    ],
    ids=[
        "unknown-sku",
        "zero",
        "no-lines",
        "bad-status",
        "bool-status",
        "no-order",
        "no-order-refund",
    ],
)
def test_order_controls_refuse_mistakes_and_change_nothing(
    path: str, body: dict[str, Any], status: int
) -> None:
    with sandbox(items=8) as api:
        before = api.state.stock()
        response = api.control(path, body)
        after = api.state.stock()
    assert response.status_code == status
    assert "error" in response.json()
    assert after == before


def test_refunding_more_than_the_order_holds_is_refused() -> None:
    with sandbox(items=8) as api:
        order = api.order(SKU_000001=1)
        response = api.control(f"/{order}/refunds", {"lines": _lines({"SKU_000001": 2})})
        lines = api.v2(f"orders/{order}/products").json()
    assert response.status_code == 400
    assert lines[0]["quantity_refunded"] == 0


def test_order_changes_send_order_events_then_inventory_order_events() -> None:
    with webhooks() as (api, receiver):
        order = api.order(SKU_000001=2, SKU_000006=1)
        api.status(order, 5)
        api.refund(api.order(SKU_000002=2), SKU_000002=1)
        assert api.state.webhooks.wait_idle(10)
    sent = [_verify(body, headers) for body, headers in receiver.deliveries]
    assert [(p["scope"], p["data"].get("id")) for p in sent] == [
        ("store/order/created", order),
        ("store/product/inventory/order/updated", 100),
        ("store/sku/inventory/order/updated", 900_005),
        ("store/order/statusUpdated", order),
        ("store/order/updated", order),
        ("store/product/inventory/order/updated", 100),
        ("store/sku/inventory/order/updated", 900_005),
        ("store/order/created", order + 1),
        ("store/product/inventory/order/updated", 101),
        ("store/order/refund/created", order + 1),
        ("store/order/statusUpdated", order + 1),
        ("store/order/updated", order + 1),
    ]
    assert sent[3]["data"]["status"] == {"previous_status_id": 11, "new_status_id": 5}
    assert sent[2]["data"]["inventory"] == {
        "product_id": 104,
        "method": "relative",
        "value": -1,
        "variant_id": 100005,
    }
    assert sent[6]["data"]["inventory"]["value"] == 1
    assert sent[9]["data"]["refund"] == {"refund_id": 1}
