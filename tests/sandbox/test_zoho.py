"""The Zoho Inventory sandbox speaks its API: accounts tokens, org-scoped items, webhooks."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
import requests
from werkzeug.wrappers import Request, Response

from sandbox.base import SandboxConfig
from sandbox.catalog import erp_quantity, skus
from sandbox.server import running
from sandbox.zoho import create_app
from sandbox.zoho.salesorders import HEADER
from sandbox.zoho.state import ZohoState
from tests.support.zoho import ORG, REFRESH, listing


@pytest.fixture
def zoho() -> Iterator[tuple[str, ZohoState]]:
    app = create_app(SandboxConfig(items=450, seed=2))
    with running(app) as url:
        yield url, app.config["SANDBOX_STATE"]


def items(url: str, token: str, **params: Any) -> requests.Response:
    return listing(url, token, "items", **params)


def test_refresh_grant_returns_a_token_and_the_api_domain(zoho: tuple[str, ZohoState]) -> None:
    url, _ = zoho

    query = requests.post(f"{url}/oauth/v2/token", params=REFRESH, timeout=10).json()
    form = requests.post(f"{url}/oauth/v2/token", data=REFRESH, timeout=10).json()

    assert query["expires_in"] == form["expires_in"] == 3600
    assert query["api_domain"] == url
    assert query["access_token"] != form["access_token"]


@pytest.mark.parametrize(
    ("change", "error"),
    [({"client_secret": "wrong"}, "invalid_client"), ({"refresh_token": "old"}, "invalid_code")],
)
def test_bad_credentials_are_a_200_with_an_error(
    zoho: tuple[str, ZohoState], change: dict[str, str], error: str
) -> None:
    url, state = zoho

    answer = requests.post(f"{url}/oauth/v2/token", data=REFRESH | change, timeout=10)

    assert (answer.status_code, answer.json()) == (200, {"error": error})
    assert state.tokens.minted == 0


def test_the_eleventh_token_in_ten_minutes_is_refused(zoho: tuple[str, ZohoState]) -> None:
    url, state = zoho
    answers = [requests.post(f"{url}/oauth/v2/token", data=REFRESH, timeout=10) for _ in range(11)]

    assert [a.status_code for a in answers] == [200] * 10 + [400]
    assert answers[-1].json()["error"] == "Access Denied"
    assert "too many requests" in answers[-1].json()["error_description"]
    assert state.tokens.minted == 10


def test_calls_need_a_token_and_the_organization(zoho: tuple[str, ZohoState]) -> None:
    url, state = zoho
    token = state.mint_token() or ""

    anonymous = items(url, "made-up")
    no_org = requests.get(
        f"{url}/inventory/v1/items",
        headers={"Authorization": f"Zoho-oauthtoken {token}"},
        timeout=10,
    )

    assert (anonymous.status_code, anonymous.json()["code"]) == (401, 57)
    assert (no_org.status_code, no_org.json()["code"]) == (400, 6041)


def test_pages_hold_at_most_200_items(zoho: tuple[str, ZohoState]) -> None:
    url, state = zoho
    token = state.mint_token() or ""
    seen: list[dict[str, Any]] = []
    page, more = 1, True
    while more:
        body = items(url, token, page=page, per_page=500).json()
        assert body["code"] == 0 and body["page_context"]["per_page"] == 200
        seen += body["items"]
        more, page = body["page_context"]["has_more_page"], page + 1

    assert page - 1 == 3  # 452 items: 450 stocked, one inactive, one service
    stocked = [i for i in seen if i["status"] == "active" and "stock_on_hand" in i]
    assert {i["sku"]: i["stock_on_hand"] for i in stocked} == {
        sku: erp_quantity(sku, 2) for sku in skus(450)
    }
    # Correction 26: only available-for-sale nets out what sales orders committed.
    assert all(i["available_stock"] == i["stock_on_hand"] for i in stocked)
    assert all(
        i["available_for_sale_stock"] == i["stock_on_hand"] - i["committed_stock"] >= 0
        for i in stocked
    )
    assert any(i["committed_stock"] for i in stocked)


def test_a_sales_order_commits_stock_and_leaves_on_hand(zoho: tuple[str, ZohoState]) -> None:
    url, state = zoho
    sku = "SKU-000007"
    before = dict(state.by_sku[sku])

    done = requests.post(f"{url}/_sandbox/salesorders", json={sku: 2}, timeout=10)
    unknown = requests.post(f"{url}/_sandbox/salesorders", json={sku: 1, "NOPE": 1}, timeout=10)
    for_sale = requests.get(f"{url}/_sandbox/available-for-sale", timeout=10).json()

    assert done.status_code == 201 and unknown.status_code == 400
    assert done.json()["salesorder"]["status"] == "confirmed"
    after = state.by_sku[sku]
    assert after["stock_on_hand"] == before["stock_on_hand"]
    assert after["committed_stock"] == before["committed_stock"] + 2
    assert (
        for_sale[sku]
        == after["available_for_sale_stock"]
        == (before["available_for_sale_stock"] - 2)
    )


def raise_order(url: str, lines: dict[str, int], **query: str) -> dict[str, Any]:
    answer = requests.post(f"{url}/_sandbox/salesorders", params=query, json=lines, timeout=10)
    assert answer.status_code == 201, answer.text
    order: dict[str, Any] = answer.json()["salesorder"]
    return order


def sales_orders(url: str, token: str, **params: str) -> requests.Response:
    return listing(url, token, "salesorders", **params)


def step(url: str, order: dict[str, Any], name: str) -> requests.Response:
    return requests.post(f"{url}/_sandbox/salesorders/{order['salesorder_id']}/{name}", timeout=10)


def test_a_draft_commits_nothing_until_confirmed_and_a_void_releases(
    zoho: tuple[str, ZohoState],
) -> None:
    url, state = zoho
    sku = "SKU-000011"
    item = state.by_sku[sku]
    committed = item["committed_stock"]

    draft = raise_order(url, {sku: 3}, reference_number="1001", status="draft")
    after_draft = item["committed_stock"]
    confirmed = step(url, draft, "confirm").json()["salesorder"]
    after_confirm = (item["committed_stock"], item["actual_committed_stock"])
    voided = step(url, draft, "void").json()["salesorder"]

    assert (draft["salesorder_number"], draft["reference_number"]) == ("SO-00001", "1001")
    assert draft["status"] == "draft" and after_draft == committed
    assert confirmed["status"] == "confirmed" and after_confirm == (committed + 3,) * 2
    assert voided["status"] == "void"
    assert item["committed_stock"] == item["actual_committed_stock"] == committed
    assert [line["sku"] for line in voided["line_items"]] == [sku]


def test_an_invoice_moves_accounting_stock_a_shipment_physical_stock() -> None:
    received: list[dict[str, Any]] = []

    def endpoint(environ: dict[str, Any], start_response: Any) -> Any:
        received.append(json.loads(Request(environ).data))
        return Response("ok")(environ, start_response)

    sku = "SKU-000005"
    with running(endpoint) as hook_url:
        app = create_app(SandboxConfig(items=10, webhook_url=hook_url, webhook_secret="tok"))
        state = app.config["SANDBOX_STATE"]
        with running(app) as url:
            state.set_stock({sku: 20})
            assert state.webhooks.wait_idle(10)
            held = state.by_sku[sku]["committed_stock"]
            order = raise_order(url, {sku: 4}, reference_number="#1002")
            invoiced = step(url, order, "invoice").json()["salesorder"]
            accounting = dict(state.by_sku[sku])
            shipped = step(url, order, "ship").json()["salesorder"]
            assert state.webhooks.wait_idle(10)

    def figures(item: dict[str, Any], prefix: str) -> tuple[float, float, float]:
        hand = "actual_available_stock" if prefix else "stock_on_hand"
        held = f"{prefix}committed_stock"
        return item[hand], item[held], item[f"{prefix}available_for_sale_stock"]

    assert (invoiced["status"], invoiced["invoiced_status"]) == ("confirmed", "invoiced")
    assert invoiced["shipped_status"] == "pending"
    assert figures(accounting, "") == (16, held, 16 - held)
    assert accounting["available_stock"] == 16
    assert figures(accounting, "actual_") == (20, held + 4, 16 - held)
    assert (shipped["status"], shipped["shipped_status"]) == ("closed", "shipped")
    assert figures(state.by_sku[sku], "actual_") == (16, held, 16 - held)
    # Only the stock change sent the item's webhook: an invoice or a shipment is a record
    # of another module, which an item workflow rule does not hear of (INFERRED); both
    # stamp the item's `last_modified_time`, which the change feed reads
    # (tests/sandbox/test_zoho_movements.py).
    assert [body["item"]["stock_on_hand"] for body in received] == [20]


def test_steps_an_order_cannot_take_are_refused(zoho: tuple[str, ZohoState]) -> None:
    url, state = zoho
    sku = "SKU-000012"
    before = dict(state.by_sku[sku])
    draft = raise_order(url, {sku: 1}, status="draft")
    shipped = raise_order(url, {sku: 1})
    step(url, shipped, "ship")

    refused = [
        step(url, draft, "invoice"),
        step(url, draft, "ship"),
        step(url, shipped, "ship"),
        step(url, shipped, "void"),
        step(url, shipped, "confirm"),
    ]
    service = raise_order(url, {"SERVICE-FEE": 1, sku: 0})
    inactive = requests.post(f"{url}/_sandbox/salesorders", json={"OLD-000001": 1}, timeout=10)
    unknown = step(url, {"salesorder_id": "1"}, "confirm")
    bad_step = step(url, draft, "close")
    bad_status = requests.post(
        f"{url}/_sandbox/salesorders", params={"status": "closed"}, json={sku: 1}, timeout=10
    )

    assert [answer.status_code for answer in refused] == [409] * 5
    assert step(url, service, "invoice").json()["salesorder"]["invoiced_status"] == "invoiced"
    assert (inactive.status_code, inactive.json()) == (
        400,
        {"error": "inactive items cannot be ordered: OLD-000001"},
    )
    assert "cannot void SO-00002" in refused[3].json()["error"]
    assert (unknown.status_code, bad_step.status_code, bad_status.status_code) == (404, 404, 400)
    assert state.by_sku[sku]["actual_available_stock"] == before["actual_available_stock"] - 1
    assert state.by_sku[sku]["stock_on_hand"] == before["stock_on_hand"]
    assert state.by_sku[sku]["committed_stock"] == before["committed_stock"] + 1


def test_sales_orders_list_by_reference_number_with_headers_only(
    zoho: tuple[str, ZohoState],
) -> None:
    url, state = zoho
    raise_order(url, {"SKU-000001": 1}, reference_number="1001")
    raise_order(url, {"SKU-000002": 1}, reference_number="1001", status="draft")
    raise_order(url, {"SKU-000003": 1}, reference_number="10011")
    token = state.mint_token() or ""

    body = sales_orders(url, token, reference_number="1001").json()
    unauthorised = requests.get(
        f"{url}/inventory/v1/salesorders", params={"organization_id": ORG}, timeout=10
    )

    assert (body["code"], body["message"]) == (0, "success")
    assert [o["status"] for o in body["salesorders"]] == ["confirmed", "draft"]
    assert set(body["salesorders"][0]) == set(HEADER)  # no line items in a list
    assert body["page_context"]["has_more_page"] is False
    assert sales_orders(url, token, reference_number="none").json()["salesorders"] == []
    assert len(sales_orders(url, token).json()["salesorders"]) == 3
    assert unauthorised.status_code == 401


def test_sku_filter_and_single_item(zoho: tuple[str, ZohoState]) -> None:
    url, state = zoho
    token = state.mint_token() or ""
    headers = {"Authorization": f"Zoho-oauthtoken {token}"}

    [found] = items(url, token, sku="SKU-000321").json()["items"]
    one = requests.get(
        f"{url}/inventory/v1/items/{found['item_id']}",
        params={"organization_id": ORG},
        headers=headers,
        timeout=10,
    )
    missing = requests.get(
        f"{url}/inventory/v1/items/1", params={"organization_id": ORG}, headers=headers, timeout=10
    )

    assert items(url, token, sku="NOPE").json()["items"] == []
    assert one.json()["item"] == found
    assert missing.status_code == 404


def test_stock_change_posts_the_item_with_the_secret_header() -> None:
    received: list[tuple[str | None, dict[str, Any]]] = []

    def endpoint(environ: dict[str, Any], start_response: Any) -> Any:
        request = Request(environ)
        received.append((request.headers.get("X-Zoho-Webhook-Token"), json.loads(request.data)))
        return Response("ok")(environ, start_response)

    with running(endpoint) as hook_url:
        app = create_app(SandboxConfig(items=10, webhook_url=hook_url, webhook_secret="tok"))
        state = app.config["SANDBOX_STATE"]
        with running(app) as url:
            requests.post(f"{url}/_sandbox/stock", json={"SKU-000003": 17}, timeout=10)
            assert state.webhooks.wait_idle(10)

    [(secret, body)] = received
    assert secret == "tok"
    assert body["item"]["sku"] == "SKU-000003"
    assert body["item"]["stock_on_hand"] == 17
    committed = body["item"]["committed_stock"]
    assert body["item"]["available_for_sale_stock"] == 17 - committed
    assert body["item"]["item_id"] == state.by_sku["SKU-000003"]["item_id"]
    assert state.stock()["SKU-000003"] == 17


def test_an_inactive_item_stays_readable_and_a_deleted_one_is_gone() -> None:
    received: list[dict[str, Any]] = []

    def endpoint(environ: dict[str, Any], start_response: Any) -> Any:
        received.append(json.loads(Request(environ).data))
        return Response("ok")(environ, start_response)

    with running(endpoint) as hook_url:
        app = create_app(SandboxConfig(items=10, webhook_url=hook_url, webhook_secret="tok"))
        state = app.config["SANDBOX_STATE"]
        with running(app) as url:
            gone_id = state.item_id("SKU-000004")
            stock = state.stock()["SKU-000003"]
            state.deactivate("SKU-000003")
            state.delete("SKU-000004")
            assert state.webhooks.wait_idle(10)
            token = state.mint_token() or ""
            [inactive] = items(url, token, sku="SKU-000003").json()["items"]
            missing = requests.get(
                f"{url}/inventory/v1/items/{gone_id}",
                params={"organization_id": ORG},
                headers={"Authorization": f"Zoho-oauthtoken {token}"},
                timeout=10,
            )

    assert [body["item"]["status"] for body in received] == ["inactive"]
    assert inactive["status"] == "inactive" and inactive["stock_on_hand"] == stock
    assert missing.status_code == 404
    assert "SKU-000003" not in state.stock() and "SKU-000004" not in state.by_sku


def test_injected_429_answers_with_retry_after(zoho: tuple[str, ZohoState]) -> None:
    url, state = zoho
    token = state.mint_token() or ""
    state.set_faults(share_429=1.0)

    answer = items(url, token)

    assert answer.status_code == 429
    assert answer.headers["Retry-After"] == "1"
    assert isinstance(answer.json()["code"], int)


def _sums_hold(item: dict[str, Any]) -> None:
    """Every item-level stock figure is the sum of its `location_` twins."""
    for field in [name for name in item if "stock" in name]:
        assert item[field] == sum(place[f"location_{field}"] for place in item["locations"])


def test_locations_are_listed_and_items_spread_over_them(zoho: tuple[str, ZohoState]) -> None:
    url, state = zoho
    token = state.mint_token() or ""
    answer = requests.get(
        f"{url}/inventory/v1/locations",
        params={"organization_id": ORG},
        headers={"Authorization": f"Zoho-oauthtoken {token}"},
        timeout=10,
    ).json()
    listed = items(url, token, per_page=200).json()["items"]

    ids = [place["location_id"] for place in answer["locations"]]
    assert answer["code"] == 0 and len(set(ids)) == 3
    assert [place["is_primary"] for place in answer["locations"]] == [True, False, False]
    stocked = [item for item in listed if "stock_on_hand" in item]
    for item in stocked:
        assert [place["location_id"] for place in item["locations"]] == ids
        _sums_hold(item)
    # Stock really is spread: every warehouse holds some, so a mapping matters.
    for index in range(3):
        assert any(item["locations"][index]["location_stock_on_hand"] for item in stocked)
    assert "locations" not in state.by_sku["SERVICE-FEE"]


def test_adjustments_and_sales_orders_keep_the_locations_summing(
    zoho: tuple[str, ZohoState],
) -> None:
    url, state = zoho
    sku = "SKU-000009"
    item = state.by_sku[sku]
    primary, east, depot = item["locations"]
    others = (east["location_stock_on_hand"], depot["location_stock_on_hand"])

    state.set_stock({sku: sum(others) + 30})  # a rise lands at the primary warehouse
    risen = primary["location_stock_on_hand"]
    state.set_stock({sku: 1})  # a fall is taken from the primary first, none below 0
    fallen = [place["location_stock_on_hand"] for place in item["locations"]]
    state.set_stock({sku: 40})
    order = raise_order(url, {sku: 2}, location_id=east["location_id"])
    east_committed = east["location_committed_stock"]
    step(url, order, "invoice")
    bad = requests.post(
        f"{url}/_sandbox/salesorders", params={"location_id": "nowhere"}, json={sku: 1}, timeout=10
    )

    assert risen == 30
    assert fallen[0] == 0 and min(fallen) >= 0 and sum(fallen) == 1
    assert order["line_items"][0]["location_id"] == east["location_id"]
    assert east_committed == 2 and east["location_committed_stock"] == 0
    assert east["location_stock_on_hand"] == east["location_actual_available_stock"] - 2
    assert bad.status_code == 400
    _sums_hold(item)


def test_sales_orders_sort_by_last_modified_time(zoho: tuple[str, ZohoState]) -> None:
    url, state = zoho
    orders = [raise_order(url, {"SKU-000001": 1}, reference_number=f"30{n}") for n in range(3)]
    with state.lock:  # modified in the order 301, 300, 302
        for order, stamp in zip(orders, ("02", "01", "03"), strict=True):
            state.sales_orders.by_id[order["salesorder_id"]]["last_modified_time"] = (
                f"2026-12-{stamp}T10:00:00+0000"
            )
    token = state.mint_token() or ""

    newest = sales_orders(url, token, sort_column="last_modified_time", sort_order="D").json()
    oldest = sales_orders(url, token, sort_column="last_modified_time").json()
    created_last = sales_orders(url, token, sort_order="D").json()
    refused = sales_orders(url, token, sort_column="reference_number")

    assert [o["reference_number"] for o in newest["salesorders"]] == ["302", "300", "301"]
    assert (newest["page_context"]["sort_column"], newest["page_context"]["sort_order"]) == (
        "last_modified_time",
        "D",
    )
    assert [o["reference_number"] for o in oldest["salesorders"]] == ["301", "300", "302"]
    assert [o["reference_number"] for o in created_last["salesorders"]] == ["302", "301", "300"]
    assert refused.status_code == 400
