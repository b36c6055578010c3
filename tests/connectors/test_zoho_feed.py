"""ZohoInventorySource.stock_changes against the Zoho Inventory sandbox, over real HTTP:
items modified since a time on Zoho's clock, newest first."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

import pytest
import requests

from connectors import zoho_feed
from connectors.errors import CursorLost
from sandbox.base import SandboxConfig
from sandbox.server import running
from sandbox.zoho import create_app
from tests.support.zoho import SEED, Zoho

#: The newest edit before a test starts: where `None` starts watching. Its item is
#: reported again by the first read (it is within `OVERLAP` of the cursor).
NEWEST = "2024-06-01T00:00:00+0000"
NEWEST_SKU = "SKU-000001"


@pytest.fixture
def zoho() -> Iterator[Zoho]:
    app = create_app(SandboxConfig(items=30, seed=SEED))
    state = app.config["SANDBOX_STATE"]
    state.by_sku[NEWEST_SKU]["last_modified_time"] = NEWEST
    with running(app) as url:
        yield Zoho(url, state)


def invoice(zoho: Zoho, lines: dict[str, int]) -> None:
    """Raise a confirmed sales order and invoice it: stock on hand falls, no webhook."""
    raised = requests.post(f"{zoho.url}/_sandbox/salesorders", json=lines, timeout=10)
    order = raised.json()["salesorder"]["salesorder_id"]
    done = requests.post(f"{zoho.url}/_sandbox/salesorders/{order}/invoice", timeout=10)
    assert done.status_code == 200, done.text


def adjust(zoho: Zoho, changes: dict[str, int]) -> None:
    answer = requests.post(f"{zoho.url}/_sandbox/inventoryadjustments", json=changes, timeout=10)
    assert answer.status_code == 200, answer.text


def test_none_starts_at_the_newest_edit_with_no_skus(zoho: Zoho) -> None:
    page = zoho.connect().stock_changes(None)

    assert (page.skus, page.cursor, page.more) == ((), NEWEST, False)


def test_an_invoice_and_an_adjustment_show_up_from_the_previous_cursor(zoho: Zoho) -> None:
    source = zoho.connect()
    start = source.stock_changes(None)

    invoice(zoho, {"SKU-000004": 2})
    adjust(zoho, {"SKU-000009": 1})
    page = source.stock_changes(start.cursor)

    assert zoho.state.webhooks.sent == 0
    assert zoho.state.route_calls["GET /inventory/v1/items"] == 2  # one call per read
    # Newest first, ties in list order; the item at the old cursor comes again (overlap).
    assert page.skus == ("SKU-000004", "SKU-000009", NEWEST_SKU)
    assert page.cursor == zoho.state.by_sku["SKU-000009"]["last_modified_time"]
    assert page.cursor > start.cursor and page.more is False


def test_a_burst_comes_in_pages_and_ends_at_the_newest_time(
    zoho: Zoho, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(zoho_feed, "PER_PAGE", 2)
    source = zoho.connect()
    start = source.stock_changes(None)
    adjust(zoho, {"SKU-000002": 5, "SKU-000003": 5, "SKU-000005": 5})

    first = source.stock_changes(start.cursor)
    second = source.stock_changes(first.cursor)

    assert (first.skus, first.more) == (("SKU-000002", "SKU-000003"), True)
    assert (second.skus, second.more) == (("SKU-000005", NEWEST_SKU), False)
    assert second.cursor == zoho.state.by_sku["SKU-000005"]["last_modified_time"]


def test_each_read_asks_for_one_page_from_the_cursor_less_the_overlap(zoho: Zoho) -> None:
    seen: list[dict[str, object]] = []
    source = zoho.connect()

    def spy(params: Mapping[str, str | int]) -> dict[str, Any]:
        seen.append(dict(params))
        return {"items": [], "page_context": {"has_more_page": False}}

    page = zoho_feed.stock_changes(spy, "2026-12-04T10:15:00+0000")

    assert seen == [
        {
            "last_modified_time": "2026-12-04T10:14:00+0000",
            "sort_column": "last_modified_time",
            "sort_order": "D",
            "page": 1,
            "per_page": 200,
        }
    ]
    assert page.cursor == "2026-12-04T10:15:00+0000"
    assert source.stock_changes("2026-12-04T10:15:00+0000").skus == ()


def test_a_cursor_past_the_end_gives_nothing_and_stays(zoho: Zoho) -> None:
    ahead = "2099-01-01T00:00:00+0000"

    page = zoho.connect().stock_changes(ahead)

    assert (page.skus, page.cursor, page.more) == ((), ahead, False)


def test_a_server_ignoring_the_filter_costs_one_page(zoho: Zoho) -> None:
    rows = [
        {"sku": "SKU-000007", "last_modified_time": "2026-12-04T10:20:00+0000"},
        {"sku": "SKU-000008", "last_modified_time": "2026-12-04T09:00:00+0000"},
    ]

    page = zoho_feed.stock_changes(
        lambda params: {"items": rows, "page_context": {"has_more_page": True}},
        "2026-12-04T10:15:00+0000",
    )

    assert (page.skus, page.cursor, page.more) == (
        ("SKU-000007",),
        "2026-12-04T10:20:00+0000",
        False,
    )


@pytest.mark.parametrize(
    "cursor",
    [
        "",
        "yesterday",
        "2026-12-04T10:15:00Z|2026-12-04T10:15:00Z",
        "2026-12-04T10:15:00+0000|2026-12-04T10:15:00+0000|1",
        "2026-12-04T10:15:00+0000|x|2",
    ],
)
def test_a_cursor_not_of_ours_is_permanent(zoho: Zoho, cursor: str) -> None:
    with pytest.raises(CursorLost):
        zoho.connect().stock_changes(cursor)
