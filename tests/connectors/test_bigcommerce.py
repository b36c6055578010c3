"""BigCommerceStore against the BigCommerce sandbox, over real HTTP."""

from __future__ import annotations

import math
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import replace

import pytest
import requests

from connectors.bigcommerce import PLATFORM_LOAD_WAIT, BigCommerceStore
from connectors.errors import PermanentError, TransientError
from connectors.types import OrderLine, OrderSnapshot, OrderState, StockUpdate
from sandbox.base import SandboxConfig
from sandbox.bigcommerce import create_app
from sandbox.bigcommerce.state import BigCommerceState
from sandbox.catalog import skus
from sandbox.server import running, running_in_subprocess
from tests.support.memory import peak_bytes_while

CREDENTIALS = {"store_hash": "abc123", "access_token": "token-1"}


@contextmanager
def sandbox(**config: object) -> Iterator[tuple[str, BigCommerceState]]:
    app = create_app(SandboxConfig(credentials=CREDENTIALS, **config))
    with running(app) as url:
        yield url, app.config["SANDBOX_STATE"]


def store(url: str, **credentials: str) -> BigCommerceStore:
    return BigCommerceStore(url, CREDENTIALS | credentials)


def test_catalog_streams_every_variant_sku_of_20000() -> None:
    with sandbox(items=20_000, drift=0.1) as (url, state):
        products = list(store(url).iter_catalog())
        truth = state.stock()
    assert len(products) == 20_000
    assert {p.sku for p in products} == set(skus(20_000))
    assert {p.sku: p.quantity for p in products} == truth


def _peak_while_streaming(items: int) -> int:
    config = SandboxConfig(items=items, credentials=CREDENTIALS)
    with running_in_subprocess("bigcommerce", config) as url:
        drained = peak_bytes_while(store(url).iter_catalog)
    assert drained.items == items
    return drained.peak_bytes


@pytest.mark.slow
def test_catalog_memory_does_not_grow_with_the_catalog() -> None:
    small, large = _peak_while_streaming(2_000), _peak_while_streaming(20_000)
    # Ten times the catalog must not cost twice the memory: one page lives at a time.
    assert large / small < 2.0, (small, large)


def test_catalog_names_items_the_way_the_inventory_api_takes_them() -> None:
    """Tracked by product: the product id only; tracked by variant: each variant id."""
    with sandbox(items=8) as (url, state):
        by_sku = {p.sku: p for p in store(url).iter_catalog()}
    simple = by_sku["SKU-000001"]
    assert simple.variant_id is None
    assert state.product_by_id[int(simple.product_id)].tracking == "product"
    options = [by_sku[f"SKU-00000{n}"] for n in (5, 6, 7, 8)]
    assert len({p.product_id for p in options}) == 1
    assert all(state.variant_by_id[int(p.variant_id or 0)].sku == p.sku for p in options)


def test_set_stock_of_4500_sends_three_writes_and_reads_back() -> None:
    with sandbox(items=4_500) as (url, state):
        bc = store(url)
        updates = [
            StockUpdate(p.sku, p.product_id, p.variant_id, ((p.quantity or 0) + 7) % 600)
            for p in bc.iter_catalog()
        ]
        results = bc.set_stock(updates)
        stock = state.stock()
        writes = [w.items for w in state.writes]
    assert [r.sku for r in results] == [u.sku for u in updates]
    assert all(r.ok for r in results)
    assert len(writes) == math.ceil(4_500 / 2_000) == 3
    assert max(writes) <= 2_000 and sum(writes) == 4_500
    assert stock == {u.sku: u.quantity for u in updates}


def test_a_422_fails_only_the_item_it_names() -> None:
    with sandbox(items=40) as (url, state):
        bc = store(url)
        updates = [StockUpdate(p.sku, p.product_id, p.variant_id, 11) for p in bc.iter_catalog()]
        updates[3] = StockUpdate(updates[3].sku, updates[3].product_id, None, -1)
        results = bc.set_stock(updates)
        stock = state.stock()
        writes = [w.items for w in state.writes]
    failed = [r for r in results if not r.ok]
    assert [r.sku for r in failed] == ["SKU-000004"]
    assert "422" in (failed[0].error or "")
    assert writes == [39]  # the rejected request saved nothing; the resend saved the rest
    assert stock.pop("SKU-000004") != 11
    assert set(stock.values()) == {11}


def test_a_422_naming_more_items_than_its_cut_body_holds_fails_only_those() -> None:
    """40 bad items make a title longer than the 2,000 characters an error keeps of the
    body: the first 422 names some of them, the resend names the rest."""
    with sandbox(items=100) as (url, state):
        bc = store(url)
        updates = [StockUpdate(p.sku, p.product_id, p.variant_id, 5) for p in bc.iter_catalog()]
        bad = set(range(0, 80, 2))
        for i in bad:
            updates[i] = replace(updates[i], quantity=-1)
        results = bc.set_stock(updates)
        stock = state.stock()
        writes = [w.items for w in state.writes]
    assert {i for i, r in enumerate(results) if not r.ok} == bad
    assert all("has quantity -1" in (results[i].error or "") for i in bad)
    assert writes == [60]
    assert {stock[u.sku] for i, u in enumerate(updates) if i not in bad} == {5}


def test_resends_are_bounded_when_every_422_names_new_items() -> None:
    """150 bad items need more resends than allowed: what is left is reported unsaved."""
    with sandbox(items=200) as (url, state):
        bc = store(url)
        updates = [StockUpdate(p.sku, p.product_id, p.variant_id, 5) for p in bc.iter_catalog()]
        updates[:150] = [replace(u, quantity=-1) for u in updates[:150]]
        results = bc.set_stock(updates)
        writes = state.writes
    unsaved = [r for r in results if (r.error or "").startswith("not saved")]
    assert not any(r.ok for r in results)
    assert writes == []
    assert len(unsaved) > 50  # every good item, and the bad ones never named
    assert all("has quantity -1" in (r.error or "") for r in results if r not in unsaved)


def test_a_tracking_mismatch_fails_only_that_sku() -> None:
    """A variant-tracked product written by product id: BigCommerce's documented 422."""
    with sandbox(items=8) as (url, state):
        bc = store(url)
        catalog = list(bc.iter_catalog())
        wrong = catalog[4]  # SKU-000005, a variant of the product with options
        updates = [StockUpdate(p.sku, p.product_id, p.variant_id, 3) for p in catalog]
        updates[4] = StockUpdate(wrong.sku, wrong.product_id, None, 3)
        results = bc.set_stock(updates)
        stock = state.stock()
    assert [r.sku for r in results if not r.ok] == [wrong.sku]
    assert "tracked by variant" in (results[4].error or "")
    assert sum(1 for q in stock.values() if q == 3) == 7


def test_get_product_reads_its_variants_and_an_empty_list_once_deleted() -> None:
    with sandbox(items=8) as (url, _state):
        bc = store(url)
        variants = bc.get_product("104")
        missing = bc.get_product("99999")
    assert [p.sku for p in variants] == ["SKU-000005", "SKU-000006", "SKU-000007", "SKU-000008"]
    assert missing == []


def test_a_429_waits_for_the_quota_reset_header() -> None:
    """The quota is shared by every app on the store: another client spends it first."""
    with sandbox(items=8, rate_limit=(1, 1.5)) as (url, _state):
        store(url).get_product("100")
        with pytest.raises(TransientError) as caught:
            store(url).get_product("100")
    assert caught.value.status == 429
    assert caught.value.retry_after == pytest.approx(1.5, abs=0.3)


def test_a_429_without_quota_headers_backs_off_longer() -> None:
    with sandbox(items=8, share_429=1.0) as (url, _state), pytest.raises(TransientError) as caught:
        store(url).get_product("100")
    assert caught.value.status == 429
    assert caught.value.retry_after == PLATFORM_LOAD_WAIT


def test_a_503_is_transient() -> None:
    with sandbox(items=8, outage=True) as (url, _state), pytest.raises(TransientError) as caught:
        list(store(url).iter_catalog())
    assert caught.value.status == 503
    assert str(caught.value).endswith("HTTP 503 sandbox outage")


def test_a_bad_token_is_permanent() -> None:
    with sandbox(items=8) as (url, _state), pytest.raises(PermanentError) as caught:
        store(url, access_token="wrong").set_stock([StockUpdate("SKU-000001", "100", None, 1)])
    assert caught.value.status == 401


def test_a_spent_quota_pauses_the_stream_instead_of_failing_it() -> None:
    """850 SKUs are 3 pages; the quota of 2 per second is spent after page 2."""
    with sandbox(items=850, rate_limit=(2, 1.0)) as (url, state):
        bc = store(url)
        stream = bc.iter_catalog()
        first = [next(stream) for _ in range(500)]
        assert bc.reset_hint is not None and 0 < bc.reset_hint <= 1.0
        rest = list(stream)
        assert state.rejected_429 == 0
        assert requests.get(f"{url}/_sandbox/stats", timeout=5).json()["calls"] == 3
    assert len(first) + len(rest) == 850


# -- orders (issue 20; docs/platforms.md sections 3 and 4) ---------------------------------


def place(
    url: str, lines: Mapping[str, int] | Sequence[tuple[str, int]], status_id: int = 11
) -> str:
    pairs = lines.items() if isinstance(lines, Mapping) else lines
    body = {"lines": [{"sku": s, "quantity": n} for s, n in pairs], "status_id": status_id}
    response = requests.post(f"{url}/_sandbox/orders", json=body, timeout=10)
    assert response.status_code == 201, response.text
    return str(response.json()["id"])


def move(url: str, order_id: str, status_id: int) -> None:
    response = requests.post(
        f"{url}/_sandbox/orders/{order_id}/status", json={"status_id": status_id}, timeout=10
    )
    assert response.status_code == 200, response.text


def refund(url: str, order_id: str, lines: dict[str, int]) -> None:
    body = {"lines": [{"sku": s, "quantity": n} for s, n in lines.items()]}
    response = requests.post(f"{url}/_sandbox/orders/{order_id}/refunds", json=body, timeout=10)
    assert response.status_code == 201, response.text


def behave(url: str, behavior: str) -> None:
    response = requests.put(
        f"{url}/stores/abc123/v3/settings/inventory",
        json={"update_stock_behavior": behavior},
        headers={"X-Auth-Token": CREDENTIALS["access_token"]},
        timeout=10,
    )
    assert response.status_code == 200, response.text


def test_read_order_of_a_placed_order_with_order_placed() -> None:
    with sandbox(items=8) as (url, state):
        order_id = place(url, {"SKU-000001": 2, "SKU-000006": 1})
        snapshot = store(url).read_order(order_id, {"data": {"type": "order", "id": order_id}})
        modified = state.orders.by_id[int(order_id)].modified_at
    assert snapshot == OrderSnapshot(
        order_id=order_id,
        number=order_id,
        updated_at=modified.replace(microsecond=0),
        state=OrderState.OPEN,
        store_applied=True,
        lines=(OrderLine("SKU-000001", 2), OrderLine("SKU-000006", 1)),
    )
    assert snapshot.updated_at.tzinfo is not None


@pytest.mark.parametrize(
    ("status_id", "state", "applied"),
    [
        (0, OrderState.NOT_PLACED, False),
        (1, OrderState.OPEN, True),
        (7, OrderState.OPEN, True),
        (2, OrderState.OPEN, True),
        (10, OrderState.OPEN, True),
        (5, OrderState.CANCELLED, False),
        (6, OrderState.CANCELLED, False),
    ],
)
def test_read_order_states_with_order_placed(
    status_id: int, state: OrderState, applied: bool
) -> None:
    with sandbox(items=8) as (url, _state):
        snapshot = store(url).read_order(place(url, {"SKU-000002": 1}, status_id), None)
    assert snapshot is not None
    assert (snapshot.state, snapshot.store_applied) == (state, applied)


@pytest.mark.parametrize(
    ("status_id", "applied"),
    [(11, False), (9, False), (1, False), (2, True), (3, True), (10, True)],
)
def test_read_order_with_order_completed_or_shipped(status_id: int, applied: bool) -> None:
    with sandbox(items=8) as (url, _state):
        behave(url, "order_completed_or_shipped")
        order_id = place(url, {"SKU-000003": 2})
        move(url, order_id, status_id)
        snapshot = store(url).read_order(order_id, None)
    assert snapshot is not None
    assert (snapshot.state, snapshot.store_applied) == (OrderState.OPEN, applied)


def test_read_order_after_a_cancel() -> None:
    with sandbox(items=8) as (url, _state):
        order_id = place(url, {"SKU-000004": 2})
        move(url, order_id, 5)
        snapshot = store(url).read_order(order_id, None)
    assert snapshot is not None
    assert (snapshot.state, snapshot.store_applied) == (OrderState.CANCELLED, False)


def test_read_order_after_partial_and_full_refunds() -> None:
    with sandbox(items=8) as (url, _state):
        order_id = place(url, {"SKU-000005": 3, "SKU-000007": 1})
        refund(url, order_id, {"SKU-000005": 1})
        partial = store(url).read_order(order_id, None)
        refund(url, order_id, {"SKU-000005": 2, "SKU-000007": 1})
        full = store(url).read_order(order_id, None)
    assert partial is not None and full is not None
    assert (partial.state, partial.store_applied) == (OrderState.OPEN, True)
    assert partial.lines == (OrderLine("SKU-000005", 2), OrderLine("SKU-000007", 1))
    assert partial.updated_at <= full.updated_at
    assert full.state is OrderState.REFUNDED
    assert full.lines == (OrderLine("SKU-000005", 0), OrderLine("SKU-000007", 0))


def test_read_order_is_none_for_an_order_the_store_does_not_have() -> None:
    with sandbox(items=8) as (url, _state):
        bc = store(url)
        assert bc.read_order("4999", None) is None
        assert bc.read_order("../catalog", None) is None


def test_read_order_pages_its_lines_and_sums_one_sku() -> None:
    """261 lines, SKU-000001 twice, are two pages of 250; an order of exactly 250 ends on
    V2's 204."""
    with sandbox(items=300) as (url, _state):
        wide_id = place(url, [*((sku, 1) for sku in skus(260)), ("SKU-000001", 1)])
        exact_id = place(url, dict.fromkeys(skus(250), 2))
        bc = store(url)
        wide_order, exact_order = bc.read_order(wide_id, None), bc.read_order(exact_id, None)
        calls = requests.get(f"{url}/_sandbox/stats", timeout=5).json()["calls"]
    assert wide_order is not None and exact_order is not None
    assert len(wide_order.lines) == 260
    assert wide_order.lines[0] == OrderLine("SKU-000001", 2)
    assert sum(line.units for line in exact_order.lines) == 500
    # Settings once, then order, two product pages, order, two product pages.
    assert calls == 7


def test_read_order_is_paced_by_the_store_quota() -> None:
    """Its reads spend the one quota: the second spends it, the third waits for the
    window's reset instead of meeting a 429."""
    with sandbox(items=8, rate_limit=(2, 1.0)) as (url, state):
        order_id = place(url, {"SKU-000001": 1})
        snapshot = store(url).read_order(order_id, None)
        calls = requests.get(f"{url}/_sandbox/stats", timeout=5).json()["calls"]
    assert snapshot is not None
    assert (calls, state.rejected_429) == (3, 0)


def test_read_order_normalises_skus_and_skips_lines_without_one() -> None:
    """A custom product line has no SKU; a SKU typed in the control panel may be padded
    or lower case. The sandbox's orders name catalog SKUs, so the test edits its lines."""
    with sandbox(items=8) as (url, state):
        order_id = place(url, {"SKU-000001": 1, "SKU-000002": 2, "SKU-000003": 3})
        first, second, _third = state.orders.by_id[int(order_id)].lines
        first.sku, second.sku = "", "  sku-000003 "
        snapshot = store(url).read_order(order_id, None)
    assert snapshot is not None
    assert snapshot.lines == (OrderLine("SKU-000003", 5),)
