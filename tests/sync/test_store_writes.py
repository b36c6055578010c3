"""Writing to a store that keeps selling (sync/store_writes.py): Shopify's
compare-and-set against the number we believe it holds, over HTTP to the sandbox."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime

import pytest

from connectors.registry import build_storefront
from connectors.shopify import ShopifyStore
from connectors.types import StockUpdate, StoreProduct, UpdateResult
from sandbox.accounts import DEFAULTS, SHOPIFY_LOCATION
from sandbox.base import SandboxConfig
from sandbox.registry import create_app
from sandbox.server import running
from sandbox.shopify.state import ShopifyState
from sync.catalog import Pushed
from sync.push import PushOutcome
from sync.store_writes import STILL_SELLING, write_changed

NOW = datetime(2026, 12, 4, tzinfo=UTC)


@contextmanager
def shopify(**credentials: str) -> Iterator[tuple[ShopifyStore, ShopifyState]]:
    account = DEFAULTS["shopify"]
    app = create_app("shopify", SandboxConfig.for_account(account, items=20, drift=0.0))
    with running(app) as url:
        store = build_storefront("shopify", url, {**account.stored_credentials(url), **credentials})
        assert isinstance(store, ShopifyStore)
        yield store, app.config["SANDBOX_STATE"]


def _change(
    store: ShopifyStore, sku: str, number: int, expected: int
) -> tuple[StockUpdate, Pushed]:
    [product] = [p for p in store.iter_catalog() if p.sku == sku]
    update = StockUpdate(sku, product.product_id, product.variant_id, number, expected)
    return update, Pushed(1, number, number, NOW, None)


def _writes(state: ShopifyState) -> int:
    """Mutations the sandbox applied (a refused one applies nothing)."""
    with state.lock:
        return len(state.writes)


@pytest.mark.parametrize(("keep_sales", "written"), [(True, 10), (False, 12)])
def test_a_sale_since_our_reading_is_read_back_and_written_against(
    keep_sales: bool, written: int
) -> None:
    """We believe 10; the store sold 2 (8); the write of 12 is refused as stale and the
    level read back. A site that reports its orders keeps the 2 sold (their order is on
    its way): 10. One whose ERP books its orders by itself gets 12 (the ERP will)."""
    with shopify() as (store, state):
        sku = sorted(state.stock())[0]
        state.set_stock({sku: 10})
        change = _change(store, sku, 12, expected=10)
        index = state.index_of(sku)
        assert index is not None
        state.shift(index, available=-2, committed=2)  # an order
        outcome = PushOutcome()

        [recorded] = write_changed(store, [change], outcome, keep_sales=keep_sales)

        assert state.stock()[sku] == written
        assert (outcome.synced, outcome.failed, recorded.written) == (1, 0, True)
        assert recorded.quantity == written
        assert outcome.store_calls == 2  # refused once, then written
        assert _writes(state) == 1


def test_a_store_already_at_the_number_is_not_written_again() -> None:
    with shopify() as (store, state):
        sku = sorted(state.stock())[1]
        state.set_stock({sku: 10})
        change = _change(store, sku, 7, expected=10)
        state.set_stock({sku: 7})
        outcome = PushOutcome()

        [recorded] = write_changed(store, [change], outcome, keep_sales=False)

        assert (outcome.synced, outcome.unchanged, recorded.written) == (0, 1, False)
        assert (outcome.store_calls, _writes(state)) == (1, 0)


class AlwaysSelling:
    """A store whose number moves between every read and write: always stale."""

    batch_limit = 250

    def __init__(self) -> None:
        self.level = 5

    def set_stock(self, updates: Sequence[StockUpdate]) -> list[UpdateResult]:
        self.level -= 1
        return [
            UpdateResult(u.sku, False, "CHANGE_FROM_QUANTITY_STALE: moved", True) for u in updates
        ]

    def get_product(self, product_id: str) -> list[StoreProduct]:
        return [StoreProduct("A", product_id, "v", self.level)]


def test_a_store_stale_twice_fails_the_sku_for_its_own_order_event_to_settle() -> None:
    outcome = PushOutcome()
    update = StockUpdate("A", "p", "v", 9, 5)
    recorded = write_changed(
        AlwaysSelling(),  # type: ignore[arg-type]
        [(update, Pushed(1, 9, 9, NOW, None))],
        outcome,
        keep_sales=True,
    )
    assert recorded == []
    assert outcome.failures == {"A": STILL_SELLING}


def test_levels_are_read_at_our_location_not_summed_over_the_shop() -> None:
    """A shop with several locations: `inventoryQuantity` sums them, and a compare
    against it would always be stale. A location that does not stock the item reads as
    unknown (None)."""
    with shopify(location_id=SHOPIFY_LOCATION) as (store, _):
        assert all(p.quantity is not None for p in store.iter_catalog())
    with shopify(location_id="gid://shopify/Location/2") as (store, _):
        assert {p.quantity for p in store.iter_catalog()} == {None}
