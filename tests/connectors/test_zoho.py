"""ZohoInventorySource against the Zoho Inventory sandbox, over real HTTP."""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from connectors.errors import PermanentError, TransientError
from connectors.tokens import MemoryTokenCache
from connectors.types import OrderProgress
from connectors.zoho import TIME_FORMAT, TOKEN_WINDOW_SECONDS, ZohoInventorySource
from sandbox.accounts import DEFAULTS
from sandbox.base import SandboxConfig
from sandbox.catalog import erp_quantity, sku_for
from sandbox.server import running, running_in_subprocess
from sandbox.zoho import create_app
from tests.support.memory import peak_bytes_while
from tests.support.zoho import SEED, Zoho, connect

#: A bound well before every sales order a test raises.
SINCE = datetime.now(UTC) - timedelta(hours=1)


@pytest.fixture
def zoho() -> Iterator[Zoho]:
    app = create_app(SandboxConfig(items=450, seed=SEED))
    with running(app) as url:
        yield Zoho(url, app.config["SANDBOX_STATE"])


@pytest.fixture(scope="module")
def big() -> Iterator[Zoho]:
    """20,000 items, shared by the tests that only read."""
    app = create_app(SandboxConfig(items=20_000, seed=SEED))
    with running(app) as url:
        yield Zoho(url, app.config["SANDBOX_STATE"])


def test_full_read_yields_each_seeded_item_once(big: Zoho) -> None:
    read = [(item.sku, item.quantity) for item in big.connect().iter_items()]

    seeded = {sku_for(i): erp_quantity(sku_for(i), SEED) for i in range(1, 20_001)}
    assert len(read) == 20_001
    assert dict(read) == {**seeded, "OLD-000001": 0}  # and the inactive item, at 0


def test_memory_while_streaming_is_flat() -> None:
    peaks = {}
    for size in (2_000, 20_000):
        # Served from another process, so only the connector's memory is traced here.
        with running_in_subprocess("zoho", SandboxConfig(items=size, seed=SEED)) as url:
            drained = peak_bytes_while(connect(url).iter_items)
        assert drained.items == size + 1  # the inactive item too
        peaks[size] = drained.peak_bytes

    assert peaks[20_000] / peaks[2_000] < 2.0, peaks


def test_500_skus_cost_at_most_one_pass_over_the_list(big: Zoho) -> None:
    sandbox = big
    wanted = [sku_for(i) for i in range(37, 20_001, 40)]
    calls = sandbox.state.calls

    found = sandbox.connect().get_quantities([*wanted, "NOT-IN-ZOHO"])

    assert len(wanted) == 500
    assert {sku: item.quantity for sku, item in found.items()} == {
        sku: erp_quantity(sku, SEED) for sku in wanted
    }
    # One token, then ceil(20,002 / 200) pages at the most.
    assert sandbox.state.calls - calls <= math.ceil(20_002 / 200) + 1


def test_paging_stops_once_every_sku_is_found(zoho: Zoho) -> None:
    source = zoho.connect()
    source.api.token()
    calls = zoho.state.calls

    found = source.get_quantities([sku_for(i) for i in range(1, 11)])

    assert len(found) == 10
    assert zoho.state.calls - calls == 1


def test_a_few_skus_are_read_one_call_each(zoho: Zoho) -> None:
    source = zoho.connect()
    source.api.token()
    calls = zoho.state.calls

    found = source.get_quantities(["sku-000400", "SKU-000009", "GONE-1"])

    assert sorted(found) == ["SKU-000009", "SKU-000400"]
    assert zoho.state.calls - calls == 3


def test_an_inactive_item_sells_as_zero_and_a_service_is_skipped(zoho: Zoho) -> None:
    stock = {item.sku: item.quantity for item in zoho.connect().iter_items()}
    inactive = zoho.connect().get_item(zoho.state.item_id("OLD-000001"))

    assert len(stock) == 451 and "SERVICE-FEE" not in stock
    assert zoho.state.by_sku["OLD-000001"]["stock_on_hand"] == 7.0
    assert stock["OLD-000001"] == 0
    assert inactive is not None and inactive.quantity == 0
    assert inactive.available_for_sale == 0


def test_on_hand_and_available_for_sale_are_both_read(zoho: Zoho) -> None:
    sku = "SKU-000005"
    zoho.state.set_stock({sku: 10})
    zoho.state.commit({sku: 4})
    for_sale = 10 - int(zoho.state.by_sku[sku]["committed_stock"])

    [by_sku] = zoho.connect().get_quantities([sku]).values()
    by_id = zoho.connect().get_item(zoho.state.item_id(sku))

    assert for_sale <= 6
    assert (by_sku.quantity, by_sku.available_for_sale) == (10, for_sale)
    assert by_id is not None and (by_id.quantity, by_id.available_for_sale) == (10, for_sale)
    assert ZohoInventorySource.offers_available_for_sale


def test_stock_field_still_chooses_the_on_hand_figure(zoho: Zoho) -> None:
    """Sources stored with `available_stock` (the default before correction 26) read
    the same on-hand number; an unknown field is refused."""
    sku = "SKU-000005"
    zoho.state.set_stock({sku: 10})
    zoho.state.commit({sku: 4})
    for_sale = 10 - int(zoho.state.by_sku[sku]["committed_stock"])
    zoho.state.by_sku[sku]["actual_available_stock"] = 9.0
    zoho.state.by_sku[sku]["actual_available_for_sale_stock"] = 5.0

    old = zoho.connect(stock_field="available_stock").get_quantities([sku])[sku]
    physical = zoho.connect(stock_field="actual_available_stock").get_quantities([sku])[sku]

    assert (old.quantity, old.available_for_sale) == (10, for_sale)
    assert (physical.quantity, physical.available_for_sale) == (9, 5)
    with pytest.raises(PermanentError, match="stock_field"):
        zoho.connect(stock_field="warehouse_stock")


def test_an_item_without_the_available_for_sale_field_has_none(zoho: Zoho) -> None:
    sku = "SKU-000006"
    del zoho.state.by_sku[sku]["available_for_sale_stock"]

    [item] = zoho.connect().get_quantities([sku]).values()

    assert item.quantity == int(zoho.state.by_sku[sku]["stock_on_hand"])
    assert item.available_for_sale is None


def test_per_location_figures_follow_the_stock_field(zoho: Zoho) -> None:
    """`locations[]` gives (on hand, available-for-sale) per warehouse, named after the
    source's `stock_field`; an inactive item's are 0, an answer without it None."""
    sku = "SKU-000005"
    zoho.state.set_stock({sku: 10})
    item = zoho.state.by_sku[sku]
    primary, east, _ = item["locations"]
    east["location_actual_available_stock"] = 9.5
    east["location_actual_available_for_sale_stock"] = -1.0

    accounting = zoho.connect().get_quantities([sku])[sku]
    physical = zoho.connect(stock_field="actual_available_stock").get_quantities([sku])[sku]
    inactive = zoho.connect().get_item(zoho.state.item_id("OLD-000001"))
    del zoho.state.by_sku["SKU-000006"]["locations"]
    bare = zoho.connect().get_item(zoho.state.item_id("SKU-000006"))

    assert accounting.locations is not None and physical.locations is not None
    assert sum(on_hand for on_hand, _ in accounting.locations.values()) == 10
    assert accounting.locations[primary["location_id"]] == (
        int(primary["location_stock_on_hand"]),
        int(primary["location_available_for_sale_stock"]),
    )
    # Floored, a negative kept: a mapped site's sum nets it (sync/sellable.py).
    assert physical.locations[east["location_id"]] == (9, -1)
    assert inactive is not None and inactive.locations is not None
    assert set(inactive.locations.values()) == {(0, 0)}
    assert bare is not None and bare.locations is None
    assert ZohoInventorySource.offers_locations


def test_get_item_reads_one_item_or_none(zoho: Zoho) -> None:
    item_id = zoho.state.by_sku["SKU-000042"]["item_id"]
    source = zoho.connect()

    item = source.get_item(item_id)

    assert item is not None and item.sku == "SKU-000042" and item.item_id == item_id
    assert item.quantity == erp_quantity("SKU-000042", SEED)
    assert source.get_item("999") is None


def test_three_sources_one_cache_one_token(zoho: Zoho) -> None:
    shared = MemoryTokenCache()

    for _ in range(3):
        zoho.connect(shared).get_item(zoho.state.by_sku["SKU-000001"]["item_id"])

    assert zoho.state.tokens.minted == 1


def test_a_401_drops_the_token_and_retries_once(zoho: Zoho) -> None:
    source = zoho.connect()
    source.get_quantities(["SKU-000001"])
    zoho.state.tokens.revoke_all()

    assert "SKU-000001" in source.get_quantities(["SKU-000001"])
    assert zoho.state.tokens.minted == 2


def test_wrong_secret_answered_with_200_is_permanent(zoho: Zoho) -> None:
    with pytest.raises(PermanentError, match="invalid_client"):
        zoho.connect(client_secret="nope").iter_items().__next__()


def test_token_quota_exhausted_is_transient_for_the_window(zoho: Zoho) -> None:
    for _ in range(10):
        zoho.connect().api.token()  # ten workers without a shared cache

    with pytest.raises(TransientError) as failure:
        zoho.connect().api.token()

    assert failure.value.retry_after == TOKEN_WINDOW_SECONDS


@pytest.mark.parametrize(
    "read",
    [
        lambda source: source.get_quantities(["SKU-000001"]),
        lambda source: source.order_progress(["1001"], since=SINCE),
    ],
    ids=["get_quantities", "order_progress"],
)
def test_rate_limited_call_is_transient_with_its_wait(
    zoho: Zoho, read: Callable[[ZohoInventorySource], object]
) -> None:
    source = zoho.connect()
    source.api.token()
    zoho.state.set_faults(share_429=1.0)

    with pytest.raises(TransientError) as failure:
        read(source)

    assert (failure.value.status, failure.value.retry_after) == (429, 1.0)


def test_server_error_is_transient(zoho: Zoho) -> None:
    source = zoho.connect()
    source.api.token()
    zoho.state.set_faults(share_5xx=1.0)

    with pytest.raises(TransientError) as failure:
        source.get_item("1")

    assert failure.value.status == 503


def test_readings_are_dated_by_the_given_clock_before_each_request(zoho: Zoho) -> None:
    """Workers pass the database's clock (sync/context.py); the stamp is taken before
    the request, so a reading never claims to be fresher than it is."""
    calls_at_stamp: list[int] = []

    def clock() -> datetime:
        calls_at_stamp.append(zoho.state.calls)
        return datetime(2030, 1, 1, tzinfo=UTC) + timedelta(seconds=len(calls_at_stamp))

    credentials = DEFAULTS["zoho"].stored_credentials(zoho.url)
    source = ZohoInventorySource(zoho.url, credentials, clock=clock)
    source.api.token()
    before = zoho.state.calls

    item = source.get_item(zoho.state.item_id("SKU-000003"))

    assert item is not None and item.read_at == datetime(2030, 1, 1, 0, 0, 1, tzinfo=UTC)
    assert calls_at_stamp == [before]


def orders_at_each_step(zoho: Zoho) -> None:
    """Sales orders for store orders 1001 to 1007 and `O'Brien #7`, at each step."""
    book = zoho.state.sales_orders
    book.raise_order({"SKU-000001": 1}, "1001", "draft")
    book.raise_order({"SKU-000002": 1}, "1002", "confirmed")
    book.void(book.raise_order({"SKU-000003": 1}, "1003", "confirmed")["salesorder_id"])
    book.invoice(book.raise_order({"SKU-000004": 1}, "1004", "confirmed")["salesorder_id"])
    book.ship(book.raise_order({"SKU-000005": 1}, "1005", "confirmed")["salesorder_id"])
    # Voided and raised again: the live one counts.
    book.void(book.raise_order({"SKU-000006": 2}, "1006", "confirmed")["salesorder_id"])
    book.raise_order({"SKU-000006": 1}, "1006", "confirmed")
    book.raise_order({"SKU-000007": 1}, "O'Brien #7", "draft")
    # Split in two by the merchant: shipped only once both are.
    book.invoice(book.raise_order({"SKU-000009": 1}, "1007", "confirmed")["salesorder_id"])
    book.ship(book.raise_order({"SKU-000010": 1}, "1007", "confirmed")["salesorder_id"])
    book.raise_order({"SKU-000008": 1}, "", "confirmed")  # raised by hand, no reference


NUMBERS = ["1001", "1002", "1003", "1004", "1005", "1006", "1007", "O'Brien #7", "9999", "100"]


@pytest.mark.parametrize("at_once", [len(NUMBERS), 3], ids=["one listing", "per number"])
@pytest.mark.parametrize(
    ("stock_field", "shipped"),
    [
        ("stock_on_hand", {"1004"}),  # accounting stock falls with the invoice
        ("available_stock", {"1004"}),
        ("actual_available_stock", {"1005"}),  # physical stock with the shipment
    ],
)
def test_order_progress_follows_each_sales_order_step(
    zoho: Zoho, stock_field: str, shipped: set[str], at_once: int
) -> None:
    orders_at_each_step(zoho)
    source = zoho.connect(stock_field=stock_field)

    progress: dict[str, OrderProgress] = {}
    for start in range(0, len(NUMBERS), at_once):
        progress |= source.order_progress(NUMBERS[start : start + at_once], since=SINCE)

    assert {number: p.committed for number, p in progress.items()} == {
        "1001": False,  # a draft commits nothing
        "1002": True,
        "1003": False,  # void
        "1004": True,
        "1005": True,
        "1006": True,
        "1007": True,
        "O'Brien #7": False,
    }
    assert {number for number, p in progress.items() if p.shipped} == shipped


def test_order_progress_asks_once_per_number_and_pages(zoho: Zoho) -> None:
    book = zoho.state.sales_orders
    for _ in range(200):
        book.raise_order({"SKU-000001": 1}, "2001", "draft")
    book.raise_order({"SKU-000001": 1}, "2001", "confirmed")  # on the second page
    source = zoho.connect()
    source.api.token()
    calls = zoho.state.calls

    progress = source.order_progress(["2001", "2002", "2002", ""], since=SINCE)

    assert progress == {"2001": OrderProgress(committed=True, shipped=False)}
    # Two pages for 2001, one call for 2002; the repeat and the empty number cost none.
    assert zoho.state.calls - calls == 3


def backdate(zoho: Zoho, order: dict[str, Any], when: datetime) -> None:
    """Make a sales order look last modified at `when`."""
    with zoho.state.lock:
        stored = zoho.state.sales_orders.by_id[order["salesorder_id"]]
        stored["last_modified_time"] = when.strftime(TIME_FORMAT)


def test_many_numbers_cost_pages_of_sales_orders_not_calls_each(zoho: Zoho) -> None:
    book = zoho.state.sales_orders
    numbers = [str(3000 + n) for n in range(200)]
    for number in numbers:
        book.raise_order({"SKU-000001": 1}, number, "confirmed")
    for n in range(250):  # orders of other store orders, or raised by hand
        book.raise_order({"SKU-000002": 1}, f"other-{n}", "draft")
    book.invoice(book.raise_order({"SKU-000003": 1}, numbers[7], "confirmed")["salesorder_id"])
    source = zoho.connect()
    source.api.token()
    calls = zoho.state.calls

    progress = source.order_progress([*numbers, "9999"], since=SINCE)

    assert set(progress) == set(numbers)
    assert all(p.committed for p in progress.values())
    # Split in two, one invoiced: not shipped yet.
    assert not progress[numbers[7]].shipped
    # 451 sales orders are 3 pages of 200: 3 calls, not 201.
    assert zoho.state.calls - calls == 3


def test_the_bound_stops_paging_and_older_orders_are_not_credited(zoho: Zoho) -> None:
    book = zoho.state.sales_orders
    old = SINCE - timedelta(days=2)
    for n in range(400):  # two full pages last modified before the bound
        backdate(zoho, book.raise_order({"SKU-000001": 1}, f"old-{n}", "confirmed"), old)
    backdate(zoho, book.raise_order({"SKU-000001": 1}, "4001", "confirmed"), old)
    book.raise_order({"SKU-000001": 1}, "4002", "confirmed")
    source = zoho.connect()
    source.api.token()
    calls = zoho.state.calls

    progress = source.order_progress(["4001", "4002", "old-0", "old-399", "x"], since=SINCE)

    assert progress == {"4002": OrderProgress(committed=True, shipped=False)}
    # The first page holds 4002 and 199 old orders, the second only old ones: it ends
    # the listing, and the third page is never asked for.
    assert zoho.state.calls - calls == 2
    # Asked one number at a time, an old order is not credited either.
    assert source.order_progress(["4001", "4002"], since=SINCE) == progress
