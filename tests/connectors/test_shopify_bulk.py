"""ShopifyStore lists large catalogs through a bulk operation (connectors/shopify_bulk.py)
against the Shopify sandbox, over real HTTP."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from itertools import islice
from typing import Any

import pytest

from connectors.errors import PermanentError
from connectors.registry import build_storefront
from connectors.shopify import LOCATION_COST, PAGE_SIZE, ShopifyStore
from connectors.shopify_bulk import COUNT_COST, POLL_COST, PREFIX, RUN_COST, BulkCatalog
from sandbox.base import SandboxConfig
from sandbox.catalog import skus, store_quantity
from sandbox.registry import create_app
from sandbox.server import running
from sandbox.shopify.bulk import URL_LIFETIME
from sandbox.shopify.state import ShopifyState
from tests.support.cost_meter import Recorder

TOKEN = "shpat_test_token"
ITEMS = 26_000


@contextmanager
def shop(**config: Any) -> Iterator[tuple[str, ShopifyState]]:
    app = create_app("shopify", SandboxConfig(credentials={"access_token": TOKEN}, **config))
    with running(app) as url:
        yield url, app.config["SANDBOX_STATE"]


def store(url: str) -> ShopifyStore:
    built = build_storefront("shopify", url, {"access_token": TOKEN})
    assert isinstance(built, ShopifyStore)
    return built


def test_a_catalog_past_25000_variants_is_listed_whole_by_a_bulk_operation() -> None:
    """Cursor pages stop at 25,000 objects (fails on 0f46d18: the connector paged into
    the cap); the bulk operation's file lists every variant once."""
    with shop(items=ITEMS, drift=0.1, seed=5) as (url, state):
        paged = store(url)
        paged.bulk_above = 10**9  # as before: pages only
        with pytest.raises(PermanentError, match="25,000"):
            list(paged.iter_catalog())

        pages = list(store(url).iter_pages())
        operations = state.bulk.started

    products = [p for page in pages for p in page.products]
    assert [p.sku for p in products] == skus(ITEMS)
    assert {p.sku: p.quantity for p in products} == {
        sku: store_quantity(sku, 0.1, 5) for sku in skus(ITEMS)
    }
    assert all((p.variant_id or "").startswith("gid://shopify/InventoryItem/") for p in products)
    assert {len(page.products) for page in pages} == {PAGE_SIZE}
    assert [page.resume is None for page in pages].count(True) == 1 and pages[-1].resume is None
    assert {page.of for page in pages} == {ITEMS // PAGE_SIZE}
    assert operations == 1


def test_a_listing_cut_short_resumes_at_its_line_of_the_same_file() -> None:
    with shop(items=3_000) as (url, state):
        read = list(islice(store(url).iter_pages(), 4))  # the listing dropped after 4 pages
        resume = read[-1].resume
        rest = list(store(url).iter_pages(resume))
        operations = state.bulk.started

    assert resume == f"{PREFIX}gid://shopify/BulkOperation/1#800"
    listed = [p.sku for page in read + rest for p in page.products]
    assert listed == skus(3_000)  # each once, in order: no line read twice
    assert operations == 1


def test_an_expired_operation_is_replaced_and_listed_from_its_first_line() -> None:
    with shop(items=1_500) as (url, state):
        resume = next(store(url).iter_pages()).resume
        state.clock.advance(URL_LIFETIME.total_seconds() + 60)
        rest = list(store(url).iter_pages(resume))
        operations = state.bulk.started

    assert operations == 2
    assert [p.sku for page in rest for p in page.products] == skus(1_500)


def test_a_file_refused_after_the_poll_said_completed_is_listed_from_a_new_operation(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The resumed operation's URL lapses between the poll and the download (fails on
    7c13251: the 403 was permanent, and the run's listing failed with it)."""
    with shop(items=1_500) as (url, state):
        resume = next(store(url).iter_pages()).resume
        wait = BulkCatalog._wait

        def lapsing(self: BulkCatalog, operation: str) -> tuple[str, str, int] | None:
            done = wait(self, operation)
            if state.bulk.started == 1:  # the first operation's url: now past its life
                state.clock.advance(URL_LIFETIME.total_seconds() + 60)
            return done

        monkeypatch.setattr(BulkCatalog, "_wait", lapsing)
        rest = list(store(url).iter_pages(resume))
        operations = state.bulk.started

    assert operations == 2
    assert [p.sku for page in rest for p in page.products] == skus(1_500)


def test_our_operation_left_running_by_a_lost_worker_is_taken_over() -> None:
    """A worker killed while waiting for the operation leaves it running, and Shopify
    runs one bulk query at a time: the next attempt polls that one, not a new one."""
    with shop(items=2_000) as (url, state):
        connector = store(url)
        connector.graphql(
            "mutation ($q: String!) { bulkOperationRunQuery(query: $q) "
            "{ bulkOperation { id } userErrors { code } } }",
            {"q": connector.bulk_listing().query},
        )
        products = [p for page in connector.iter_pages() for p in page.products]
        operations = state.bulk.started

    assert len(products) == 2_000
    assert operations == 1


def test_each_admin_call_is_priced_and_the_file_is_not() -> None:
    with shop(items=1_200, plan="standard") as (url, state):
        connector = store(url)
        meter = connector.meter = Recorder()
        products = [p for page in connector.iter_pages() for p in page.products]
        calls = state.route_calls

    assert len(products) == 1_200
    polls = len(meter.spent) - 3
    assert meter.spent == [LOCATION_COST, COUNT_COST, RUN_COST] + [POLL_COST] * polls
    assert polls >= 1 and len(meter.settled) == len(meter.spent)
    assert calls["POST /admin/api/<version>/graphql.json"] == len(meter.spent)
    assert calls["GET /_files/bulk/<token>.jsonl"] == 1
    assert state.rejected_429 == 0
