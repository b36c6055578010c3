"""`POST /api/sync/webhook` as its contract states it: the example body, the contract's
integration test list as written, the exact answers, and the key's site as the only
site any query can reach (through every field a record has)."""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Iterator
from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from jsonschema import Draft202012Validator
from sqlalchemy import Engine, event, select, text
from sqlalchemy.orm import Session, sessionmaker

from api.unified_doc import CONTRACT_ORDER, EXAMPLES
from models import (
    DeliveryStatus,
    EventDelivery,
    EventKind,
    EventSubscription,
    OrderLine,
    Product,
    SyncRun,
    WebhookLog,
)
from models.crypto import Vault
from models.db import execute_rows
from sync import catalog, lifecycle
from sync.errors import Unavailable
from sync.lifecycle import due_deliveries
from sync.subscribers import new_secret
from sync.unified import RESOURCES, Resource
from tests.support.admin_api import AUTH
from tests.support.plugin_endpoint import KeyedSite, body, keyed_site, push

#: The contract's example request as printed, `[...]` and all.
PRINTED_EXAMPLE = """{
  "resource": "order",
  "action": "updated",
  "data": {
    "wc_order_id": 1001,
    "date_created": "2026-01-15T10:30:00Z",
    "status": "completed",
    "total": 99.99,
    "items": [...]
  }
}"""


def synced(response: Any, synced: int = 1, skipped: int = 0) -> str:
    """Assert the exact success answer; return its `syncLogId`."""
    assert response.status_code == 200, response.json
    log_id = response.json["data"]["syncLogId"]
    assert response.json == {
        "success": True,
        "data": {"syncedCount": synced, "skippedCount": skipped, "syncLogId": log_id},
    }
    assert str(uuid.UUID(log_id)) == log_id
    return str(log_id)


def refused(response: Any, message: str) -> None:
    """Assert the exact 400 answer, its message starting with `message`."""
    assert response.status_code == 400, response.json
    assert response.json == {
        "success": False,
        "error": {"code": "VALIDATION_ERROR", "message": response.json["error"]["message"]},
    }
    assert response.json["error"]["message"].startswith(message)


def run_of(db: sessionmaker[Session], log_id: str) -> SyncRun:
    with db() as session:
        return session.scalars(select(SyncRun).where(SyncRun.log_id == uuid.UUID(log_id))).one()


# --- the example body ------------------------------------------------------------------


def test_the_printed_example_is_refused_only_for_its_placeholder(
    client: FlaskClient, site: KeyedSite, db: sessionmaker[Session]
) -> None:
    """`[...]` is not JSON; with it as an empty list or as lines, the body is taken."""
    refused(push(client, site, PRINTED_EXAMPLE), "body: must be a JSON document")
    no_lines = PRINTED_EXAMPLE.replace("[...]", "[]")
    run = run_of(db, synced(push(client, site, no_lines)))
    assert (run.kind, run.site_id, run.total, run.synced) == ("webhook:orders", site.id, 1, 1)
    # The same order again with its lines: changed, so synced again.
    synced(push(client, site, CONTRACT_ORDER))
    with db() as session:
        line = session.scalars(select(OrderLine)).one()
    assert (line.external_id, line.sku, line.quantity, line.total, line.price) == (
        "7",
        "MUG-BLUE",
        1,
        Decimal("99.9900"),
        None,
    )


def test_an_order_with_a_line_without_id_names_every_line_by_position(
    client: FlaskClient, site: KeyedSite, db: sessionmaker[Session]
) -> None:
    """A sent id shaped like a position (`#2`) cannot collide with one (it was a 500)."""
    items = [{"wc_item_id": "#2", "sku": "a", "quantity": 1}, {"sku": "b", "quantity": 2}]
    synced(push(client, site, body("order", CONTRACT_ORDER["data"] | {"items": items})))
    with db() as session:
        lines = session.execute(select(OrderLine.external_id, OrderLine.sku)).all()
    assert sorted(map(tuple, lines)) == [("#1", "A"), ("#2", "B")]


def test_the_example_order_holds_its_stock_like_a_webhook_order(
    client: FlaskClient, site: KeyedSite, db: sessionmaker[Session]
) -> None:
    synced(push(client, site, CONTRACT_ORDER))
    with db() as session:
        event_row = session.scalars(select(WebhookLog)).one()
    assert (event_row.kind, event_row.site_id, event_row.entity) == (
        EventKind.STORE_ORDER,
        site.id,
        "1001",
    )
    assert event_row.payload["line_items"] == [{"sku": "MUG-BLUE", "quantity": 1}]
    assert event_row.payload["status"] == "completed"


# --- the contract's integration test list, as written ----------------------------------


@pytest.mark.parametrize(
    ("example", "kind"),
    [
        ("order_updated", "webhook:orders"),
        ("product_updated", "webhook:products"),
        ("customer_created", "webhook:customers"),
        ("category_updated", "webhook:categories"),
    ],
)
def test_200_for_each_resource(
    client: FlaskClient, site: KeyedSite, db: sessionmaker[Session], example: str, kind: str
) -> None:
    run = run_of(db, synced(push(client, site, EXAMPLES[example])))
    assert (run.kind, run.trigger, run.site_id) == (kind, "webhook", site.id)


def test_200_for_an_order_created(client: FlaskClient, site: KeyedSite) -> None:
    synced(push(client, site, CONTRACT_ORDER | {"action": "created"}))


@pytest.mark.parametrize(
    ("payload", "message"),
    [
        (body("xyz", {"id": 1}), "resource: invalid resource type: xyz; must be one of"),
        ({"action": "created", "data": {"id": 1}}, "resource: is required"),
        ({"resource": "order", "action": "created"}, "data: is required"),
        ({"resource": "order", "data": CONTRACT_ORDER["data"]}, "action: is required"),
        (body("order", CONTRACT_ORDER["data"], action="deleted"), "action: invalid action"),
        (body("order", None), "data: must be an object or a list of 1 to 1000 objects"),
    ],
)
def test_400_for_a_missing_or_invalid_resource_action_or_data(
    client: FlaskClient, site: KeyedSite, db: sessionmaker[Session], payload: Any, message: str
) -> None:
    refused(push(client, site, payload), message)
    with db() as session:
        assert session.scalars(select(SyncRun)).all() == []


def test_500_when_the_service_throws(
    app: Flask, site: KeyedSite, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(*args: Any) -> None:
        raise RuntimeError("a bug with a detail the answer must not show")

    monkeypatch.setattr("api.unified.record", broken)
    response = push(app.test_client(), site, CONTRACT_ORDER)
    assert response.status_code == 500
    assert response.json == {
        "success": False,
        "error": {"code": "INTERNAL_ERROR", "message": "an internal error"},
    }


def test_the_site_comes_from_the_key_not_the_body(
    client: FlaskClient, db: sessionmaker[Session], vault: Vault
) -> None:
    mine, other = keyed_site(db, vault), keyed_site(db, vault)
    for name in ("site_id", "store_id", "storeId"):
        payload = CONTRACT_ORDER | {name: other.id}
        payload["data"] = CONTRACT_ORDER["data"] | {name: other.id}
        run = run_of(db, synced(push(client, mine, payload)))  # raw differs each time
        assert run.site_id == mine.id
    synced(push(client, other, CONTRACT_ORDER))
    with db() as session:
        sites = session.execute(text("SELECT site_id FROM orders ORDER BY site_id")).scalars()
        assert list(sites) == [mine.id, other.id]


def test_a_run_is_found_by_its_sync_log_id(
    client: FlaskClient, site: KeyedSite, db: sessionmaker[Session]
) -> None:
    log_id = synced(push(client, site, EXAMPLES["category_updated"]))
    detail = client.get(f"/api/sync/logs/{log_id}", headers=AUTH)
    assert detail.status_code == 200, detail.json
    assert (detail.json["log_id"], detail.json["kind"]) == (log_id, "webhook:categories")
    assert client.get(f"/api/sync/logs/{uuid.uuid4()}", headers=AUTH).status_code == 404
    assert client.get(f"/api/sync/logs/{log_id}").status_code == 401


def test_the_documents_examples_and_answers_fit_its_schemas(
    app: Flask, client: FlaskClient, site: KeyedSite
) -> None:
    document = client.get("/api/openapi.json").json
    operation = document["paths"]["/api/sync/webhook"]["post"]
    assert operation["security"] == [{"pluginKey": []}]
    content = operation["requestBody"]["content"]["application/json"]

    def answers(status: int) -> dict[str, Any]:
        return dict(operation["responses"][str(status)]["content"]["application/json"]["schema"])

    def fits(schema: dict[str, Any], value: Any) -> bool:
        rooted = {**schema, "components": document["components"]}
        return Draft202012Validator(rooted).is_valid(value)

    assert set(content["examples"]) == set(EXAMPLES)
    for name, example in content["examples"].items():
        assert fits(content["schema"], example["value"]), name
        answer = push(client, site, example["value"])
        assert fits(
            operation["responses"]["200"]["content"]["application/json"]["schema"], answer.json
        )
    no_id = json.loads(json.dumps(CONTRACT_ORDER))
    del no_id["data"]["wc_order_id"]
    assert not fits(content["schema"], no_id)
    both = json.loads(json.dumps(CONTRACT_ORDER))
    both["data"]["id"] = 1001
    assert not fits(content["schema"], both)
    assert push(client, site, both).status_code == 400
    blank = {"resource": "category", "action": "created", "data": {"id": " ", "name": "x"}}
    assert not fits(content["schema"], blank)
    assert push(client, site, blank).status_code == 400
    answer = push(client, site, no_id)
    assert answer.status_code == 400
    assert fits(answers(400), answer.json)


# --- what is kept ------------------------------------------------------------------------


def test_a_products_name_prices_and_plugin_fields_are_kept(
    client: FlaskClient, site: KeyedSite, db: sessionmaker[Session]
) -> None:
    synced(push(client, site, EXAMPLES["product_updated"]))
    with db() as session:
        product = session.scalars(select(Product)).one()
    assert (product.site_id, product.external_id, product.sku, product.name) == (
        site.id,
        "42",
        "MUG-BLUE",
        "Blue mug",
    )
    assert (product.price, product.regular_price, product.sale_price) == (
        Decimal("12.5"),
        Decimal("15"),
        Decimal("12.5"),
    )
    assert (product.type, product.status, product.stock_status) == ("simple", "publish", "instock")
    assert product.category_external_id == "9"
    assert product.raw["category_name"] == "Mugs" and product.raw["category_ids"] == [9]
    assert product.source_updated_at is not None
    # A price change alone is a change.
    cheaper = json.loads(json.dumps(EXAMPLES["product_updated"]))
    cheaper["data"]["price"] = 11
    synced(push(client, site, cheaper))
    synced(push(client, site, cheaper), synced=0, skipped=1)


# --- one site's rows, whatever the other site sends ----------------------------------------

#: Every reference a record can carry, set by site B to site A's values.
SITE_TABLES = ("orders", "order_lines", "customers", "categories", "products", "items")


@pytest.fixture
def statements(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[str]]:
    """Every SQL statement run while the test does: SQLAlchemy's, and the catalog
    mirror's bulk upsert, which goes straight to psycopg2 (models/db.py `execute_rows`)."""
    seen: list[str] = []

    def record(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        seen.append(statement)

    def bulk(session: Session, sql: str, *args: Any, **kwargs: Any) -> list[Any]:
        seen.append(sql)
        return execute_rows(session, sql, *args, **kwargs)

    monkeypatch.setattr(catalog, "execute_rows", bulk)
    event.listen(Engine, "before_cursor_execute", record)
    try:
        yield seen
    finally:
        event.remove(Engine, "before_cursor_execute", record)


def _scoped(sql: str) -> bool:
    """The statement names the site where it matters: an INSERT inserts `site_id` and
    conflicts on it, anything else has it in its WHERE."""
    flat = " ".join(sql.split())
    if flat.startswith("INSERT"):
        columns = flat[flat.index("(") + 1 : flat.index(")")]
        conflict = re.search(r"ON CONFLICT \(([^)]*)\)", flat)
        return "site_id" in columns and (conflict is None or "site_id" in conflict.group(1))
    return "site_id" in flat.partition(" WHERE ")[2]


def _rows_of(db: sessionmaker[Session], site_id: int) -> dict[str, list[Any]]:
    with db() as session:
        return {
            table: sorted(
                session.execute(
                    text(f"SELECT row_to_json(t)::text FROM {table} t WHERE site_id = :s"),
                    {"s": site_id},
                ).scalars()
            )
            for table in (*SITE_TABLES, "sync_runs", "webhook_log")
        }


def _records_of_a() -> dict[str, dict[str, Any]]:
    return {
        "category": {"wc_category_id": 9, "name": "A's mugs", "parent_id": 8},
        "customer": {"wc_customer_id": 12, "email": "a@example.com", "first_name": "A"},
        "product": {
            "wc_product_id": 42,
            "parent_id": 41,
            "sku": "SHARED-SKU",
            "name": "A's mug",
            "price": 10,
            "category_id": 9,
            "stock_quantity": 5,
            "manage_stock": True,
            "updated_at": "2026-01-15T10:00:00Z",
        },
        "order": {
            "wc_order_id": 1001,
            "number": "A-1001",
            "status": "processing",
            "total": 10,
            "customer_id": 12,
            "date_modified": "2026-01-15T10:00:00Z",
            "items": [
                {
                    "wc_item_id": 7,
                    "wc_product_id": 41,
                    "variation_id": 42,
                    "sku": "SHARED-SKU",
                    "quantity": 1,
                }
            ],
        },
    }


def test_another_sites_rows_cannot_be_reached_through_any_field(
    client: FlaskClient, db: sessionmaker[Session], vault: Vault, statements: list[str]
) -> None:
    a, b = keyed_site(db, vault), keyed_site(db, vault)
    for resource, record in _records_of_a().items():
        synced(push(client, a, body(resource, record, action="created")))
    before = _rows_of(db, a.id)
    statements.clear()
    # B sends A's every id, SKU and reference, newer than A's, plus A's site id.
    for resource, record in _records_of_a().items():
        hostile = record | {"site_id": a.id, "store_id": a.id}
        if "date_modified" in hostile or "updated_at" in hostile:
            hostile |= {"status": "cancelled"} if resource == "order" else {"price": 1}
        for name in ("date_modified", "updated_at"):
            if name in hostile:
                hostile[name] = "2026-12-01T00:00:00Z"
        synced(push(client, b, body(resource, hostile)))
    assert _rows_of(db, a.id) == before
    mine = _rows_of(db, b.id)
    assert all(len(mine[table]) == 1 for table in SITE_TABLES), mine
    # And each query that touched a site's rows named the site.
    touching = [
        sql for sql in statements if re.search(rf"\b({'|'.join(SITE_TABLES)}|sync_runs)\b", sql)
    ]
    assert touching
    assert any("INSERT INTO items" in sql for sql in touching)  # the bulk path is seen
    assert [sql for sql in touching if not _scoped(sql)] == []


# --- lifecycle events ------------------------------------------------------------------------


@pytest.fixture
def subscribed(db: sessionmaker[Session], vault: Vault) -> None:
    """A subscriber of every topic, for every site (nothing is delivered here)."""
    with db.begin() as session:
        session.add(
            EventSubscription(
                url="http://127.0.0.1:9/hook",
                secret_sealed=vault.seal(new_secret()),
                topics=list(lifecycle.TOPICS),
            )
        )


def _events(db: sessionmaker[Session]) -> list[EventDelivery]:
    with db() as session:
        return list(session.scalars(select(EventDelivery).order_by(EventDelivery.id)))


@pytest.mark.usefixtures("subscribed")
def test_a_category_push_is_a_collection_sync_with_its_events(
    client: FlaskClient, site: KeyedSite, db: sessionmaker[Session]
) -> None:
    run = run_of(db, synced(push(client, site, EXAMPLES["category_updated"])))
    # The plugin's other records are not syncs: no event.
    synced(push(client, site, EXAMPLES["product_updated"]))
    synced(push(client, site, CONTRACT_ORDER))
    started, completed = _events(db)
    assert [(e.topic, e.entity) for e in (started, completed)] == [
        (lifecycle.COLLECTION_STARTED, f"run:{run.id}"),
        (lifecycle.COLLECTION_COMPLETED, f"run:{run.id}"),
    ]
    began, ended = started.payload["data"], completed.payload["data"]
    assert (began["status"], began["total"], began["synced"], began["finished_at"]) == (
        "running",
        1,
        0,
        None,
    )
    assert (ended["status"], ended["total"], ended["synced"], ended["error"]) == (
        "completed",
        1,
        1,
        None,
    )
    assert ended["kind"] == "webhook:categories" and ended["site_id"] == site.id


@pytest.mark.usefixtures("subscribed")
def test_a_category_push_that_fails_is_a_failed_collection_sync_saying_why(
    app: Flask, site: KeyedSite, db: sessionmaker[Session], monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(*args: Any) -> None:
        raise RuntimeError("a detail of the records")

    monkeypatch.setitem(RESOURCES, "category", Resource("webhook:categories", broken))
    response = push(app.test_client(), site, EXAMPLES["category_updated"])
    assert response.status_code == 500
    with db() as session:
        [run] = session.scalars(select(SyncRun)).all()
    assert (run.status, run.kind, run.total) == ("failed", "webhook:categories", 1)
    assert run.error == "the records could not be written (RuntimeError)"
    started, failed = _events(db)
    assert [started.topic, failed.topic] == [
        lifecycle.COLLECTION_STARTED,
        lifecycle.COLLECTION_FAILED,
    ]
    assert failed.payload["data"]["error"] == run.error


@pytest.mark.usefixtures("subscribed")
def test_with_the_broker_down_the_push_is_taken_and_its_events_wait_for_the_sweeper(
    app: Flask, site: KeyedSite, db: sessionmaker[Session], monkeypatch: pytest.MonkeyPatch
) -> None:
    def down(*args: Any, **kwargs: Any) -> None:
        raise Unavailable("the broker cannot be reached (test)")

    monkeypatch.setattr(app.extensions["stocksync"].ctx.broker, "queue_deliveries", down)
    synced(push(app.test_client(), site, EXAMPLES["category_updated"]))
    assert {e.status for e in _events(db)} == {DeliveryStatus.PENDING}
    with db() as session:
        assert len(due_deliveries(session, timedelta(0))) == 1  # the first in line
