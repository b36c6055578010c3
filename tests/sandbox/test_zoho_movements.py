"""The Zoho sandbox's quiet stock movements (invoices, shipments, inventory adjustments:
no item webhook, a new `last_modified_time`) and the items list's modified-since filter
and sort, over real HTTP."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
import requests
from werkzeug.wrappers import Request, Response

from sandbox.base import SandboxConfig
from sandbox.server import running
from sandbox.zoho import create_app
from sandbox.zoho.state import ZohoState
from tests.support.zoho import REFRESH, listing

OLD = "2024-01-01T00:00:00+0000"


@pytest.fixture
def zoho() -> Iterator[tuple[str, ZohoState, list[dict[str, Any]]]]:
    received: list[dict[str, Any]] = []

    def endpoint(environ: dict[str, Any], start_response: Any) -> Any:
        received.append(json.loads(Request(environ).data))
        return Response("ok")(environ, start_response)

    with running(endpoint) as hook_url:
        app = create_app(SandboxConfig(items=12, webhook_url=hook_url, webhook_secret="tok"))
        with running(app) as url:
            yield url, app.config["SANDBOX_STATE"], received


def token(url: str) -> str:
    return str(
        requests.post(f"{url}/oauth/v2/token", data=REFRESH, timeout=10).json()["access_token"]
    )


def test_invoice_shipment_and_adjustment_stamp_the_item_and_send_no_webhook(
    zoho: tuple[str, ZohoState, list[dict[str, Any]]],
) -> None:
    url, state, received = zoho
    raised = requests.post(f"{url}/_sandbox/salesorders", json={"SKU-000003": 2}, timeout=10)
    order = raised.json()["salesorder"]["salesorder_id"]
    on_hand = state.by_sku["SKU-000003"]["stock_on_hand"]

    invoiced = requests.post(f"{url}/_sandbox/salesorders/{order}/invoice", timeout=10)
    after_invoice = state.by_sku["SKU-000003"]["last_modified_time"]
    state.by_sku["SKU-000003"]["last_modified_time"] = OLD
    shipped = requests.post(f"{url}/_sandbox/salesorders/{order}/ship", timeout=10)
    adjusted = requests.post(
        f"{url}/_sandbox/inventoryadjustments", json={"SKU-000006": 40}, timeout=10
    )
    assert state.webhooks.wait_idle(10)

    assert (invoiced.status_code, shipped.status_code, adjusted.status_code) == (200, 200, 200)
    assert state.by_sku["SKU-000003"]["stock_on_hand"] == on_hand - 2
    assert after_invoice > OLD
    assert state.by_sku["SKU-000003"]["last_modified_time"] > OLD  # the shipment's stamp
    assert state.by_sku["SKU-000006"]["stock_on_hand"] == 40
    assert state.by_sku["SKU-000006"]["last_modified_time"] > OLD
    assert received == []


def test_items_modified_after_a_time_newest_first(
    zoho: tuple[str, ZohoState, list[dict[str, Any]]],
) -> None:
    url, state, _ = zoho
    for sku, when in (
        ("SKU-000002", "2025-03-01T10:00:00+0000"),
        ("SKU-000005", "2025-03-01T10:00:01+0000"),
        ("SKU-000007", "2025-03-01T09:59:59+0000"),
    ):
        state.by_sku[sku]["last_modified_time"] = when
    bearer = token(url)

    after = listing(
        url,
        bearer,
        "items",
        last_modified_time="2025-03-01T09:59:59+0000",
        sort_column="last_modified_time",
        sort_order="D",
    ).json()
    oldest_first = listing(url, bearer, "items", sort_column="last_modified_time").json()

    assert [item["sku"] for item in after["items"]] == ["SKU-000005", "SKU-000002"]
    assert after["page_context"]["sort_column"] == "last_modified_time"
    assert after["page_context"]["sort_order"] == "D"
    assert [item["sku"] for item in oldest_first["items"]][-3:] == [
        "SKU-000007",
        "SKU-000002",
        "SKU-000005",
    ]


@pytest.mark.parametrize(
    "params",
    [
        {"sort_column": "rate"},
        {"sort_order": "X"},
        {"last_modified_time": "yesterday"},
    ],
)
def test_unserved_sorts_and_bad_times_are_refused(
    zoho: tuple[str, ZohoState, list[dict[str, Any]]], params: dict[str, str]
) -> None:
    url, _, _ = zoho

    answer = listing(url, token(url), "items", **params)

    assert answer.status_code == 400
    assert answer.json()["code"] == 2
