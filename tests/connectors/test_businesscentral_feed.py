"""BusinessCentralSource.stock_changes against the Business Central sandbox, over real
HTTP: item ledger entries after the last seen entry number."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
import requests

from connectors import businesscentral, businesscentral_feed
from connectors.errors import CursorLost
from sandbox.base import SandboxConfig
from sandbox.businesscentral import create_app
from sandbox.server import running
from tests.support.businesscentral import COMPANY, Sandbox


@pytest.fixture
def bc() -> Iterator[Sandbox]:
    app = create_app(SandboxConfig(items=30, seed=7, credentials={"company_id": COMPANY}))
    with running(app) as url:
        yield Sandbox(url, app.config["SANDBOX_STATE"])


def ship(bc: Sandbox, external: str, lines: dict[str, int]) -> None:
    """Import a sales order and post its shipment: ledger entries, no notice."""
    body = {"externalDocumentNumber": external, "lines": lines}
    order = requests.post(f"{bc.url}/_sandbox/salesorders", json=body, timeout=10).json()
    posted = requests.post(
        f"{bc.url}/_sandbox/salesorders/{order['salesOrder']['id']}/ship", timeout=10
    )
    assert posted.status_code == 201


def journal(bc: Sandbox, changes: dict[str, int]) -> None:
    answer = requests.post(f"{bc.url}/_sandbox/itemjournal", json=changes, timeout=10)
    assert answer.status_code == 200


def test_none_starts_at_the_newest_entry_with_no_skus(bc: Sandbox) -> None:
    page = bc.source().stock_changes(None)

    assert page.skus == ()
    assert page.cursor == str(len(bc.state.ledger.entries))
    assert page.more is False


def test_a_shipment_that_notifies_no_one_shows_up_from_the_previous_cursor(
    bc: Sandbox,
) -> None:
    source = bc.source()
    start = source.stock_changes(None)

    ship(bc, "#1001", {"SKU-000004": 2, "SKU-000007": 1})
    journal(bc, {"SKU-000009": 3, "SKU-000004": 11})
    page = source.stock_changes(start.cursor)
    quiet = source.stock_changes(page.cursor)

    assert page.skus == ("SKU-000004", "SKU-000007", "SKU-000009")
    assert page.cursor == str(int(start.cursor) + 4)
    # One call per read: the newest entry, then each read after it.
    ledger = "GET /v2.0/<tenant>/<environment>/api/v2.0/companies(<company_id>)/itemLedgerEntries"
    assert bc.state.route_calls[ledger] == 3
    assert page.more is False
    assert (quiet.skus, quiet.cursor, quiet.more) == ((), page.cursor, False)


def test_a_burst_comes_in_pages_with_more(bc: Sandbox, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(businesscentral_feed, "FEED_PAGE", 2)
    source = bc.source()
    start = source.stock_changes(None)
    journal(bc, {"SKU-000001": 50, "SKU-000002": 50, "SKU-000003": 50})

    first = source.stock_changes(start.cursor)
    second = source.stock_changes(first.cursor)

    assert (first.skus, first.more) == (("SKU-000001", "SKU-000002"), True)
    assert (second.skus, second.more) == (("SKU-000003",), False)
    assert second.cursor == str(int(start.cursor) + 3)


def test_a_cursor_past_the_end_gives_nothing_and_stays(bc: Sandbox) -> None:
    ahead = str(len(bc.state.ledger.entries) + 100)

    page = bc.source().stock_changes(ahead)

    assert (page.skus, page.cursor, page.more) == ((), ahead, False)


@pytest.mark.parametrize("cursor", ["", "abc", "-1", "2026-12-04T10:00:00Z"])
def test_a_cursor_that_is_no_entry_number_is_permanent(bc: Sandbox, cursor: str) -> None:
    with pytest.raises(CursorLost):
        bc.source().stock_changes(cursor)


def test_entries_without_an_item_number_are_dropped(bc: Sandbox) -> None:
    source = bc.source()
    start = source.stock_changes(None)
    with bc.state.lock:
        bc.state.ledger.post("", 1, "Purchase")
        bc.state.ledger.post("SKU-000005", 1, "Purchase")

    page = source.stock_changes(start.cursor)

    assert page.skus == ("SKU-000005",)
    assert page.cursor == str(int(start.cursor) + 2)


def test_modified_since_lists_item_edits_and_no_postings(bc: Sandbox) -> None:
    """What an `items` subscription notifies, and so what a heal or the silence check
    reads: a record edit, not a posted shipment (the ledger feed has those)."""
    since = datetime.now(UTC) - timedelta(seconds=1)
    bc.state.set_stock({"SKU-000003": 40})
    ship(bc, "#2001", {"SKU-000004": 1})

    changed = list(bc.source().modified_since(since))

    assert [item.sku for item in changed] == ["SKU-000003"]
    assert changed[0].modified_at > since
    items = "GET /v2.0/<tenant>/<environment>/api/v2.0/companies(<company_id>)/items"
    assert bc.state.route_calls[items] == 1


def test_modified_since_reads_a_page_at_a_time_as_the_caller_goes_on(
    bc: Sandbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(businesscentral, "PAGE_SIZE", 2)
    since = datetime.now(UTC) - timedelta(seconds=1)
    bc.state.set_stock({"SKU-000002": 9, "SKU-000005": 9, "SKU-000008": 9})
    items = "GET /v2.0/<tenant>/<environment>/api/v2.0/companies(<company_id>)/items"

    first = next(iter(bc.source().modified_since(since)))
    assert (first.sku, bc.state.route_calls[items]) == ("SKU-000002", 1)

    every = [item.sku for item in bc.source().modified_since(since)]
    assert every == ["SKU-000002", "SKU-000005", "SKU-000008"]
    assert bc.state.route_calls[items] == 1 + 2
