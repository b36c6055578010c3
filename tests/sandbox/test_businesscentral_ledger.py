"""The Business Central sandbox's item ledger: every stock movement is an entry, served
by `itemLedgerEntries` with the OData options the change feed uses."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import requests

from sandbox.base import SandboxConfig
from sandbox.businesscentral import create_app
from sandbox.server import running
from tests.support.businesscentral import BC, Receiver, import_order, ship


@pytest.fixture
def bc() -> Iterator[BC]:
    app = create_app(SandboxConfig(items=5, seed=1))
    with running(app) as url:
        yield BC(url, app.config["SANDBOX_STATE"])


@pytest.fixture
def receiver() -> Iterator[tuple[str, Receiver]]:
    endpoint = Receiver(echo=True)
    with running(endpoint) as url:
        yield f"{url}/hooks/bc", endpoint


def entries(bc: BC, query: str = "", **headers: str) -> requests.Response:
    company = f"{bc.api}/companies({bc.state.company_id})"
    return bc.get(f"{company}/itemLedgerEntries{query}", **headers)


def test_inventory_is_the_sum_of_the_ledger_from_opening_entries(bc: BC) -> None:
    rows = entries(bc).json()["value"]

    total: dict[str, float] = {}
    for row in rows:
        total[row["itemNumber"]] = total.get(row["itemNumber"], 0.0) + row["quantity"]
    assert [row["entryNumber"] for row in rows] == list(range(1, len(rows) + 1))
    assert {k: int(v) for k, v in total.items() if k in bc.state.stock()} == bc.state.stock()
    assert rows[0]["entryType"] == "Positive_x0020_Adjmt_x002E_"


def test_a_shipment_and_a_journal_append_entries_and_notify_no_one(
    bc: BC, receiver: tuple[str, Receiver]
) -> None:
    hook_url, endpoint = receiver
    bc.state.set_faults(webhook_url=hook_url, webhook_secret="s")
    last = len(bc.state.ledger.entries)
    before = bc.state.stock()

    ship(bc, import_order(bc, "#7", {"SKU-000002": 2}))
    lowered = before["SKU-000003"] - 1
    journal = requests.post(
        f"{bc.url}/_sandbox/itemjournal?document=ADJ-1", json={"SKU-000003": lowered}, timeout=10
    )
    assert bc.state.webhooks.wait_idle(10)
    after = entries(bc, f"?$filter=entryNumber gt {last}").json()["value"]

    assert journal.status_code == 200
    assert [(r["entryNumber"], r["itemNumber"], r["entryType"]) for r in after] == [
        (last + 1, "SKU-000002", "Sale"),
        (last + 2, "SKU-000003", "Negative_x0020_Adjmt_x002E_"),
    ]
    assert [r["quantity"] for r in after] == [-2.0, -1.0]
    assert bc.state.stock()["SKU-000003"] == lowered
    assert endpoint.notifications == []


def test_set_stock_notifies_and_writes_its_entry_too(
    bc: BC, receiver: tuple[str, Receiver]
) -> None:
    hook_url, endpoint = receiver
    bc.state.set_faults(webhook_url=hook_url, webhook_secret="s")
    last = len(bc.state.ledger.entries)

    bc.state.set_stock({"SKU-000001": bc.state.stock()["SKU-000001"] + 5})
    assert bc.state.webhooks.wait_idle(10)

    [entry] = entries(bc, f"?$filter=entryNumber gt {last}").json()["value"]
    assert (entry["itemNumber"], entry["quantity"]) == ("SKU-000001", 5.0)
    assert len(endpoint.notifications) == 1


def test_newest_first_top_select_and_paging(bc: BC) -> None:
    count = len(bc.state.ledger.entries)

    newest = entries(bc, "?$select=entryNumber&$orderby=entryNumber desc&$top=1").json()
    first = entries(
        bc,
        "?$select=entryNumber,itemNumber&$orderby=entryNumber&$top=3",
        Prefer="odata.maxpagesize=2",
    )
    body = first.json()
    rest = bc.get(body["@odata.nextLink"]).json()

    assert [row["entryNumber"] for row in newest["value"]] == [count]
    assert set(newest["value"][0]) == {"@odata.etag", "entryNumber"}
    assert first.headers["Preference-Applied"] == "odata.maxpagesize=2"
    assert [row["entryNumber"] for row in body["value"]] == [1, 2]
    assert [row["entryNumber"] for row in rest["value"]] == [3]
    assert "@odata.nextLink" not in rest
    assert entries(bc, f"?$filter=entryNumber gt {count + 10}").json()["value"] == []


@pytest.mark.parametrize(
    "query",
    [
        "?$filter=entryNumber ge 3",
        "?$filter=itemNumber eq 'SKU-000001'",
        "?$orderby=postingDate",
        "?$select=locationCode",
        "?$top=x",
    ],
)
def test_other_queries_are_odata_bad_requests(bc: BC, query: str) -> None:
    answer = entries(bc, query)

    assert answer.status_code == 400
    assert answer.json()["error"]["code"] == "BadRequest"


def test_a_purchase_receipt_raises_stock_with_purchase_entries_quietly(
    bc: BC, receiver: tuple[str, Receiver]
) -> None:
    hook_url, endpoint = receiver
    bc.state.set_faults(webhook_url=hook_url, webhook_secret="s")
    last = len(bc.state.ledger.entries)
    before = bc.state.stock()["SKU-000004"]

    received = requests.post(
        f"{bc.url}/_sandbox/purchasereceipts?document=R-1", json={"SKU-000004": 6}, timeout=10
    )
    refused = requests.post(
        f"{bc.url}/_sandbox/purchasereceipts", json={"SKU-000004": 0}, timeout=10
    )
    assert bc.state.webhooks.wait_idle(10)
    [entry] = entries(bc, f"?$filter=entryNumber gt {last}").json()["value"]

    assert (received.status_code, refused.status_code) == (200, 400)
    assert (entry["entryType"], entry["quantity"], entry["documentNumber"]) == (
        "Purchase",
        6.0,
        "R-1",
    )
    assert bc.state.stock()["SKU-000004"] == before + 6
    assert endpoint.notifications == []
