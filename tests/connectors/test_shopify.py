"""ShopifyStore against the Shopify sandbox, over real HTTP."""

from __future__ import annotations

import json
import math
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
import requests
from requests.adapters import HTTPAdapter
from werkzeug.wrappers import Request, Response

from connectors.errors import ConnectorError, PermanentError, TransientError
from connectors.registry import build_storefront
from connectors.shopify import ShopifyStore
from connectors.types import OrderLine, OrderState, StockUpdate, StoreProduct
from sandbox.accounts import SHOPIFY_LOCATION
from sandbox.base import SandboxConfig
from sandbox.catalog import skus, store_quantity
from sandbox.registry import create_app
from sandbox.server import running, running_in_subprocess
from sandbox.shopify.state import ShopifyState
from tests.support.memory import peak_bytes_while
from tests.support.webhook_sink import receiving

TOKEN = "shpat_test_token"


@contextmanager
def shop(**config: Any) -> Iterator[tuple[str, ShopifyState]]:
    """A running sandbox shop: (base URL, its state)."""
    app = create_app("shopify", SandboxConfig(credentials={"access_token": TOKEN}, **config))
    with running(app) as url:
        yield url, app.config["SANDBOX_STATE"]


def store(url: str, **credentials: str) -> ShopifyStore:
    built = build_storefront("shopify", url, {"access_token": TOKEN, **credentials})
    assert isinstance(built, ShopifyStore)
    return built


def sent_bodies(connector: ShopifyStore) -> list[dict[str, Any]]:
    """Record every JSON body the connector sends, from its own session."""
    bodies: list[dict[str, Any]] = []

    def record(response: requests.Response, *args: Any, **kwargs: Any) -> None:
        bodies.append(json.loads(response.request.body or b"{}"))

    connector.http.session.hooks["response"].append(record)
    return bodies


def updates_for(products: list[StoreProduct], quantity: int) -> list[StockUpdate]:
    return [StockUpdate(p.sku, p.product_id, p.variant_id, quantity) for p in products]


def test_iter_catalog_streams_every_variant() -> None:
    with shop(items=20_000, drift=0.2, seed=3) as (url, state):
        products = list(store(url).iter_catalog())
    assert len(products) == 20_000
    assert {p.sku for p in products} == set(skus(20_000))
    assert {p.sku: p.quantity for p in products} == {
        sku: store_quantity(sku, 0.2, 3) for sku in skus(20_000)
    }
    assert all(p.variant_id.startswith("gid://shopify/InventoryItem/") for p in products)
    assert all(p.product_id.startswith("gid://shopify/Product/") for p in products)
    assert all(p.manages_stock for p in products)
    assert len({p.product_id for p in products}) == state.products


def _peaks(items: int) -> tuple[int, int]:
    """Peak bytes streaming a catalog of `items`, and holding all of it in a list."""
    config = SandboxConfig(items=items, credentials={"access_token": TOKEN})
    with running_in_subprocess("shopify", config) as url:
        connector = store(url)
        streamed = peak_bytes_while(connector.iter_catalog)
        listed = peak_bytes_while(lambda: iter(list(connector.iter_catalog())))
    assert streamed.items == listed.items == items
    return streamed.peak_bytes, listed.peak_bytes


@pytest.mark.slow
def test_iter_catalog_memory_does_not_grow_with_the_catalog() -> None:
    (small, small_listed), (large, large_listed) = _peaks(2_000), _peaks(20_000)
    # Ten times the catalog must not cost twice the memory: one page lives at a time.
    assert large / small < 2.0, (small, large)
    # The control, for every connector's memory test (they share the measure): a stream
    # that holds the whole catalog fails the bound above (about 6x here, 1.6x back when
    # the sandbox served from the test's own process).
    assert large_listed / small_listed >= 2.0, (small_listed, large_listed)


def test_iter_catalog_skips_variants_without_a_usable_sku() -> None:
    with shop(items=30) as (url, state):
        state.set_sku(0, "   ")
        state.set_sku(1, "X" * 21)
        state.set_sku(2, "  sku-lower ")
        found = {p.sku for p in store(url).iter_catalog()}
    assert len(found) == 28
    assert "SKU-LOWER" in found


def test_get_product_returns_its_variants() -> None:
    with shop(items=30) as (url, state):
        connector = store(url)
        variants = connector.get_product("gid://shopify/Product/3")
        assert [v.sku for v in variants] == [skus(30)[i] for i in state.variant_range(3)]
        assert {v.product_id for v in variants} == {"gid://shopify/Product/3"}
        assert connector.get_product("gid://shopify/Product/999") == []


def test_set_stock_chunks_at_250_and_reads_back() -> None:
    with shop(items=700) as (url, state):
        connector = store(url)
        bodies = sent_bodies(connector)
        products = list(connector.iter_catalog())[:600]
        results = connector.set_stock(updates_for(products, 42))

        assert [r.sku for r in results] == [p.sku for p in products]
        assert all(r.ok for r in results)
        assert len(state.writes) == math.ceil(600 / 250)
        assert max(w.items for w in state.writes) <= connector.batch_limit == 250
        assert {p.sku: p.quantity for p in connector.iter_catalog()} == {
            sku: 42 if i < 600 else store_quantity(sku, 0.0) for i, sku in enumerate(skus(700))
        }
    mutations = [b for b in bodies if "inventorySetQuantities" in b["query"]]
    assert len(mutations) == 3
    assert len({m["variables"]["key"] for m in mutations}) == 3
    for mutation in mutations:
        assert "@idempotent(key: $key)" in mutation["query"]
        for quantity in mutation["variables"]["input"]["quantities"]:
            assert "changeFromQuantity" in quantity
            assert quantity["changeFromQuantity"] is None


def test_location_is_read_once_unless_configured() -> None:
    with shop(items=10) as (url, _state):
        connector = store(url)
        bodies = sent_bodies(connector)
        products = list(connector.iter_catalog())
        connector.set_stock(updates_for(products[:2], 1))
        connector.set_stock(updates_for(products[2:4], 1))
        assert sum("locations(" in b["query"] for b in bodies) == 1

        configured = store(url, location_id=SHOPIFY_LOCATION)
        configured_bodies = sent_bodies(configured)
        assert all(r.ok for r in configured.set_stock(updates_for(products[:2], 2)))
        assert not any("locations(" in b["query"] for b in configured_bodies)


def test_a_bad_inventory_item_fails_only_its_own_sku() -> None:
    with shop(items=300) as (url, state):
        connector = store(url)
        products = list(connector.iter_catalog())
        updates = updates_for(products, 9)
        bad = StockUpdate("SKU-000007", products[6].product_id, "gid://shopify/InventoryItem/1", 9)
        updates[6] = bad
        updates[8] = StockUpdate(products[8].sku, products[8].product_id, None, 9)
        results = connector.set_stock(updates)

        failed = {r.sku: r.error for r in results if not r.ok}
        assert set(failed) == {"SKU-000007", "SKU-000009"}
        assert failed["SKU-000007"] is not None
        assert failed["SKU-000007"].startswith("INVALID_INVENTORY_ITEM")
        assert failed["SKU-000009"] == "no inventory item id"
        stock = state.stock()
        assert stock["SKU-000007"] == store_quantity("SKU-000007", 0.0)
        assert all(stock[u.sku] == 9 for u in updates if u.sku not in failed)
        # Chunk one was rejected whole, then resent without the bad item; chunk two went once.
        assert [w.items for w in state.writes] == [248, 50]


class LoseFirstMutationAnswer(HTTPAdapter):
    """Delivers the first mutation, then drops its answer like a connection reset."""

    def __init__(self) -> None:
        super().__init__()
        self.dropped = False

    def send(self, request: requests.PreparedRequest, **kwargs: Any) -> requests.Response:
        response = super().send(request, **kwargs)
        body = request.body if isinstance(request.body, bytes) else b""
        if not self.dropped and b"inventorySetQuantities" in body:
            self.dropped = True
            raise requests.ConnectionError("connection reset after the mutation was sent")
        return response


def test_a_lost_answer_is_resent_with_the_same_key_and_applied_once() -> None:
    with shop(items=10) as (url, state):
        connector = store(url, location_id=SHOPIFY_LOCATION)
        products = list(connector.iter_catalog())
        connector.http.session.mount("http://", LoseFirstMutationAnswer())
        bodies = sent_bodies(connector)
        results = connector.set_stock(updates_for(products, 77))

        assert all(r.ok for r in results)
        assert set(state.stock().values()) == {77}
        assert len(state.writes) == 1
    # The hook sees only the answered resend; the sandbox saw both under one key.
    assert len(state.idempotent) == 1
    assert [b["variables"]["key"] for b in bodies] == list(state.idempotent)


def test_throttled_is_transient_with_the_bucket_wait() -> None:
    with shop(items=600, rate_limit=(2, 30.0)) as (url, _state):
        # Our location is configured, so the variant count (connectors/shopify_bulk.py)
        # and the first page are the two requests allowed.
        pages = store(url, location_id=SHOPIFY_LOCATION).iter_catalog()
        next(pages)
        with pytest.raises(TransientError) as caught:
            list(pages)
    assert caught.value.status == 200
    assert "THROTTLED" in str(caught.value)
    assert caught.value.retry_after is not None
    assert 25 <= caught.value.retry_after <= 30


def test_http_503_is_transient() -> None:
    with shop(items=10, outage=True) as (url, _state), pytest.raises(TransientError) as caught:
        list(store(url).iter_catalog())
    assert caught.value.status == 503
    assert str(caught.value).endswith("HTTP 503 sandbox outage")


@pytest.mark.parametrize(
    ("code", "error"),
    [("INTERNAL_SERVER_ERROR", TransientError), ("ACCESS_DENIED", PermanentError)],
)
def test_top_level_internal_server_error_is_transient(
    code: str, error: type[ConnectorError]
) -> None:
    """Shopify reports its own failures inside a 200 (changelog, "Improved GraphQL errors")."""
    message = "Internal error. Looks like something went wrong on our end."
    answer = {"errors": [{"message": message, "extensions": {"code": code, "requestId": "r1"}}]}

    @Request.application
    def failing_shop(request: Request) -> Response:
        return Response(json.dumps(answer), mimetype="application/json")

    with running(failing_shop) as url, pytest.raises(error) as caught:
        next(store(url).iter_catalog())
    assert type(caught.value) is error
    assert caught.value.status == 200
    assert f"{code}: Internal error" in str(caught.value)


def test_bad_token_is_permanent() -> None:
    with shop(items=10) as (url, _state):
        connector = build_storefront("shopify", url, {"access_token": "shpat_wrong"})
        with pytest.raises(PermanentError) as caught:
            list(connector.iter_catalog())
    assert caught.value.status == 401
    assert "Invalid API key or access token" in str(caught.value)


def test_missing_access_token_is_permanent() -> None:
    with pytest.raises(PermanentError):
        ShopifyStore("http://127.0.0.1:9", {})


def test_read_order_parses_what_the_sandbox_delivered_for_each_order_step() -> None:
    """orders/create, the orders/updated after a refund, and orders/cancelled: each
    parsed from its body alone, named as the webhook parser names it."""
    with receiving() as (hook_url, sink), shop(items=5, webhook_url=hook_url) as (url, state):
        lines = [{"sku": "SKU-000001", "quantity": 3}, {"sku": "SKU-000002", "quantity": 1}]
        order_id = requests.post(f"{url}/_sandbox/orders", json={"lines": lines}, timeout=10)
        order_id = order_id.json()["id"]
        refund = {"lines": [{"sku": "SKU-000001", "quantity": 1, "restock_type": "cancel"}]}
        requests.post(f"{url}/_sandbox/orders/{order_id}/refunds", json=refund, timeout=10)
        requests.post(f"{url}/_sandbox/orders/{order_id}/cancel", json={}, timeout=10)
        assert state.webhooks.wait_idle(10)
    connector = store(url)
    topics = ("orders/create", "orders/updated", "orders/cancelled")
    bodies = [json.loads(d.body) for d in sink.deliveries if d.headers["x-shopify-topic"] in topics]
    gid = f"gid://shopify/Order/{order_id}"
    created, refunded, cancelled = (connector.read_order(gid, body) for body in bodies)
    assert (created.order_id, created.number, created.state) == (gid, "#1001", OrderState.OPEN)
    assert created.store_applied
    assert created.lines == (OrderLine("SKU-000001", 3), OrderLine("SKU-000002", 1))
    assert refunded.lines == (OrderLine("SKU-000001", 2), OrderLine("SKU-000002", 1))
    assert cancelled.state is OrderState.CANCELLED
    assert created.updated_at <= refunded.updated_at <= cancelled.updated_at


def test_read_order_refuses_a_payload_that_is_no_order() -> None:
    with pytest.raises(PermanentError, match="shopify: order payload"):
        ShopifyStore("http://unused.test", {"access_token": TOKEN}).read_order("x", None)
