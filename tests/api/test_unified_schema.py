"""The unified endpoint's body rules, one case each, without HTTP or a database."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest

from api.unified_schema import Invalid, parse_body

LINE = {"id": 1, "sku": "a", "quantity": 1, "price": "1"}
ORDER = {"id": 1, "status": "paid", "total": "1", "line_items": [LINE]}


#: The contract's example order (its `items: [...]` with one line as the plugin sends it).
SPEC_LINE = {
    "wc_item_id": 9,
    "wc_product_id": 5,
    "product_name": "Mug",
    "sku": "m-1",
    "quantity": 2,
}
SPEC_ORDER = {
    "wc_order_id": 1001,
    "date_created": "2026-01-15T10:30:00Z",
    "status": "completed",
    "total": 99.99,
    "items": [SPEC_LINE | {"subtotal": 99.99, "total": 99.99}],
}


def body(resource: Any, data: Any, action: str = "updated") -> bytes:
    return json.dumps({"resource": resource, "action": action, "data": data}).encode()


def order(**overrides: Any) -> dict[str, Any]:
    return ORDER | overrides


INVALID = [
    (b"{not json", "body: must be a JSON document"),
    (b'{"resource": "order", "action": "updated", "data": NaN}', "body: must be a JSON"),
    (b"\xff\xfe\x00", "body: must be a JSON document"),
    (b'{"a": ' + b"9" * 5000 + b"}", "body: must be a JSON document"),
    (b"[1, 2]", "body: must be a JSON object"),
    (b'{"action": "updated", "data": {}}', "resource: is required"),
    (
        body("invoice", {}),
        "resource: invalid resource type: invoice; must be one of category, customer, order",
    ),
    (body(["order"], {}), "resource: invalid resource type; must be one of"),
    (body("x" * 41, {}), "resource: invalid resource type; must be one of"),
    (body("order\n", {}), "resource: invalid resource type; must be one of"),
    (body("order", {}, action="deleted"), "action: invalid action: deleted; must be one of"),
    (b'{"resource": "order", "action": "created"}', "data: is required"),
    (body("order", []), "data: must be an object or a list of 1 to 1000 objects"),
    (body("order", "x"), "data: must be an object or a list"),
    (body("category", [{"id": 1, "name": "x"}] * 1001), "data: must be an object or a list"),
    (body("order", [ORDER, 5]), "data[1]: must be an object"),
    (body("order", [ORDER, order(status=None)]), "data[1].status: must be a string"),
    (body("order", order(status=" ")), "data.status: must not be empty"),
    (body("order", {k: v for k, v in ORDER.items() if k != "status"}), "data.status: is required"),
    (body("order", order(number="n" * 101)), "data.number: must be at most 100 characters"),
    (body("order", order(total=True)), "data.total: must be a decimal string or a number"),
    (body("order", order(total=None)), "data.total: must be a decimal string or a number"),
    (body("order", order(total="ten")), "data.total: must be a decimal string or a number"),
    (body("order", order(total="NaN")), "data.total: must be a finite amount"),
    (body("order", order(total="1e15")), "data.total: must be a finite amount"),
    (body("order", order(total="99999999999999.99995")), "data.total: must be a finite amount"),
    (body("order", order(updated_at="yesterday")), "data.updated_at: must be an ISO 8601"),
    (body("order", order(created_at=1700000000)), "data.created_at: must be an ISO 8601"),
    (body("order", order(line_items={})), "data.line_items: must be a list"),
    (body("order", order(line_items=[LINE | {"quantity": -1}])), "data.line_items[0].quantity"),
    (
        body("order", order(line_items=[LINE | {"quantity": "2"}])),
        "data.line_items[0].quantity: must be an integer",
    ),
    (body("order", order(line_items=[LINE, LINE | {"id": "1"}])), "data.line_items[1].id: is a"),
    (body("order", order(line_items=[{"id": 1, "sku": "a"}])), "data.line_items[0].quantity: is"),
    (body("customer", [{"id": 1, "email": "a@b.c"}, {"id": 2}]), "data[1].email: is required"),
    (body("customer", {"id": 1, "email": 5}), "data.email: must be a string"),
    (body("category", {"id": 1, "name": "x" * 201}), "data.name: must be at most 200 characters"),
    (body("category", {"id": "", "name": "x"}), "data.id: must be a non-empty string"),
    (body("category", {"id": "i" * 101, "name": "x"}), "data.id: must be at most 100"),
    (body("product", {"id": True, "sku": "a"}), "data.id: must be a non-empty string"),
    (body("product", {"id": 1, "sku": 5}), "data.sku: must be a string or null"),
    (body("product", {"id": 1, "sku": "a", "stock_quantity": 1.5}), "data.stock_quantity"),
    (body("product", {"id": 1, "sku": "a", "stock_quantity": 2**31}), "data.stock_quantity"),
    (body("product", {"id": 1, "sku": "a", "manage_stock": "yes"}), "data.manage_stock"),
    (body("product", {"id": 1, "sku": "a", "parent_id": False}), "data.parent_id: must be"),
    (body("category", {"id": 1, "name": "a\x00b"}), "data.name: must not contain NUL"),
    (body("category", {"id": 1, "name": "a", "x\x00": 1}), "data (a key): must not contain NUL"),
    (b'{"resource": "order", "action": "created", "data": "\\ud800"}', "data: must be valid"),
    (
        b'{"resource": "order", "action": "created", "data": {"t": 1e400}}',
        "body: must be a JSON document (number out of range",
    ),
    (body("order", order(meta=json.loads("[" * 40 + "]" * 40))), "data.meta[0][0][0]"),
    # The plugin's names: the message says the name as sent, and which two clash.
    (body("order", SPEC_ORDER | {"id": 1001}), "data.wc_order_id: and id are the same field"),
    (body("order", {"status": "x", "total": 1, "items": []}), "data.id: is required (or wc_or"),
    (body("order", SPEC_ORDER | {"wc_order_id": 0.5}), "data.wc_order_id: must be a non-empty"),
    (body("order", SPEC_ORDER | {"date_created": "soon"}), "data.date_created: must be an ISO"),
    (
        body("order", SPEC_ORDER | {"date_modified": "9999-12-31T23:00:00-05:00"}),
        "data.date_modified: must be a date-time from 0001-01-02 to before 9999-12-31",
    ),
    (
        body("order", SPEC_ORDER | {"date_created": "0001-01-01T00:00:00+01:00"}),
        "data.date_created: must be a",
    ),
    (body("ann@example.com", {}), "resource: invalid resource type; must be one of"),
    (body("order", SPEC_ORDER | {"items": [{"sku": "a"}]}), "data.items[0].quantity: is req"),
    (
        body("order", SPEC_ORDER | {"items": [SPEC_LINE, SPEC_LINE]}),
        "data.items[1].id: is a duplicate",
    ),
    (body("product", {"wc_product_id": 1, "sku": "a", "price": "x"}), "data.price: must be a"),
    (body("customer", {"wc_customer_id": [], "email": "a@b.c"}), "data.wc_customer_id: must"),
    (body("category", {"wc_category_id": 2, "name": ""}), "data.name: must not be empty"),
]


@pytest.mark.parametrize(("raw", "expected"), INVALID)
def test_each_rule_names_the_field(raw: bytes, expected: str) -> None:
    with pytest.raises(Invalid) as refused:
        parse_body(raw)
    assert str(refused.value).startswith(expected)


def test_values_are_parsed_into_what_the_columns_hold() -> None:
    data = order(
        id=7,
        total=12.5,
        customer_id=0,
        updated_at="2026-11-20T10:00:00",
        created_at="2026-11-20T10:00:00+02:00",
        line_items=[LINE | {"price": "0.00005", "id": " x "}],
        extra={"kept": True},
    )
    request = parse_body(body("order", data, action="created"))
    assert (request.resource, request.action) == ("order", "created")
    [entry] = request.entries
    fields = entry.fields
    assert fields["id"] == "7"
    assert fields["total"] == Decimal("12.5000")
    assert fields["customer_id"] is None  # WooCommerce's guest customer
    assert fields["updated_at"] == datetime(2026, 11, 20, 10, tzinfo=UTC)
    assert fields["created_at"].utcoffset().total_seconds() == 7200
    assert fields["line_items"][0]["price"] == Decimal("0.0000")
    assert fields["line_items"][0]["id"] == "x"
    assert "number" not in fields  # absent stays absent: "unknown", not "null"
    assert entry.raw["extra"] == {"kept": True}


def test_optional_fields_may_be_null_and_skus_may_be_anything() -> None:
    product = {"id": "gid://1", "sku": None, "stock_quantity": None, "name": None}
    [entry] = parse_body(body("product", product)).entries
    assert entry.fields == {"id": "gid://1", "sku": None, "stock_quantity": None, "name": None}
    [entry] = parse_body(body("product", {"id": 1, "sku": "x" * 500})).entries
    assert entry.fields["sku"] == "x" * 500  # unusable, but skipped later, not refused


def test_the_plugins_names_are_read_as_ours() -> None:
    [entry] = parse_body(body("order", SPEC_ORDER, action="created")).entries
    line = entry.fields["line_items"][0]
    assert (entry.fields["id"], entry.fields["total"]) == ("1001", Decimal("99.9900"))
    assert entry.fields["created_at"] == datetime(2026, 1, 15, 10, 30, tzinfo=UTC)
    assert (line["id"], line["product_id"], line["name"]) == ("9", "5", "Mug")
    assert (line["quantity"], line["total"], "price" not in line) == (2, Decimal("99.99"), True)
    assert entry.raw is not None and entry.raw["items"][0]["subtotal"] == 99.99
    product = {"wc_product_id": 5, "sku": "", "price": None, "date_modified": "2026-01-15"}
    [entry] = parse_body(body("product", product)).entries
    assert entry.fields == {
        "id": "5",
        "sku": "",
        "price": None,
        "updated_at": datetime(2026, 1, 15, tzinfo=UTC),
    }


def test_lines_without_ids_are_not_duplicates_of_each_other() -> None:
    lines = [{"sku": "a", "quantity": 1}, {"sku": "b", "quantity": 1}]
    [entry] = parse_body(body("order", order(line_items=lines))).entries
    assert [line.get("id") for line in entry.fields["line_items"]] == [None, None]
