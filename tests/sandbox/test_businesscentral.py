"""The Business Central sandbox speaks API v2.0: Entra tokens, OData paging, webhooks."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest
import requests

from sandbox.accounts import DEFAULTS
from sandbox.base import SandboxConfig
from sandbox.businesscentral import create_app
from sandbox.catalog import erp_quantity
from sandbox.server import running
from tests.support.businesscentral import BC, TENANT, Receiver, import_order, ship


@pytest.fixture
def bc() -> Iterator[BC]:
    app = create_app(SandboxConfig(items=25, seed=1))
    with running(app) as url:
        yield BC(url, app.config["SANDBOX_STATE"])


@pytest.fixture
def receiver() -> Iterator[tuple[str, Receiver]]:
    endpoint = Receiver(echo=True)
    with running(endpoint) as url:
        yield f"{url}/hooks/bc", endpoint


def test_token_endpoint_checks_the_client_credentials(bc: BC) -> None:
    form = {
        "grant_type": "client_credentials",
        "client_id": DEFAULTS["businesscentral"].sandbox["client_id"],
        "client_secret": DEFAULTS["businesscentral"].sandbox["client_secret"],
        "scope": "https://api.businesscentral.dynamics.com/.default",
    }
    token_url = f"{bc.url}/{TENANT}/oauth2/v2.0/token"

    good = requests.post(token_url, data=form, timeout=10)
    bad = requests.post(token_url, data=form | {"client_secret": "x"}, timeout=10)
    scope = requests.post(token_url, data=form | {"scope": "api://other/.default"}, timeout=10)

    assert good.status_code == 200
    assert good.json()["token_type"] == "Bearer" and good.json()["expires_in"] == 3599
    assert (bad.status_code, bad.json()["error"]) == (401, "invalid_client")
    assert (scope.status_code, scope.json()["error"]) == (400, "invalid_scope")


def test_api_calls_need_a_valid_bearer_token(bc: BC) -> None:
    missing = requests.get(bc.items, timeout=10)
    bc.state.tokens.revoke_all()
    revoked = bc.get(bc.items)

    for answer in (missing, revoked):
        assert answer.status_code == 401
        assert answer.json()["error"]["code"] == "Authentication_InvalidCredentials"


def test_companies_and_items_carry_odata_metadata(bc: BC) -> None:
    companies = bc.get(f"{bc.api}/companies").json()
    items = bc.get(bc.items).json()

    assert companies["value"][0]["id"] == bc.state.company_id
    assert items["@odata.context"].endswith(f"$metadata#companies({bc.state.company_id})/items")
    assert len(items["value"]) == 27  # 25 stocked items, a service and a blocked item
    first = items["value"][0]
    assert first["@odata.etag"].startswith('W/"')
    assert {"id", "number", "type", "blocked", "inventory"} <= first.keys()
    assert isinstance(first["inventory"], float)


def test_server_driven_paging_follows_next_links(bc: BC) -> None:
    url: str | None = f"{bc.items}?$select=number,inventory"
    numbers: list[str] = []
    while url:
        answer = bc.get(url, Prefer="odata.maxpagesize=10")
        assert answer.headers["Preference-Applied"] == "odata.maxpagesize=10"
        page = answer.json()
        assert len(page["value"]) <= 10
        assert all(set(row) == {"@odata.etag", "number", "inventory"} for row in page["value"])
        numbers += [row["number"] for row in page["value"]]
        url = page.get("@odata.nextLink")
        assert url is None or "$skiptoken=" in url

    assert numbers == sorted(bc.state.by_number)


def test_page_size_is_capped_at_20000() -> None:
    app = create_app(SandboxConfig(items=20_001))
    with running(app) as url:
        sandbox = BC(url, app.config["SANDBOX_STATE"])
        page = sandbox.get(f"{sandbox.items}?$select=number", Prefer="odata.maxpagesize=50000")
        default = sandbox.get(f"{sandbox.items}?$select=number&$top=20001").json()

    assert page.headers["Preference-Applied"] == "odata.maxpagesize=20000"
    assert len(page.json()["value"]) == 20_000 and "@odata.nextLink" in page.json()
    assert len(default["value"]) == 20_000 and "@odata.nextLink" in default


def test_filter_by_number_with_or_top_and_skip(bc: BC) -> None:
    clauses = " or ".join(f"number eq '{n}'" for n in ("SKU-000003", "SKU-000001", "O''NE"))
    found = bc.get(f"{bc.items}?$filter={clauses}").json()["value"]
    window = bc.get(f"{bc.items}?$top=2&$skip=3").json()["value"]

    assert [row["number"] for row in found] == ["SKU-000001", "SKU-000003"]
    assert found[0]["inventory"] == erp_quantity("SKU-000001", 1)
    assert [row["number"] for row in window] == sorted(bc.state.by_number)[3:5]


def test_filter_by_id_with_or_takes_unquoted_guids(bc: BC) -> None:
    first, third = bc.state.item_id("SKU-000001"), bc.state.item_id("SKU-000003")
    clauses = " or ".join(f"id eq {key}" for key in (third, first.upper(), str(uuid.uuid4())))
    found = bc.get(f"{bc.items}?$filter={clauses}").json()["value"]
    quoted = bc.get(f"{bc.items}?$filter=id eq '{first}'")

    assert [(row["number"], row["id"]) for row in found] == [
        ("SKU-000001", first),
        ("SKU-000003", third),
    ]
    assert quoted.status_code == 400 and quoted.json()["error"]["code"] == "BadRequest"


@pytest.mark.parametrize(
    "query",
    [
        "$filter=number eq 'A' or displayName eq 'B'",
        "$filter=id eq 00000000-0000-0000-0000-000000000000 or number eq 'A'",
        "$filter=number in ('A','B')",
        "$select=number,colour",
    ],
)
def test_unsupported_queries_are_odata_bad_requests(bc: BC, query: str) -> None:
    answer = bc.get(f"{bc.items}?{query}")

    assert answer.status_code == 400
    assert answer.json()["error"]["code"] == "BadRequest"


def test_an_imported_order_moves_no_stock_until_its_shipment_is_posted(
    bc: BC, receiver: tuple[str, Receiver]
) -> None:
    hook_url, endpoint = receiver
    bc.state.set_faults(webhook_url=hook_url, webhook_secret="s")
    company = f"{bc.api}/companies({bc.state.company_id})"
    item = dict(bc.state.by_number["SKU-000004"])

    order = import_order(bc, "#1001", {"SKU-000004": 3, "SKU-000005": 1})
    before = bc.state.stock()["SKU-000004"]
    lines = bc.get(f"{company}/salesOrders({order['id']})/salesOrderLines").json()["value"]
    posted = ship(bc, order)
    again = ship(bc, order)
    assert bc.state.webhooks.wait_idle(10)
    shipped = bc.get(f"{company}/salesOrders?$filter=externalDocumentNumber eq '%231001'")
    shipments = bc.get(f"{company}/salesShipments?$filter=externalDocumentNumber eq '%231001'")

    assert (order["status"], order["fullyShipped"], order["number"]) == (
        "Open",
        False,
        "S-ORD101001",
    )
    assert before == item["inventory"]
    assert [
        (line["lineObjectNumber"], line["quantity"], line["shippedQuantity"]) for line in lines
    ] == [
        ("SKU-000004", 3, 0),
        ("SKU-000005", 1, 0),
    ]
    assert lines[0]["itemId"] == item["id"]
    assert posted.status_code == 201 and again.status_code == 409
    [row] = shipped.json()["value"]
    assert row["fullyShipped"] is True
    [shipment] = shipments.json()["value"]
    assert shipment == posted.json()["salesShipment"] | {"@odata.etag": shipment["@odata.etag"]}
    assert (shipment["orderNumber"], shipment["externalDocumentNumber"]) == (
        order["number"],
        "#1001",
    )
    assert bc.state.stock()["SKU-000004"] == item["inventory"] - 3
    # A ledger movement: the item record, its timestamp and its subscribers see nothing.
    assert bc.state.by_number["SKU-000004"]["lastModifiedDateTime"] == item["lastModifiedDateTime"]
    assert endpoint.notifications == []


def test_sales_documents_filter_by_external_number_with_quotes(bc: BC) -> None:
    company = f"{bc.api}/companies({bc.state.company_id})"
    ship(bc, import_order(bc, "O'Brien", {"SKU-000001": 1}))
    ship(bc, import_order(bc, "1002", {"SKU-000001": 1}))
    import_order(bc, "1003", {"SKU-000002": 1})

    quoted = bc.get(f"{company}/salesShipments?$filter=externalDocumentNumber eq 'O''Brien'")
    either = bc.get(
        f"{company}/salesOrders?$filter=externalDocumentNumber eq '1003' or "
        "externalDocumentNumber eq '1002'&$select=number,externalDocumentNumber"
    )
    mixed = bc.get(f"{company}/salesOrders?$filter=number eq 'A' or externalDocumentNumber eq 'B'")
    unknown = requests.post(
        f"{bc.url}/_sandbox/salesorders",
        json={"externalDocumentNumber": "1", "lines": {"NOPE": 1}},
        timeout=10,
    )
    no_order = ship(bc, {"id": "nope"})
    unauthorised = requests.get(f"{company}/salesShipments", timeout=10)

    assert [row["externalDocumentNumber"] for row in quoted.json()["value"]] == ["O'Brien"]
    assert [(row["number"], row["externalDocumentNumber"]) for row in either.json()["value"]] == [
        ("S-ORD101002", "1002"),
        ("S-ORD101003", "1003"),
    ]
    assert mixed.status_code == 400 and mixed.json()["error"]["code"] == "BadRequest"
    assert unknown.json() == {"unknown": ["NOPE"]} and no_order.status_code == 404
    assert unauthorised.status_code == 401


def test_one_item_by_guid(bc: BC) -> None:
    row = bc.state.by_number["SKU-000007"]

    found = bc.get(f"{bc.items}({row['id']})").json()
    unknown = bc.get(f"{bc.items}(00000000-0000-0000-0000-000000000000)")

    assert (found["number"], found["inventory"]) == ("SKU-000007", row["inventory"])
    assert unknown.status_code == 404
    assert unknown.json()["error"]["code"] == "BadRequest_NotFound"


def _subscribe(bc: BC, url: str, client_state: str = "s3cret") -> requests.Response:
    body = {
        "notificationUrl": url,
        "resource": f"/api/v2.0/companies({bc.state.company_id})/items",
        "clientState": client_state,
    }
    return bc.send("POST", f"{bc.api}/subscriptions", body)


def test_subscription_needs_the_validation_token_echoed(
    bc: BC, receiver: tuple[str, Receiver]
) -> None:
    url, endpoint = receiver

    created = _subscribe(bc, url)

    assert created.status_code == 201
    assert len(endpoint.validations) == 1
    listed = bc.get(f"{bc.api}/subscriptions").json()["value"]
    assert [s["subscriptionId"] for s in listed] == [created.json()["subscriptionId"]]
    assert listed[0]["expirationDateTime"] > listed[0]["lastModifiedDateTime"]


def test_subscription_fails_when_the_receiver_does_not_echo(bc: BC) -> None:
    mute = Receiver(echo=False)
    with running(mute) as url:
        refused = _subscribe(bc, f"{url}/hooks")

    assert refused.status_code == 400
    assert len(mute.validations) == 1
    assert bc.get(f"{bc.api}/subscriptions").json()["value"] == []


def test_stock_change_notifies_with_client_state(bc: BC, receiver: tuple[str, Receiver]) -> None:
    url, endpoint = receiver
    subscription = _subscribe(bc, url).json()
    item_id = bc.state.by_number["SKU-000004"]["id"]

    bc.state.set_stock({"SKU-000004": 42})
    assert bc.state.webhooks.wait_idle(10)

    [notification] = endpoint.notifications[0]["value"]
    assert notification["subscriptionId"] == subscription["subscriptionId"]
    assert notification["clientState"] == "s3cret"
    assert notification["changeType"] == "updated"
    assert notification["resource"] == (
        f"api/v2.0/companies({bc.state.company_id})/items({item_id})"
    )
    assert (
        notification["lastModifiedDateTime"]
        == bc.state.by_number["SKU-000004"]["lastModifiedDateTime"]
    )
    assert bc.get(f"{bc.items}({item_id})").json()["inventory"] == 42.0


def _notice_of(bc: BC, receiver: tuple[str, Receiver], sku: str, retire: str) -> str:
    """Subscribe, retire `sku` with the state's `retire` method; the one notice's
    `changeType`, after checking it names the item."""
    url, endpoint = receiver
    _subscribe(bc, url)
    item_id = bc.state.item_id(sku)
    getattr(bc.state, retire)(sku)
    assert bc.state.webhooks.wait_idle(10)
    [notification] = endpoint.notifications[0]["value"]
    assert notification["resource"].endswith(f"items({item_id})")
    return str(notification["changeType"])


def test_blocking_an_item_keeps_it_listed_and_notifies_an_update(
    bc: BC, receiver: tuple[str, Receiver]
) -> None:
    change = _notice_of(bc, receiver, "SKU-000005", "block")

    assert change == "updated"
    assert bc.get(f"{bc.items}({bc.state.item_id('SKU-000005')})").json()["blocked"] is True
    assert "SKU-000005" not in bc.state.stock()


def test_deleting_an_item_makes_it_unknown_and_notifies_a_deletion(
    bc: BC, receiver: tuple[str, Receiver]
) -> None:
    item_id = bc.state.item_id("SKU-000006")

    change = _notice_of(bc, receiver, "SKU-000006", "delete")

    assert change == "deleted"
    assert bc.get(f"{bc.items}({item_id})").status_code == 404
    assert bc.get(f"{bc.items}?$filter=number eq 'SKU-000006'").json()["value"] == []


def test_configured_webhook_url_gets_the_secret_as_client_state(
    receiver: tuple[str, Receiver],
) -> None:
    url, endpoint = receiver
    app = create_app(SandboxConfig(items=5, webhook_url=url, webhook_secret="from-config"))
    state = app.config["SANDBOX_STATE"]
    with running(app) as base:
        requests.post(f"{base}/_sandbox/stock", json={"SKU-000002": 9}, timeout=10)
        assert state.webhooks.wait_idle(10)

    [notification] = endpoint.notifications[0]["value"]
    assert notification["clientState"] == "from-config"
    assert notification["resource"].endswith(f"items({state.by_number['SKU-000002']['id']})")


def test_renew_needs_if_match_and_repeats_the_handshake(
    bc: BC, receiver: tuple[str, Receiver]
) -> None:
    url, endpoint = receiver
    created = _subscribe(bc, url).json()
    one = f"{bc.api}/subscriptions('{created['subscriptionId']}')"

    without = bc.send("PATCH", one, {})
    stale = bc.send("PATCH", one, {}, **{"If-Match": 'W/"stale"'})
    renewed = bc.send("PATCH", one, {}, **{"If-Match": created["@odata.etag"]})

    assert (without.status_code, stale.status_code, renewed.status_code) == (400, 412, 200)
    assert renewed.json()["expirationDateTime"] > created["expirationDateTime"]
    assert len(endpoint.validations) == 2
    current = {"If-Match": renewed.json()["@odata.etag"]}
    assert bc.send("DELETE", one).status_code == 400  # If-Match is required here too
    assert bc.send("DELETE", one, **{"If-Match": created["@odata.etag"]}).status_code == 412
    assert bc.send("DELETE", one, **current).status_code == 204
    assert bc.send("DELETE", one, **current).status_code == 404
    assert bc.get(f"{bc.api}/subscriptions").json()["value"] == []


def test_injected_429_has_retry_after_and_an_odata_body(bc: BC) -> None:
    bc.state.set_faults(share_429=1.0)

    answer = bc.get(bc.items)

    assert answer.status_code == 429
    assert answer.headers["Retry-After"] == "1"
    assert answer.json()["error"]["code"] == "Application_TooManyRequests"


def test_sales_documents_filter_by_modified_since(bc: BC) -> None:
    company = f"{bc.api}/companies({bc.state.company_id})"
    first = ship(bc, import_order(bc, "2001", {"SKU-000001": 1})).json()["salesShipment"]
    ship(bc, import_order(bc, "2002", {"SKU-000001": 1}))
    stamp = first["lastModifiedDateTime"]

    def after(literal: str) -> requests.Response:
        return bc.get(f"{company}/salesShipments?$filter=lastModifiedDateTime gt {literal}")

    since_first = after(stamp).json()["value"]
    long_ago = after("2020-01-01T00:00:00Z").json()["value"]
    in_an_offset = after("2020-01-01T01:00:00%2B01:00").json()["value"]
    orders = bc.get(f"{company}/salesOrders?$filter=lastModifiedDateTime gt 2020-01-01T00:00Z")

    assert "2001" not in [row["externalDocumentNumber"] for row in since_first]
    assert [row["externalDocumentNumber"] for row in long_ago] == ["2001", "2002"]
    assert in_an_offset == long_ago
    assert len(orders.json()["value"]) == 2
    # A quoted literal is a string, which BC will not compare with a date-time.
    for bad in ("'2020-01-01T00:00:00Z'", "2020-01-01", "yesterday"):
        refused = after(bad)
        assert refused.status_code == 400 and refused.json()["error"]["code"] == "BadRequest"
