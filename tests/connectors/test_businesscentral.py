"""BusinessCentralSource against the Business Central sandbox, over real HTTP."""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from connectors.businesscentral import MAX_URL_LENGTH, PER_NUMBER_FILTERS, BusinessCentralSource
from connectors.errors import PermanentError, TransientError
from connectors.tokens import MemoryTokenCache
from connectors.types import OrderProgress
from sandbox.accounts import DEFAULTS
from sandbox.businesscentral import create_app
from sandbox.businesscentral import state as bc_state
from sandbox.catalog import erp_quantity, sku_for
from sandbox.server import running, running_in_subprocess
from tests.support.businesscentral import Sandbox, sandbox_config, source_for
from tests.support.memory import peak_bytes_while

#: A bound well before every document a test creates.
SINCE = datetime.now(UTC) - timedelta(hours=1)


def _serve(items: int) -> Iterator[Sandbox]:
    app = create_app(sandbox_config(items))
    with running(app) as url:
        yield Sandbox(url, app.config["SANDBOX_STATE"])


@pytest.fixture
def bc() -> Iterator[Sandbox]:
    yield from _serve(60)


@pytest.fixture(scope="module")
def big() -> Iterator[Sandbox]:
    yield from _serve(20_000)


def test_streams_every_item_with_the_seeded_quantity(big: Sandbox) -> None:
    stock = {item.sku: item.quantity for item in big.source().iter_items()}

    seeded = {sku_for(i): erp_quantity(sku_for(i), 7) for i in range(1, 20_001)}
    assert stock == {**seeded, "OLD-000001": 0}  # and the blocked item, at 0


def _peak_while_streaming(items: int) -> int:
    """Peak bytes of this process streaming `items` from a sandbox in another process."""
    with running_in_subprocess("businesscentral", sandbox_config(items)) as url:
        drained = peak_bytes_while(source_for(url).iter_items)
    assert drained.items == items + 1  # the blocked item too
    return drained.peak_bytes


def test_streaming_memory_does_not_grow_with_the_catalog() -> None:
    small, big = _peak_while_streaming(2_000), _peak_while_streaming(20_000)

    assert big / small < 2.0, (small, big)


def test_a_blocked_item_sells_as_zero_and_a_service_carries_no_stock(bc: Sandbox) -> None:
    stock = {item.sku: item.quantity for item in bc.source().iter_items()}
    read = bc.source().get_quantities(["SERVICE-FEE", "OLD-000001"])
    blocked = bc.source().get_item(bc.state.item_id("OLD-000001"))

    assert len(stock) == 61 and "SERVICE-FEE" not in stock
    assert bc.state.by_number["OLD-000001"]["inventory"] == 7.0
    assert stock["OLD-000001"] == 0
    assert {sku: item.quantity for sku, item in read.items()} == {"OLD-000001": 0}
    assert blocked is not None and blocked.quantity == 0


def test_500_skus_take_few_requests_each_under_the_url_limit(big: Sandbox) -> None:
    source = big.source()
    source.api.token()
    urls: list[str] = []
    source.api.http.session.hooks["response"].append(lambda r, *a, **k: urls.append(r.url))
    wanted = [sku_for(i) for i in range(1, 20_001, 40)]
    calls_before = big.state.calls

    found = source.get_quantities([*wanted, "UNKNOWN-1", "it's"])

    assert len(wanted) == 500
    assert {sku: item.quantity for sku, item in found.items()} == {
        sku: erp_quantity(sku, 7) for sku in wanted
    }
    assert big.state.calls - calls_before == len(urls) <= 12
    assert max(map(len, urls)) <= MAX_URL_LENGTH


def test_skus_are_normalised_and_quotes_escaped(bc: Sandbox) -> None:
    found = bc.source().get_quantities([" sku-000003 ", "O'BRIEN", "x" * 30])

    assert list(found) == ["SKU-000003"]
    assert found["SKU-000003"].quantity == erp_quantity("SKU-000003", 7)


def test_on_hand_only_no_available_for_sale_figure(bc: Sandbox) -> None:
    """API v2.0 has `inventory` and nothing committed, and nothing per location
    (docs/platforms.md section 7)."""
    [item] = bc.source().get_quantities(["SKU-000003"]).values()

    assert item.available_for_sale is None and item.locations is None
    assert not BusinessCentralSource.offers_available_for_sale
    assert not BusinessCentralSource.offers_locations


def test_get_item_by_id_and_unknown_ids(bc: Sandbox) -> None:
    source = bc.source()
    first = next(source.iter_items())
    again = source.get_item(first.item_id)

    assert again is not None
    assert (again.sku, again.quantity, again.item_id) == (first.sku, first.quantity, first.item_id)
    assert source.get_item("00000000-0000-0000-0000-000000000000") is None
    assert source.get_item("not-a-guid") is None


def test_get_items_reads_many_ids_in_few_requests_and_maps_the_unknown_to_none(
    big: Sandbox,
) -> None:
    """A group of item notices (sync/events.py `process_events`): 80 ids take 3 URLs
    where `get_item` took 80 requests; ids BC does not list answer None, as a 404."""
    source = big.source()
    source.api.token()
    urls: list[str] = []
    source.api.http.session.hooks["response"].append(lambda r, *a, **k: urls.append(r.url))
    skus = [sku_for(i) for i in range(1, 20_001, 250)]
    ids = [big.state.item_id(sku) for sku in skus]
    unknown, service = "00000000-0000-0000-0000-000000000000", big.state.item_id("SERVICE-FEE")
    calls_before = big.state.calls

    found = source.get_items([*ids, unknown, "not-a-guid", service, ids[0].upper()])

    assert len(ids) == 80
    assert {item_id: (item.sku, item.quantity) for item_id, item in found.items() if item} == {
        **{item_id: (sku, erp_quantity(sku, 7)) for item_id, sku in zip(ids, skus, strict=True)},
        ids[0].upper(): (skus[0], erp_quantity(skus[0], 7)),
    }
    assert [found[key] for key in (unknown, "not-a-guid", service)] == [None, None, None]
    assert big.state.calls - calls_before == len(urls) == 3
    assert max(map(len, urls)) <= MAX_URL_LENGTH


def test_get_items_refused_its_id_filter_reads_each_item_on_its_own(
    bc: Sandbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    """BC taking `id eq <guid> or ...` is our reading, unconfirmed on a live tenant: a
    400 for it must not fail every notice of a group."""

    def refuse(expression: str, field: str) -> set[str]:
        raise ValueError(f"unsupported $filter {expression[:60]!r}")

    monkeypatch.setattr(bc_state, "guid_values", refuse)
    ids = [bc.state.item_id(sku) for sku in ("SKU-000001", "SKU-000002")]

    found = bc.source().get_items([*ids, "00000000-0000-0000-0000-000000000000"])

    assert [(item.sku if item else None) for item in found.values()] == [
        "SKU-000001",
        "SKU-000002",
        None,
    ]


def test_decimal_and_negative_inventory_are_floored_at_zero(bc: Sandbox) -> None:
    bc.state.by_number["SKU-000001"]["inventory"] = 4.75
    bc.state.by_number["SKU-000002"]["inventory"] = -3.0

    found = bc.source().get_quantities(["SKU-000001", "SKU-000002"])

    assert {sku: item.quantity for sku, item in found.items()} == {
        "SKU-000001": 4,
        "SKU-000002": 0,
    }


def test_connectors_sharing_a_cache_mint_one_token(bc: Sandbox) -> None:
    cache = MemoryTokenCache()

    for source in (bc.source(cache), bc.source(cache), bc.source(cache)):
        assert source.get_quantities(["SKU-000001"])

    assert bc.state.tokens.minted == 1


class RecordingCache(MemoryTokenCache):
    def __init__(self) -> None:
        super().__init__()
        self.stored: list[tuple[str, str, int]] = []

    def set(self, key: str, value: str, ttl_seconds: int) -> None:
        self.stored.append((key, value, ttl_seconds))
        super().set(key, value, ttl_seconds)


def test_token_is_cached_5_minutes_short_of_expiry_under_an_opaque_key(bc: Sandbox) -> None:
    cache = RecordingCache()
    bc.source(cache).api.token()

    [(key, _value, ttl)] = cache.stored
    assert ttl == 3599 - 300
    account = DEFAULTS["businesscentral"].sandbox
    assert account["client_secret"] not in key and account["client_id"] not in key


def test_revoked_token_is_reminted_once_and_the_call_succeeds(bc: Sandbox) -> None:
    cache = MemoryTokenCache()
    source = bc.source(cache)
    source.api.token()
    bc.state.tokens.revoke_all()

    assert source.get_quantities(["SKU-000001"])
    assert bc.state.tokens.minted == 2
    assert bc.source(cache).get_quantities(["SKU-000002"])
    assert bc.state.tokens.minted == 2


def test_bad_client_secret_is_permanent(bc: Sandbox) -> None:
    with pytest.raises(PermanentError) as failure:
        bc.source(client_secret="wrong").get_quantities(["SKU-000001"])

    assert failure.value.status == 401


def test_missing_credentials_are_permanent(bc: Sandbox) -> None:
    with pytest.raises(PermanentError, match="company_id"):
        bc.source(company_id="")


@pytest.mark.parametrize(
    "read",
    [
        lambda source: list(source.iter_items()),
        lambda source: source.order_progress(["1001"], since=SINCE),
    ],
    ids=["iter_items", "order_progress"],
)
def test_429_is_transient_with_the_retry_after_hint(
    bc: Sandbox, read: Callable[[BusinessCentralSource], object]
) -> None:
    source = bc.source()
    source.api.token()
    bc.state.set_faults(share_429=1.0)

    with pytest.raises(TransientError) as failure:
        read(source)

    assert failure.value.status == 429
    assert failure.value.retry_after == 1.0


def test_503_is_transient(bc: Sandbox) -> None:
    source = bc.source()
    source.api.token()
    bc.state.set_faults(outage=True)

    with pytest.raises(TransientError) as failure:
        source.get_item(next(iter(bc.state.by_id)))

    assert failure.value.status == 503


def test_request_budget_for_a_full_read_is_one_call_per_1000_items(big: Sandbox) -> None:
    source = big.source()
    source.api.token()
    before = big.state.calls

    assert sum(1 for _ in source.iter_items()) == 20_001
    assert big.state.calls - before == math.ceil(20_002 / 1000)


def test_order_progress_is_the_posted_shipment(bc: Sandbox) -> None:
    sales = bc.state.sales
    sales.import_order("1001", {"SKU-000001": 1})  # imported, not shipped
    sales.ship(sales.import_order("1002", {"SKU-000002": 2})["id"])
    sales.ship(sales.import_order("O'Brien #7", {"SKU-000003": 1})["id"])
    sales.ship(sales.import_order("10021", {"SKU-000004": 1})["id"])
    sales.ship(sales.import_order("", {"SKU-000005": 1})["id"])  # raised by hand
    source = bc.source()
    source.api.token()
    calls = bc.state.calls

    progress = source.order_progress(
        ["1001", "1002", "O'Brien #7", "9999", "1002", "", "100"], since=SINCE
    )

    assert progress == {
        "1002": OrderProgress(committed=True, shipped=True),
        "O'Brien #7": OrderProgress(committed=True, shipped=True),
    }
    # One `or` filter for every distinct number; the repeat and the empty one cost none.
    assert bc.state.calls - calls == 1


def backdate(bc: Sandbox, shipment: dict[str, Any], when: datetime) -> None:
    """Make a posted shipment look last modified at `when`."""
    with bc.state.lock:
        [stored] = [row for row in bc.state.sales.shipments if row["id"] == shipment["id"]]
        stored["lastModifiedDateTime"] = when.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


@pytest.mark.parametrize(
    ("count", "requests"),
    # Numbers of 20 characters: about 30 fit a URL, so two `or` filters for 50; 200
    # numbers are one listing of the 500 shipments since the bound, one page of 1,000.
    [(PER_NUMBER_FILTERS - 1, 2), (200, 1)],
    ids=["or filters", "listing"],
)
def test_many_numbers_take_a_handful_of_requests(bc: Sandbox, count: int, requests: int) -> None:
    sales = bc.state.sales
    numbers = [f"#{100_000 + n}-{'x' * 12}" for n in range(count)]
    for number in numbers[:-1]:
        sales.ship(sales.import_order(number, {"SKU-000001": 1})["id"])
    sales.import_order(numbers[-1], {"SKU-000001": 1})  # not shipped
    old = sales.ship(sales.import_order("old-1", {"SKU-000002": 1})["id"])
    backdate(bc, old, SINCE - timedelta(days=3))
    for n in range(300):  # shipments of other store orders
        sales.ship(sales.import_order(f"other-{n}", {"SKU-000003": 1})["id"])
    source = bc.source()
    source.api.token()
    calls = bc.state.calls

    progress = source.order_progress([*numbers, "old-1"], since=SINCE)

    assert set(progress) == set(numbers[:-1])
    assert bc.state.calls - calls == requests


def test_a_shipment_modified_before_the_bound_is_not_credited(bc: Sandbox) -> None:
    sales = bc.state.sales
    shipment = sales.ship(sales.import_order("5001", {"SKU-000001": 1})["id"])
    backdate(bc, shipment, SINCE - timedelta(minutes=1))
    sales.ship(sales.import_order("5002", {"SKU-000002": 1})["id"])
    source = bc.source()

    assert source.order_progress(["5001", "5002"], since=SINCE) == {
        "5002": OrderProgress(committed=True, shipped=True)
    }
    assert source.order_progress(["5001", "5002"], since=SINCE - timedelta(hours=1)) == {
        "5001": OrderProgress(committed=True, shipped=True),
        "5002": OrderProgress(committed=True, shipped=True),
    }
