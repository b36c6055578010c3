"""`POST /api/sync/webhook` on real PostgreSQL: auth, validation, upserts, the sync log."""

from __future__ import annotations

import json
import logging
import random
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from decimal import Decimal
from typing import Any

import pytest
import requests
from flask.testing import FlaskClient
from sqlalchemy import select, text
from sqlalchemy.orm import Session, sessionmaker

from api.app import create_app
from api.bearer import bearer_token
from connectors.types import OrderState
from models import (
    Customer,
    EventKind,
    Item,
    Order,
    OrderLine,
    SyncRun,
    WebhookLog,
    WebhookStatus,
)
from models.commerce import email_hash_key, hash_email
from sandbox.server import running
from settings import Settings
from sync.api_keys import hash_api_key, new_api_key, verify_api_key
from sync.plugin_orders import snapshot_of
from tests.support.plugin_endpoint import URL, KeyedSite, body, push


def order(external_id: Any = 101, **overrides: Any) -> dict[str, Any]:
    record = {
        "id": external_id,
        "number": f"#{external_id}",
        "status": "processing",
        "currency": "EUR",
        "total": "30.00",
        "customer_id": 7,
        "updated_at": "2026-11-20T10:00:00Z",
        "billing": {"first_name": "Ann", "email": "ann@example.test"},
        "line_items": [
            {"id": 1, "sku": "abc-1", "quantity": 1, "price": "10.00"},
            {"id": 2, "sku": "abc-2", "quantity": 2, "price": 10},
        ],
    }
    return record | overrides


SAMPLES: dict[str, list[dict[str, Any]]] = {
    "order": [order(101), order(102)],
    "customer": [
        {"id": 7, "email": "ann@example.test", "first_name": "Ann"},
        {"id": 8, "email": "bob@example.test", "last_name": "B", "updated_at": "2026-11-20"},
    ],
    "category": [
        {"id": 3, "name": "Shoes", "slug": "shoes"},
        {"id": 4, "name": "Boots", "parent_id": 3},
    ],
    "product": [
        {"id": 11, "sku": "sku-1", "stock_quantity": 5, "manage_stock": True},
        {"id": 12, "sku": "sku-2", "parent_id": 10, "stock_quantity": 0},
    ],
}
KINDS = {
    "order": "orders",
    "customer": "customers",
    "category": "categories",
    "product": "products",
}


def runs(db: sessionmaker[Session]) -> list[SyncRun]:
    with db() as session:
        return list(session.scalars(select(SyncRun).order_by(SyncRun.id)))


# --- authentication ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("authorization", "event"),
    [
        (None, "unified.no_key"),
        ("Basic dXNlcjpwdw==", "unified.no_key"),
        ("Bearer ", "unified.no_key"),
        ("Bearer not-a-key-we-issued", "unified.unknown_key"),
    ],
)
def test_a_missing_or_unknown_key_is_401(
    client: FlaskClient,
    site: KeyedSite,
    caplog: pytest.LogCaptureFixture,
    authorization: str | None,
    event: str,
) -> None:
    headers = {"Authorization": authorization} if authorization else {}
    with caplog.at_level(logging.WARNING, logger="api.unified"):
        response = client.post(URL, json=body("order", order()), headers=headers)
    assert response.status_code == 401
    assert response.json["success"] is False
    assert response.json["error"]["code"] == "UNAUTHORIZED"
    assert response.headers["WWW-Authenticate"].startswith("Bearer")
    assert event in caplog.messages


def test_the_scheme_is_case_insensitive(client: FlaskClient, site: KeyedSite) -> None:
    headers = {"Authorization": f"bearer {site.key}"}
    response = client.post(URL, json=body("category", {"id": 1, "name": "x"}), headers=headers)
    assert response.status_code == 200


def test_an_inactive_site_is_403(
    client: FlaskClient, make_keyed_site: Callable[..., KeyedSite], db: sessionmaker[Session]
) -> None:
    response = push(client, make_keyed_site(active=False), body("order", order()))
    assert response.status_code == 403
    assert response.json["error"]["code"] == "FORBIDDEN"
    assert runs(db) == []


def test_api_keys_are_random_and_verified_by_their_hash() -> None:
    key = new_api_key()
    assert len(key) >= 43 and key != new_api_key()
    digest = hash_api_key(key)
    assert len(digest) == 64 and key not in digest
    assert verify_api_key(key, digest)
    assert not verify_api_key(key + "x", digest)
    assert bearer_token(f"  Bearer   {key} ") == key
    assert bearer_token("Bearer " + "x" * 201) is None


# --- validation ----------------------------------------------------------------------

#: One case per kind of refusal; every rule is covered in test_unified_schema.py.
INVALID = [
    (b"{not json", "body: must be a JSON document"),
    (
        body("invoice", {}),
        "resource: invalid resource type: invoice; must be one of category, customer, order",
    ),
    (body("order", {}, action="deleted"), "action: invalid action: deleted; must be one of"),
    (body("customer", [{"id": 1, "email": "a@b.c"}, {"id": 2}]), "data[1].email: is required"),
    (body("order", order(total=True)), "data.total: must be a decimal string or a number"),
    (
        body("order", order(line_items=[{"id": 1, "sku": "a", "quantity": -1, "price": 1}])),
        "data.line_items[0].quantity: must be an integer from 0",
    ),
]


@pytest.mark.parametrize(("payload", "expected"), INVALID)
def test_a_bad_body_is_400_naming_the_field(
    client: FlaskClient, site: KeyedSite, payload: Any, expected: str
) -> None:
    response = push(client, site, payload)
    assert response.status_code == 400, response.json
    assert response.json["success"] is False
    assert response.json["error"]["code"] == "VALIDATION_ERROR"
    assert response.json["error"]["message"].startswith(expected)


def test_a_refused_body_writes_nothing(
    client: FlaskClient, site: KeyedSite, db: sessionmaker[Session]
) -> None:
    bad = [order(201), order(202, total="ten")]
    assert push(client, site, body("order", bad)).status_code == 400
    with db() as session:
        assert session.scalars(select(Order)).all() == []
    assert runs(db) == []


def test_a_body_over_the_limit_is_413_in_the_same_shape(
    settings: Settings, site: KeyedSite
) -> None:
    client = create_app(replace(settings, max_webhook_body_bytes=2048)).test_client()
    big = body("category", [{"id": i, "name": "x" * 100} for i in range(40)])
    response = push(client, site, big)
    assert response.status_code == 413
    assert response.json == {
        "success": False,
        "error": {"code": "PAYLOAD_TOO_LARGE", "message": "the body is larger than 2048 bytes"},
    }


# --- upserts and the sync log ----------------------------------------------------------


@pytest.mark.parametrize("resource", sorted(SAMPLES))
def test_each_resource_is_stored_and_logged(
    client: FlaskClient, site: KeyedSite, db: sessionmaker[Session], resource: str
) -> None:
    response = push(client, site, body(resource, SAMPLES[resource], action="created"))
    assert response.status_code == 200, response.json
    data = response.json["data"]
    assert response.json["success"] is True
    assert (data["syncedCount"], data["skippedCount"]) == (2, 0)
    [run] = runs(db)
    assert data["syncLogId"] == str(run.log_id)
    assert (run.site_id, run.kind, run.trigger, run.status) == (
        site.id,
        f"webhook:{KINDS[resource]}",
        "webhook",
        "completed",
    )
    assert (run.total, run.synced, run.skipped) == (2, 2, 0)
    assert run.started_at is not None and run.finished_at is not None
    assert run.started_at <= run.finished_at
    table = {"product": "items"}.get(resource, KINDS[resource])
    with db() as session:
        count = session.execute(
            text(f"SELECT count(*) FROM {table} WHERE site_id = :site"), {"site": site.id}
        ).scalar_one()
    assert count == 2


def test_a_single_object_is_one_record(client: FlaskClient, site: KeyedSite) -> None:
    response = push(client, site, body("customer", SAMPLES["customer"][0]))
    assert response.json["data"]["syncedCount"] == 1


@pytest.mark.parametrize("resource", sorted(SAMPLES))
def test_the_same_body_twice_is_skipped_the_second_time(
    client: FlaskClient, site: KeyedSite, db: sessionmaker[Session], resource: str
) -> None:
    first = push(client, site, body(resource, SAMPLES[resource])).json["data"]
    second = push(client, site, body(resource, SAMPLES[resource])).json["data"]
    assert (second["syncedCount"], second["skippedCount"]) == (0, 2)
    assert second["syncLogId"] != first["syncLogId"]
    assert [(r.synced, r.skipped, r.unchanged) for r in runs(db)] == [(2, 0, 0), (0, 2, 2)]


def stored_order(db: sessionmaker[Session], site_id: int, external_id: str) -> Order:
    with db() as session:
        return session.scalars(
            select(Order).where(Order.site_id == site_id, Order.external_id == external_id)
        ).one()


def test_an_older_update_does_not_overwrite_a_newer_one(
    client: FlaskClient, site: KeyedSite, db: sessionmaker[Session]
) -> None:
    newer = order(5, status="completed", updated_at="2026-11-20T12:00:00+00:00")
    older = order(5, status="processing", updated_at="2026-11-20T11:59:59Z")
    assert push(client, site, body("order", newer)).json["data"]["syncedCount"] == 1
    late = push(client, site, body("order", older)).json["data"]
    assert (late["syncedCount"], late["skippedCount"]) == (0, 1)
    assert stored_order(db, site.id, "5").status == "completed"
    # Without a timestamp the plugin cannot be ordered: the update applies, the time stays.
    undated = {k: v for k, v in order(5, status="refunded").items() if k != "updated_at"}
    assert push(client, site, body("order", undated)).json["data"]["syncedCount"] == 1
    stored = stored_order(db, site.id, "5")
    assert stored.status == "refunded"
    assert stored.source_updated_at is not None
    assert stored.source_updated_at.isoformat() == "2026-11-20T12:00:00+00:00"


def test_the_newest_of_repeated_records_in_one_request_wins(
    client: FlaskClient, site: KeyedSite, db: sessionmaker[Session]
) -> None:
    records = [
        order(6, status="b", updated_at="2026-11-20T12:00:00Z"),
        order(6, status="a", updated_at="2026-11-20T11:00:00Z"),
    ]
    data = push(client, site, body("order", records)).json["data"]
    assert (data["syncedCount"], data["skippedCount"]) == (1, 1)
    assert stored_order(db, site.id, "6").status == "b"


def lines(db: sessionmaker[Session], site_id: int) -> list[tuple[str, str | None, int, Decimal]]:
    with db() as session:
        rows = session.execute(
            select(OrderLine.external_id, OrderLine.sku, OrderLine.quantity, OrderLine.price)
            .where(OrderLine.site_id == site_id)
            .order_by(OrderLine.external_id)
        )
        return [tuple(row) for row in rows]  # type: ignore[misc]


def test_an_updated_order_replaces_its_lines(
    client: FlaskClient, site: KeyedSite, db: sessionmaker[Session]
) -> None:
    push(client, site, body("order", order(7)))
    assert lines(db, site.id) == [
        ("1", "ABC-1", 1, Decimal("10.0000")),
        ("2", "ABC-2", 2, Decimal("10.0000")),
    ]
    changed = [
        {"id": 2, "sku": "abc-2", "quantity": 3, "price": "9.5"},
        {"id": 3, "sku": "", "quantity": 0, "price": 0},
    ]
    update = order(7, line_items=changed, updated_at="2026-11-21T00:00:00Z")
    assert push(client, site, body("order", update)).json["data"]["syncedCount"] == 1
    assert lines(db, site.id) == [("2", "ABC-2", 3, Decimal("9.5000")), ("3", None, 0, Decimal(0))]


def test_an_email_is_never_stored_in_clear(
    client: FlaskClient, site: KeyedSite, db: sessionmaker[Session], settings: Settings
) -> None:
    address = "Ann.Secret@Example.TEST"
    customer = {
        "id": 9,
        "email": f"  {address} ",
        "first_name": "Ann",
        "billing": {"email": address, "city": "Ghent"},
        "meta": [{"contact_email": address}],
    }
    assert push(client, site, body("customer", customer)).status_code == 200
    assert push(client, site, body("order", order(8, billing={"email": address}))).json["success"]
    product = {"id": 3, "sku": "p-1", "description": f"ask {address}"}
    assert push(client, site, body("product", product)).json["success"]
    tables = ("customers", "orders", "order_lines", "sync_runs", "items", "categories")
    with db() as session:
        for table in (*tables, "products", "webhook_log"):
            dump = session.execute(
                text(f"SELECT coalesce(string_agg(t::text, ''), '') FROM {table} t")
            )
            assert "secret@example" not in dump.scalar_one().lower(), table
        stored = session.scalars(select(Customer)).one()
    key = email_hash_key(settings.encryption_keys[0])
    assert stored.email_hash == hash_email(key, "ann.secret@example.test")
    assert stored.raw["billing"] == {"city": "Ghent"} and stored.raw["first_name"] == "Ann"


def test_an_email_under_any_key_or_in_free_text_is_never_stored(
    base_url: str, site: KeyedSite, db: sessionmaker[Session]
) -> None:
    """Issue 19 item 5: addresses survived under `username`, `E-Mail`, `mail`, a
    `billing_email` meta entry and free text, whatever the key's name."""
    addresses = [f"ann.{n}@example.test" for n in range(8)] + ["Bob%40Example.test"]
    customer = {
        "id": 9,
        "email": "ann.0@example.test",
        "username": addresses[1],
        "E-Mail": addresses[2],
        "billing": {"mail": addresses[3], "city": "Ghent"},
        "meta_data": [{"key": "billing_email", "value": addresses[4]}],
    }
    note = f"Call me, or write to <{addresses[5]}>; cc {addresses[6]}, {addresses[8]}."
    record = order(8, customer_note=note, notes=[[{"text": f"mailto:{addresses[7]}"}]])
    headers = {"Authorization": f"Bearer {site.key}"}
    for resource, data in (("customer", customer), ("order", record)):
        answer = requests.post(
            base_url + URL, json=body(resource, data), headers=headers, timeout=10
        )
        assert answer.status_code == 200, answer.text
    with db() as session:
        dump = " ".join(
            session.execute(text(f"SELECT coalesce(string_agg(t::text, ''), '') FROM {t} t"))
            .scalar_one()
            .lower()
            for t in ("customers", "orders", "order_lines", "sync_runs")
        )
        stored = session.scalars(select(Order)).one()
    for address in addresses:
        assert address.lower() not in dump
    assert "@example" not in dump and "%40example" not in dump
    assert stored.raw["customer_note"].startswith("Call me, or write to <")  # the rest stays


def items(db: sessionmaker[Session], site_id: int) -> dict[str, tuple[str, str | None, int | None]]:
    with db() as session:
        found = session.scalars(select(Item).where(Item.site_id == site_id))
        return {i.sku: (i.product_id, i.variant_id, i.quantity) for i in found}


def test_products_refresh_items_by_normalised_sku(
    client: FlaskClient, site: KeyedSite, db: sessionmaker[Session]
) -> None:
    products = [
        {"id": 20, "sku": " simple-1 ", "parent_id": 0, "stock_quantity": 4},
        {"id": 21, "sku": "var-1", "parent_id": 20, "stock_quantity": None},
        {"id": "gid://p/1", "sku": "bc-1", "variant_id": 77, "stock_quantity": -2},
        {"id": 22, "sku": ""},
        {"id": 23, "sku": None},
        {"id": 24, "sku": "X" * 21},
    ]
    data = push(client, site, body("product", products)).json["data"]
    assert (data["syncedCount"], data["skippedCount"]) == (3, 3)
    assert items(db, site.id) == {
        "SIMPLE-1": ("20", None, 4),
        "VAR-1": ("20", "21", None),
        "BC-1": ("gid://p/1", "77", -2),
    }
    [run] = runs(db)
    assert (run.skipped, run.unchanged) == (3, 0)
    # No stock field: the known quantity stays; not managing stock: no quantity.
    later = [{"id": 20, "sku": "SIMPLE-1"}, {"id": 77, "sku": "bc-1", "manage_stock": False}]
    data = push(client, site, body("product", later)).json["data"]
    # Both records changed: SIMPLE-1's mirror row did not, its stored record did.
    assert (data["syncedCount"], data["skippedCount"]) == (2, 0)
    assert items(db, site.id)["SIMPLE-1"] == ("20", None, 4)
    assert items(db, site.id)["BC-1"] == ("77", None, None)


def test_sites_never_see_each_others_records(
    client: FlaskClient, make_keyed_site: Callable[..., KeyedSite], db: sessionmaker[Session]
) -> None:
    one, two = make_keyed_site(), make_keyed_site()
    for resource, records in SAMPLES.items():
        assert push(client, one, body(resource, records)).json["data"]["syncedCount"] == 2
        assert push(client, two, body(resource, records)).json["data"]["syncedCount"] == 2
    push(client, two, body("order", order(101, status="cancelled")))
    assert stored_order(db, one.id, "101").status == "processing"
    assert stored_order(db, two.id, "101").status == "cancelled"
    assert len(lines(db, one.id)) == len(lines(db, two.id)) == 4
    assert {r.site_id for r in runs(db)} == {one.id, two.id}


def test_postgres_down_is_503(unreachable_settings: Settings) -> None:
    client = create_app(unreachable_settings).test_client()
    response = push(client, KeyedSite(1, new_api_key()), body("order", order()))
    assert response.status_code == 503
    assert response.json["success"] is False
    assert response.json["error"]["code"] == "UNAVAILABLE"


def test_over_real_http(base_url: str, site: KeyedSite) -> None:
    headers = {"Authorization": f"Bearer {site.key}"}
    response = requests.post(
        base_url + URL, json=body("order", SAMPLES["order"]), headers=headers, timeout=10
    )
    assert response.status_code == 200
    assert response.json()["data"]["syncedCount"] == 2
    refused = requests.post(base_url + URL, data=b"{", headers=headers, timeout=10)
    assert refused.status_code == 400
    assert refused.json()["error"]["code"] == "VALIDATION_ERROR"


def test_concurrent_overlapping_orders_neither_deadlock_nor_double_count(
    base_url: str, site: KeyedSite
) -> None:
    """Rows are locked in key order, so shuffled batches cannot deadlock; ON CONFLICT
    makes the first writer of each order insert it and everyone else skip it."""
    records = [order(n) for n in range(40)]
    responses = send_concurrently(base_url, site, lambda seed: body("order", records))
    assert sum(r.json()["data"]["syncedCount"] for r in responses) == 40


def test_concurrent_products_with_mixed_columns_do_not_deadlock(
    base_url: str, site: KeyedSite, db: sessionmaker[Session]
) -> None:
    """A product with a stock field and one without take two statements; which SKU is
    in which differs per request here, and locks must still come in one order."""

    def products(seed: int) -> dict[str, Any]:
        return body(
            "product",
            [
                {"id": n, "sku": f"c-{n}"} | ({"stock_quantity": n} if (n + seed) % 2 else {})
                for n in range(40)
            ],
        )

    send_concurrently(base_url, site, products)
    assert len(items(db, site.id)) == 40


def send_concurrently(
    base_url: str, site: KeyedSite, make_body: Callable[[int], dict[str, Any]]
) -> list[requests.Response]:
    """Eight requests at once, each with its records shuffled differently; all 200."""
    headers = {"Authorization": f"Bearer {site.key}"}

    def send(seed: int) -> requests.Response:
        sent = make_body(seed)
        sent["data"] = random.Random(seed).sample(sent["data"], len(sent["data"]))
        return requests.post(base_url + URL, json=sent, headers=headers, timeout=30)

    with ThreadPoolExecutor(max_workers=8) as pool:
        responses = list(pool.map(send, range(8)))
    assert [r.status_code for r in responses] == [200] * 8, [r.text for r in responses]
    return responses


def test_a_chunked_body_over_the_limit_is_413_too(settings: Settings, site: KeyedSite) -> None:
    """Without Content-Length werkzeug's limited stream cut the body short and the
    truncated JSON was refused as invalid, a 400: the plugin was told to fix a body that
    was only too large."""
    big = json.dumps(body("category", [{"id": i, "name": "x" * 100} for i in range(40)]))
    chunks = (big[i : i + 500].encode() for i in range(0, len(big), 500))
    headers = {"Authorization": f"Bearer {site.key}", "Content-Type": "application/json"}
    with running(create_app(replace(settings, max_webhook_body_bytes=2048))) as url:
        response = requests.post(url + URL, data=chunks, headers=headers, timeout=10)
    assert response.status_code == 413
    assert response.json()["error"]["code"] == "PAYLOAD_TOO_LARGE"


def _order_events(db: sessionmaker[Session]) -> list[WebhookLog]:
    with db() as session:
        return list(
            session.scalars(
                select(WebhookLog)
                .where(WebhookLog.kind == EventKind.STORE_ORDER)
                .order_by(WebhookLog.id)
            )
        )


def test_each_changed_order_is_logged_as_a_store_order_event(
    client: FlaskClient, site: KeyedSite, db: sessionmaker[Session]
) -> None:
    """In the transaction that stores it, so the relay and a worker turn it into
    reservations like a platform's order webhook; the customer is not in it."""
    assert push(client, site, body("order", order(101))).status_code == 200
    [event] = _order_events(db)
    assert (event.provider, event.site_id, event.entity, event.status) == (
        "plugin",
        site.id,
        "101",
        WebhookStatus.RECEIVED,
    )
    assert event.dedupe_key == f"stocksync:window:site:{site.id}:store.order:101"
    assert event.payload == {
        "id": "101",
        "number": "#101",
        "status": "processing",
        "updated_at": "2026-11-20T10:00:00+00:00",
        "line_items": [{"sku": "abc-1", "quantity": 1}, {"sku": "abc-2", "quantity": 2}],
    }
    snapshot = snapshot_of(event.payload)
    assert (snapshot.order_id, snapshot.number, snapshot.state, snapshot.store_applied) == (
        "101",
        "#101",
        OrderState.OPEN,
        True,
    )
    assert [(line.sku, line.units) for line in snapshot.lines] == [("ABC-1", 1), ("ABC-2", 2)]
    # The same order again, or an older version of it, changes nothing: no event.
    push(client, site, body("order", order(101)))
    push(client, site, body("order", order(101, updated_at="2026-11-20T09:00:00Z")))
    assert len(_order_events(db)) == 1
    push(client, site, body("order", order(101, status="cancelled", updated_at="2026-11-21")))
    assert [e.payload["status"] for e in _order_events(db)] == ["processing", "cancelled"]
