"""WooCommerceStore against the WooCommerce sandbox, over real HTTP."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
import requests
from werkzeug.wrappers import Request, Response

from connectors.errors import PermanentError, TransientError
from connectors.registry import build_storefront
from connectors.types import OrderLine, OrderState, StockUpdate, StoreProduct
from connectors.woocommerce import READ_AT_ONCE, WooCommerceStore
from sandbox.base import SandboxConfig
from sandbox.catalog import skus
from sandbox.server import running, running_in_subprocess
from sandbox.woocommerce import create_app
from sandbox.woocommerce.state import WooCommerceState
from tests.support.memory import peak_bytes_while
from tests.support.webhook_sink import receiving

CREDENTIALS = {"consumer_key": "ck_test", "consumer_secret": "cs_test"}


@contextmanager
def sandbox(**config: Any) -> Iterator[tuple[str, WooCommerceState]]:
    """A WooCommerce sandbox on a free port, with the test credentials."""
    app = create_app(SandboxConfig(credentials=CREDENTIALS, **config))
    with running(app) as base:
        yield base, app.config["SANDBOX_STATE"]


@pytest.fixture
def small() -> Iterator[tuple[WooCommerceStore, WooCommerceState, str]]:
    with sandbox(items=2000) as (base, state):
        yield WooCommerceStore(base, CREDENTIALS), state, base


class SkuTally:
    """Checks a stream against the seed `SKU-000001..SKU-<n>` in constant memory.

    The bitmap is allocated before tracing starts, so a tally of 20,000 SKUs costs the
    traced stream nothing, unlike a set of seen SKUs would.
    """

    def __init__(self, expected: int) -> None:
        self.seen = bytearray(expected + 1)
        self.rows = self.duplicates = self.unexpected = 0

    def add(self, sku: str) -> None:
        self.rows += 1
        index = int(sku[4:]) if sku.startswith("SKU-") and sku[4:].isdigit() else 0
        if not 0 < index < len(self.seen):
            self.unexpected += 1
        elif self.seen[index]:
            self.duplicates += 1
        else:
            self.seen[index] = 1

    def matches_seed(self) -> bool:
        return self.duplicates == self.unexpected == 0 and all(self.seen[1:])


def _stream_peak(items: int) -> tuple[SkuTally, int]:
    """Stream a catalog of `items` SKUs into a tally; return it and the peak bytes."""
    tally = SkuTally(items)
    config = SandboxConfig(items=items, credentials=CREDENTIALS)
    with running_in_subprocess("woocommerce", config) as base:
        store = WooCommerceStore(base, CREDENTIALS)
        drained = peak_bytes_while(store.iter_catalog, lambda product: tally.add(product.sku))
    return tally, drained.peak_bytes


# Reads -------------------------------------------------------------------------------


@pytest.mark.slow
def test_streams_exactly_the_seeded_20000_skus_in_constant_memory() -> None:
    (small, small_peak), (big, big_peak) = _stream_peak(2_000), _stream_peak(20_000)

    assert (small.rows, big.rows) == (2_000, 20_000)
    assert small.matches_seed() and big.matches_seed()
    # Ten times the rows, same page size: the peak is a page or two, not the catalog.
    assert big_peak / small_peak < 2.0, (small_peak, big_peak)


def test_a_pages_variations_are_read_two_at_a_time_in_order() -> None:
    """Variation listings are most of a catalog's calls: read as many at once as a host
    serves by default (2), the walk takes half as long at a host's pace, and yields the
    same SKUs in the same order."""
    app = create_app(SandboxConfig(credentials=CREDENTIALS, items=300, latency_ms=50.0))
    flight = InFlight(app.wsgi_app)
    app.wsgi_app = flight  # type: ignore[method-assign]
    with running(app) as base:
        listed = [p.sku for p in WooCommerceStore(base, CREDENTIALS).iter_catalog()]

    assert flight.most == READ_AT_ONCE == 2
    assert listed == sorted(listed) and len(listed) == len(set(listed)) == len(skus(300))


class InFlight:
    """WSGI middleware counting the requests in flight at once, at most."""

    def __init__(self, app: Any) -> None:
        self.app = app
        self.now = self.most = 0
        self.lock = threading.Lock()

    def __call__(self, environ: Any, start_response: Any) -> Any:
        with self.lock:
            self.now += 1
            self.most = max(self.most, self.now)
        try:
            return list(self.app(environ, start_response))
        finally:
            with self.lock:
                self.now -= 1


def test_variations_carry_their_parent_and_own_ids(small: Any) -> None:
    store, state, _ = small
    catalog = {p.sku: p for p in store.iter_catalog()}

    variation = catalog["SKU-000010"]  # product 10 is the first variable one
    record = state.catalog.records[int(variation.variant_id or 0)]
    assert variation.product_id == str(record.parent_id)
    assert variation.quantity == record.stock_quantity
    assert catalog["SKU-000001"].variant_id is None
    assert all(p.manages_stock for p in catalog.values())


def test_products_without_a_usable_sku_are_skipped(small: Any) -> None:
    store, _, base = small
    for product_id, sku in (("100", " "), ("101", "X" * 25)):
        response = requests.put(
            f"{base}/wp-json/wc/v3/products/{product_id}",
            json={"sku": sku},
            auth=(CREDENTIALS["consumer_key"], CREDENTIALS["consumer_secret"]),
            timeout=10,
        )
        response.raise_for_status()

    seen = {p.sku for p in store.iter_catalog()}

    assert seen == set(skus(2000)) - {"SKU-000001", "SKU-000002"}


def test_get_product_reads_simple_variable_and_variation(small: Any) -> None:
    store, state, _ = small
    parent = state.catalog.records[state.catalog.by_sku["SKU-000010"]].parent_id

    simple = store.get_product("100")
    variations = store.get_product(str(parent))
    one = store.get_product(variations[1].variant_id or "")

    assert [p.sku for p in simple] == ["SKU-000001"]
    assert [p.sku for p in variations] == ["SKU-000010", "SKU-000011", "SKU-000012"]
    assert {p.product_id for p in variations} == {str(parent)}
    assert one == [variations[1]]
    assert store.get_product("999999") == []


def test_a_product_in_the_trash_is_gone(small: Any) -> None:
    """WordPress's delete moves it to the trash; `/products/<id>` still answers it, with
    `status: "trash"` (docs/platforms.md section 2)."""
    store, state, _ = small
    parent = state.catalog.records[state.catalog.by_sku["SKU-000010"]].parent_id
    state.delete_product_of("SKU-000001")
    state.delete_product_of("SKU-000011")

    assert store.get_product("100") == []
    assert store.get_product(str(parent)) == []
    assert store.get_product(str(parent + 1)) == []
    assert not {"SKU-000001", "SKU-000010"} & {p.sku for p in store.iter_catalog()}


def test_query_string_auth_reads_the_catalog() -> None:
    with sandbox(items=150) as (base, _):
        store = WooCommerceStore(base, CREDENTIALS | {"query_string_auth": "true"})
        assert sum(1 for _ in store.iter_catalog()) == 150


# Writes ------------------------------------------------------------------------------


def _updates(products: list[StoreProduct], start: int) -> list[StockUpdate]:
    return [
        StockUpdate(p.sku, p.product_id, p.variant_id, start + i) for i, p in enumerate(products)
    ]


def test_set_stock_chunks_by_endpoint_and_reads_back(small: Any) -> None:
    store, state, _ = small
    catalog = list(store.iter_catalog())
    simple = [p for p in catalog if p.variant_id is None][:220]
    variations = [p for p in catalog if p.variant_id is not None][:30]  # 10 parents
    updates = _updates(simple + variations, 1000)

    results = store.set_stock(updates)

    assert [r.sku for r in results] == [u.sku for u in updates]
    assert all(r.ok for r in results), [r for r in results if not r.ok][:3]
    sizes = sorted(w.items for w in state.writes)
    assert sizes == [3] * 10 + [20, 100, 100]
    assert {w.path for w in state.writes if w.items > 3} == {"/wp-json/wc/v3/products/batch"}
    stock = state.stock()
    assert {u.sku: stock[u.sku] for u in updates} == {u.sku: u.quantity for u in updates}
    reread = {p.sku: p.quantity for p in store.iter_catalog()}
    assert all(reread[u.sku] == u.quantity for u in updates)


def test_a_failed_item_fails_alone(small: Any) -> None:
    store, state, _ = small
    catalog = list(store.iter_catalog())
    first, second = [p for p in catalog if p.variant_id is None][:2]
    variation = next(p for p in catalog if p.variant_id is not None)
    updates = [
        StockUpdate(first.sku, first.product_id, None, 7),
        StockUpdate("GHOST", "999999", None, 7),
        StockUpdate(variation.sku, "100", variation.variant_id, 7),  # wrong parent
        StockUpdate(second.sku, second.product_id, None, 7),
        StockUpdate("BAD-ID", "abc", None, 7),
    ]

    results = store.set_stock(updates)

    assert [r.ok for r in results] == [True, False, False, True, False]
    assert "woocommerce_rest_product_invalid_id" in (results[1].error or "")
    assert "woocommerce_rest_product_variation_invalid_id" in (results[2].error or "")
    assert "not WooCommerce ids" in (results[4].error or "")
    assert state.stock()[first.sku] == state.stock()[second.sku] == 7


def test_an_item_missing_from_the_response_fails() -> None:
    @Request.application
    def forgetful_store(request: Request) -> Response:
        return Response('{"update": [{"id": 1, "sku": "A"}]}', mimetype="application/json")

    with running(forgetful_store) as base:
        results = WooCommerceStore(base, CREDENTIALS).set_stock(
            [StockUpdate("A", "1", None, 1), StockUpdate("B", "2", None, 1)]
        )

    assert [r.ok for r in results] == [True, False]
    assert results[1].error == "missing from the batch response"


# Errors ------------------------------------------------------------------------------


def test_429_is_transient_with_the_servers_wait() -> None:
    with sandbox(items=10, share_429=1.0) as (base, _):
        with pytest.raises(TransientError) as caught:
            next(WooCommerceStore(base, CREDENTIALS).iter_catalog())

    assert caught.value.status == 429
    assert caught.value.retry_after == 1.0


def test_503_is_transient() -> None:
    with sandbox(items=10, share_5xx=1.0) as (base, _):
        with pytest.raises(TransientError) as caught:
            WooCommerceStore(base, CREDENTIALS).set_stock([StockUpdate("A", "100", None, 1)])

    assert caught.value.status == 503
    assert str(caught.value).endswith("HTTP 503 internal_server_error: injected server error")


@pytest.mark.parametrize(
    ("credentials", "reason"),
    [
        ({"consumer_key": "ck_test", "consumer_secret": "cs_wrong"}, "Consumer secret is invalid"),
        ({"consumer_key": "ck_wrong", "consumer_secret": "cs_test"}, "cannot list resources"),
    ],
)
def test_bad_credentials_are_permanent(credentials: dict[str, str], reason: str) -> None:
    with sandbox(items=10) as (base, _):
        with pytest.raises(PermanentError) as caught:
            next(WooCommerceStore(base, credentials).iter_catalog())

    assert caught.value.status == 401
    assert reason in str(caught.value)


def test_the_registry_builds_it() -> None:
    store = build_storefront("woocommerce", "http://127.0.0.1:9", CREDENTIALS)

    assert isinstance(store, WooCommerceStore) and store.batch_limit == 100


def test_missing_credentials_are_permanent() -> None:
    with pytest.raises(PermanentError, match="consumer_secret"):
        WooCommerceStore("http://127.0.0.1:9", {"consumer_key": "ck_test"})


def test_read_order_parses_the_delivered_order_and_reads_its_refunds() -> None:
    """What the sandbox delivers for a placed, then partly refunded order: the refund's
    lines come from `orders/<id>/refunds`, the one API call."""
    with receiving() as (url, sink), sandbox(items=20, webhook_url=url) as (base, state):
        lines = [{"sku": "SKU-000001", "quantity": 3}, {"sku": "SKU-000011", "quantity": 1}]
        placed = requests.post(f"{base}/_sandbox/orders", json={"lines": lines}, timeout=10)
        order_id = placed.json()["id"]
        refund = {"lines": [{"sku": "SKU-000001", "quantity": 2}], "restock": False}
        requests.post(f"{base}/_sandbox/orders/{order_id}/refunds", json=refund, timeout=10)
        assert state.webhooks.wait_idle(10)
        orders = [d for d in sink.deliveries if d.headers["x-wc-webhook-topic"].startswith("order")]
        store = WooCommerceStore(base, CREDENTIALS)
        created, refunded = (store.read_order(str(order_id), json.loads(d.body)) for d in orders)
    assert created is not None and refunded is not None
    assert (created.order_id, created.number, created.state) == (
        str(order_id),
        str(order_id),
        OrderState.OPEN,
    )
    assert created.store_applied
    assert created.lines == (OrderLine("SKU-000001", 3), OrderLine("SKU-000011", 1))
    assert refunded.lines == (OrderLine("SKU-000001", 1), OrderLine("SKU-000011", 1))
    assert refunded.updated_at > created.updated_at


def test_read_order_of_an_order_gone_from_the_store_is_none(small: Any) -> None:
    connector, _state, _base = small
    payload = {
        "id": 4242,
        "status": "processing",
        "date_modified_gmt": "2026-12-01T12:00:00",
        "line_items": [{"sku": "SKU-000001", "quantity": 1}],
        "refunds": [{"id": 1, "total": "-5.00"}],
    }
    assert connector.read_order("4242", payload) is None
    with pytest.raises(PermanentError, match="not a JSON object"):
        connector.read_order("4242", None)
