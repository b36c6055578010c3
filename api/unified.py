"""`POST /api/sync/webhook`: a store plugin pushes orders, products, customers, categories.

Unlike the platform receivers (api/webhooks/), this endpoint stores what it is sent,
synchronously: the plugin is ours, authenticated by a per-site API key
(api/api_keys.py), and the records are the store's own data, not a hint to go and
read the ERP. Each request is one transaction: the upserts and its `sync_runs` row
commit together, so `syncLogId` always describes what was written.

Upserts change only what differs (`ON CONFLICT DO UPDATE ... WHERE (cols) IS DISTINCT
FROM (excluded cols)`) and never let an older `updated_at` overwrite a newer one, since
plugins retry and deliver out of order. `syncedCount` counts rows inserted or changed;
`skippedCount` the rest: identical, stale, repeated within the request, or a product
whose SKU cannot exist in the ERP (connectors/skus.py). `action` is checked but does
not change the write: an upsert is right for both, and a `created` delivered after its
`updated` must not fail. The body's rules are in api/unified_schema.py.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Hashable, Sequence
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from itertools import groupby
from typing import Any, TypeVar

from flask import Blueprint, Response, jsonify, request
from sqlalchemy import delete
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.exc import DataError, DBAPIError, InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeoutError
from sqlalchemy.orm import Session
from werkzeug.exceptions import RequestEntityTooLarge

from api.api_keys import bearer_token, find_key_owner
from api.resources import resources
from api.unified_schema import Entry, Invalid, parse_body
from connectors.skus import try_normalize_sku
from models import Category, Customer, Item, Order, OrderLine, RunStatus, SyncRun
from models.base import utcnow
from models.commerce import email_hash_key, hash_email, strip_emails, upsert_changed
from models.db import transaction

log = logging.getLogger(__name__)
unified = Blueprint("unified", __name__)
T = TypeVar("T")
#: HKDF once per key, not once per request.
_email_key = lru_cache(maxsize=4)(email_hash_key)


@dataclass(frozen=True)
class Outcome:
    total: int
    synced: int
    #: Records whose SKU cannot be stored (counted in `skipped` too).
    invalid: int = 0

    @property
    def skipped(self) -> int:
        return self.total - self.synced


@dataclass(frozen=True)
class Batch:
    """What every resource handler receives: the site, its records, the hashing key."""

    site_id: int
    entries: list[Entry]
    email_key: bytes


def _latest(
    rows: Sequence[T],
    key: Callable[[T], Hashable],
    stamp: Callable[[T], datetime | None] = lambda _: None,
) -> list[T]:
    """One row per key, the newest by `stamp` (the later in the list on a tie or unknown),
    in key order: ON CONFLICT cannot touch a row twice in one statement, and taking row
    locks in one order keeps two concurrent requests from deadlocking."""
    chosen: dict[Hashable, T] = {}
    for row in rows:
        old = chosen.get(key(row))
        new_stamp, old_stamp = stamp(row), None if old is None else stamp(old)
        if old is None or new_stamp is None or old_stamp is None or new_stamp >= old_stamp:
            chosen[key(row)] = row
    return [chosen[k] for k in sorted(chosen, key=str)]


def _by_id(entry: Entry) -> str:
    return str(entry.fields["id"])


def _updated(entry: Entry) -> datetime | None:
    return entry.fields.get("updated_at")


def sync_orders(session: Session, batch: Batch) -> Outcome:
    """Orders and their lines. A changed order's lines are replaced in the same
    transaction, so readers never see an order with half its old and new lines."""
    entries = _latest(batch.entries, _by_id, _updated)
    rows = [
        {
            "site_id": batch.site_id,
            "external_id": e.fields["id"],
            "number": e.fields.get("number"),
            "status": e.fields["status"],
            "currency": e.fields.get("currency"),
            "total": e.fields["total"],
            "customer_external_id": e.fields.get("customer_id"),
            "source_created_at": e.fields.get("created_at"),
            "source_updated_at": e.fields.get("updated_at"),
            "raw": strip_emails(e.raw),
        }
        for e in entries
    ]
    changed = upsert_changed(session, Order, rows, "external_id", versioned=True)
    if changed:
        session.execute(
            delete(OrderLine).where(
                OrderLine.site_id == batch.site_id, OrderLine.order_id.in_(changed.values())
            )
        )
        lines = [
            {
                "site_id": batch.site_id,
                "order_id": changed[e.fields["id"]],
                "external_id": line["id"],
                "sku": try_normalize_sku(line["sku"]),
                "quantity": line["quantity"],
                "price": line["price"],
            }
            for e in entries
            if e.fields["id"] in changed
            for line in e.fields["line_items"]
        ]
        if lines:
            session.execute(insert(OrderLine), lines)
    return Outcome(len(batch.entries), len(changed))


def sync_customers(session: Session, batch: Batch) -> Outcome:
    """Customers, with the e-mail reduced to its keyed hash before anything is stored."""
    rows = [
        {
            "site_id": batch.site_id,
            "external_id": e.fields["id"],
            "email_hash": hash_email(batch.email_key, e.fields["email"]),
            "first_name": e.fields.get("first_name"),
            "last_name": e.fields.get("last_name"),
            "source_updated_at": e.fields.get("updated_at"),
            "raw": strip_emails(e.raw),
        }
        for e in _latest(batch.entries, _by_id, _updated)
    ]
    changed = upsert_changed(session, Customer, rows, "external_id", versioned=True)
    return Outcome(len(batch.entries), len(changed))


def sync_categories(session: Session, batch: Batch) -> Outcome:
    rows = [
        {
            "site_id": batch.site_id,
            "external_id": e.fields["id"],
            "name": e.fields["name"],
            "parent_external_id": e.fields.get("parent_id"),
            "slug": e.fields.get("slug"),
        }
        for e in _latest(batch.entries, _by_id)
    ]
    changed = upsert_changed(session, Category, rows, "external_id", versioned=False)
    return Outcome(len(batch.entries), len(changed))


def _item_row(site_id: int, sku: str, fields: dict[str, Any]) -> dict[str, Any]:
    """An `items` row like the connectors build (connectors/types.py `StoreProduct`): a
    variation's `product_id` is its parent, its own id the `variant_id`. The quantity is
    written only when the plugin says it (absent means unknown, not zero); a product
    that does not manage stock has none."""
    parent = fields.get("parent_id")
    row = {
        "site_id": site_id,
        "sku": sku,
        "product_id": parent or fields["id"],
        "variant_id": fields.get("variant_id") or (fields["id"] if parent else None),
        "active": True,
    }
    if fields.get("manage_stock") is False:
        row["quantity"] = None
    elif "stock_quantity" in fields:
        row["quantity"] = fields["stock_quantity"]
    return row


def sync_products(session: Session, batch: Batch) -> Outcome:
    """Products refresh the catalog mirror, `items`, keyed by the normalised SKU."""
    rows = []
    for entry in batch.entries:
        sku = try_normalize_sku(entry.fields["sku"])
        if sku is not None:
            rows.append(_item_row(batch.site_id, sku, entry.fields))
    changed = 0
    # One statement per run of rows with the same columns, in SKU order throughout, so
    # row locks are still taken in one global order (see `_latest`).
    for _, run in groupby(_latest(rows, lambda row: row["sku"]), lambda row: "quantity" in row):
        changed += len(upsert_changed(session, Item, list(run), "sku", versioned=False))
    return Outcome(len(batch.entries), changed, invalid=len(batch.entries) - len(rows))


@dataclass(frozen=True)
class Resource:
    kind: str
    sync: Callable[[Session, Batch], Outcome]


#: Dispatch by resource (STYLE.md rule 8); `kind` is the `sync_runs.kind` it logs.
RESOURCES = {
    "order": Resource("webhook:orders", sync_orders),
    "product": Resource("webhook:products", sync_products),
    "customer": Resource("webhook:customers", sync_customers),
    "category": Resource("webhook:categories", sync_categories),
}


def _refuse(status: int, code: str, message: str, event: str, **extra: Any) -> Response:
    """The one error shape, logged under its own event name."""
    log.warning(event, extra={"status": status, "code": code, "detail": message, **extra})
    response = jsonify({"success": False, "error": {"code": code, "message": message}})
    response.status_code = status
    if status == 401:
        response.headers["WWW-Authenticate"] = 'Bearer realm="stocksync"'
    return response


@unified.post("/api/sync/webhook")
def sync_webhook() -> Response:
    """Guards in order of cost: header, key lookup, body size, body, then the write."""
    started = utcnow()
    res = resources()
    key = bearer_token(request.headers.get("Authorization"))
    if key is None:
        return _refuse(
            401, "UNAUTHORIZED", "send Authorization: Bearer <api key>", "unified.no_key"
        )
    # A short session of its own: no connection is held while the body arrives.
    with res.sessions() as session:
        owner = find_key_owner(session, key)
    if owner is None:
        return _refuse(401, "UNAUTHORIZED", "unknown API key", "unified.unknown_key")
    if not owner.active:
        return _refuse(
            403, "FORBIDDEN", "the site is inactive", "unified.site_inactive", site_id=owner.site_id
        )
    try:
        raw = request.get_data()
    except RequestEntityTooLarge:
        limit = res.settings.max_webhook_body_bytes
        message = f"the body is larger than {limit} bytes"
        return _refuse(
            413, "PAYLOAD_TOO_LARGE", message, "unified.too_large", site_id=owner.site_id
        )
    try:
        body = parse_body(raw)
    except Invalid as error:
        return _refuse(
            400, "VALIDATION_ERROR", str(error), "unified.invalid", site_id=owner.site_id
        )
    resource = RESOURCES[body.resource]
    batch = Batch(owner.site_id, body.entries, _email_key(res.settings.encryption_keys[0]))
    with transaction(res.sessions) as session:
        outcome = resource.sync(session, batch)
        run = SyncRun(
            site_id=owner.site_id,
            kind=resource.kind,
            trigger="webhook",
            status=RunStatus.COMPLETED,
            total=outcome.total,
            synced=outcome.synced,
            unchanged=outcome.skipped - outcome.invalid,
            skipped=outcome.skipped,
            started_at=started,
            finished_at=utcnow(),
        )
        session.add(run)
        session.flush()
    log.info(
        "unified.synced",
        extra={"site_id": owner.site_id, "kind": resource.kind, "run_id": run.id},
    )
    data = {"syncedCount": outcome.synced, "skippedCount": outcome.skipped, "syncLogId": run.id}
    return jsonify({"success": True, "data": data})


@unified.errorhandler(DBAPIError)
@unified.errorhandler(PoolTimeoutError)
def database_error(error: Exception) -> Response:
    """Our outage is 503, so the plugin retries; a value PostgreSQL refuses that the
    schema let through is still the sender's, 400. Anything else is our bug: re-raise."""
    if isinstance(error, DataError):
        message, cause = "a value cannot be stored", type(error.orig).__name__
        return _refuse(400, "VALIDATION_ERROR", message, "unified.data_error", cause=cause)
    outage = isinstance(error, OperationalError | InterfaceError | PoolTimeoutError)
    if outage or (isinstance(error, DBAPIError) and error.connection_invalidated):
        return _refuse(503, "UNAVAILABLE", "the database is unavailable", "unified.db_unavailable")
    raise error
