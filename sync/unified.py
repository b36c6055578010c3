"""What the store plugin sends to `POST /api/sync/webhook`: orders, products,
customers, categories, written synchronously.

Unlike the platforms' webhooks, these records are the store's own data, not a hint to
go and read the ERP: the plugin is ours, authenticated by a per-site API key
(sync/api_keys.py). Each request is one transaction: the upserts and its `sync_runs`
row commit together, so `syncLogId` always describes what was written.

Upserts change only what differs (`ON CONFLICT DO UPDATE ... WHERE (cols) IS DISTINCT
FROM (excluded cols)`) and never let an older `updated_at` overwrite a newer one, since
plugins retry and deliver out of order. `synced` counts rows inserted or changed;
`skipped` the rest: identical, stale, repeated within the request, or a product whose
SKU cannot exist in the ERP (models/skus.py). Products are written by the catalog
mirror's one writer, by its rules. The body's checks are api/unified_schema.py's.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Hashable, Sequence
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from typing import Any, TypeVar

from sqlalchemy import delete
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import Session

from connectors.types import StoreProduct
from models import Category, Customer, Order, OrderLine, Product, RunStatus, SyncRun
from models.base import utcnow
from models.commerce import email_hash_key, hash_email, strip_emails, upsert_changed
from models.db import transaction
from models.skus import try_normalize_sku
from sync.catalog import mirror_products
from sync.context import Context
from sync.lifecycle import publish, record_whole_run
from sync.plugin_orders import order_event

log = logging.getLogger(__name__)
T = TypeVar("T")
#: `products.sku`'s length: the SKU as the store sent it, usable in the ERP or not.
SKU_AS_SENT = 200
#: HKDF once per key, not once per request.
_email_key = lru_cache(maxsize=4)(email_hash_key)


@dataclass(frozen=True)
class Entry:
    """One record: its checked fields, and the object as sent (for `raw`)."""

    fields: dict[str, Any]
    raw: dict[str, Any]


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
    transaction, so readers never see an order with half its old and new lines, and
    its `store.order` event is logged there too (sync/plugin_orders.py). When a line
    comes without an id (the contract's lines have none), every line of its order is
    named by its position (`#1`, `#2`; the ids sent stay in `raw`), so a sent id can
    never collide with a position: lines are replaced whole, only uniqueness matters."""
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
    # Each changed order holds stock until the ERP has it (sync/plugin_orders.py).
    now = utcnow()
    session.add_all(
        order_event(batch.site_id, e.fields, now) for e in entries if e.fields["id"] in changed
    )
    if changed:
        session.execute(
            delete(OrderLine).where(
                OrderLine.site_id == batch.site_id, OrderLine.order_id.in_(changed.values())
            )
        )
        lines = [
            line
            for e in entries
            if e.fields["id"] in changed
            for line in _line_rows(batch.site_id, changed[e.fields["id"]], e.fields["line_items"])
        ]
        if lines:
            session.execute(insert(OrderLine), lines)
    return Outcome(len(batch.entries), len(changed))


def _line_rows(site_id: int, order_id: int, items: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """An order's `order_lines` rows: by their ids, or all by position if one has none."""
    positional = any(item.get("id") is None for item in items)
    return [
        {
            "site_id": site_id,
            "order_id": order_id,
            "external_id": f"#{position}" if positional else item["id"],
            "sku": try_normalize_sku(item["sku"]),
            "quantity": item["quantity"],
            "price": item.get("price"),
            "total": item.get("total"),
        }
        for position, item in enumerate(items, 1)
    ]


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


def _store_product(entry: Entry) -> StoreProduct | None:
    """A product record as the connectors build one (connectors/types.py): a
    variation's `product_id` is its parent, its own id the `variant_id`. A quantity
    the plugin does not send is unknown (None), not zero; `manage_stock: false` means
    the store does not track it. None if its SKU cannot exist in the ERP."""
    fields = entry.fields
    sku = try_normalize_sku(fields["sku"])
    if sku is None:
        return None
    parent = fields.get("parent_id")
    return StoreProduct(
        sku=sku,
        product_id=parent or fields["id"],
        variant_id=fields.get("variant_id") or (fields["id"] if parent else None),
        quantity=fields.get("stock_quantity"),
        manages_stock=fields.get("manage_stock") is not False,
    )


def _product_row(site_id: int, entry: Entry) -> dict[str, Any]:
    fields = entry.fields
    sent_sku = fields["sku"]
    return {
        "site_id": site_id,
        "external_id": fields["id"],
        "parent_external_id": fields.get("parent_id"),
        # As sent; one too long for the column is in `raw` only.
        "sku": sent_sku if sent_sku is None or len(sent_sku) <= SKU_AS_SENT else None,
        "name": fields.get("name"),
        "type": fields.get("type"),
        "status": fields.get("status"),
        "price": fields.get("price"),
        "regular_price": fields.get("regular_price"),
        "sale_price": fields.get("sale_price"),
        "stock_status": fields.get("stock_status"),
        "category_external_id": fields.get("category_id"),
        "source_created_at": fields.get("created_at"),
        "source_updated_at": fields.get("updated_at"),
        "raw": strip_emails(entry.raw),
    }


def sync_products(session: Session, batch: Batch) -> Outcome:
    """Products: what the plugin says of them (name, prices, status) into `products`,
    their stock side into the catalog mirror through its one writer (sync/catalog.py),
    by the same rules as the store's own catalog: an untracked product is never pushed.

    A product whose SKU cannot exist in the ERP is kept in `products` but counted as
    skipped, since it takes no part in stock sync. A product counts as synced when
    either of its rows was added or changed."""
    entries = _latest(batch.entries, _by_id, _updated)
    stored = upsert_changed(
        session,
        Product,
        [_product_row(batch.site_id, e) for e in entries],
        "external_id",
        versioned=True,
    )
    sellable = [(e, p) for e in entries if (p := _store_product(e)) is not None]
    mirrored = set(mirror_products(session, batch.site_id, [p for _, p in sellable]).changed)
    synced = sum(1 for e, p in sellable if e.fields["id"] in stored or p.sku in mirrored)
    invalid = len(entries) - len(sellable)
    return Outcome(len(batch.entries), synced, invalid=invalid)


@dataclass(frozen=True)
class Resource:
    kind: str
    sync: Callable[[Session, Batch], Outcome]


#: Dispatch by resource (docs/style.md rule 8); `kind` is the `sync_runs.kind` it logs.
RESOURCES = {
    "order": Resource("webhook:orders", sync_orders),
    "product": Resource("webhook:products", sync_products),
    "customer": Resource("webhook:customers", sync_customers),
    "category": Resource("webhook:categories", sync_categories),
}


def record(ctx: Context, site_id: int, resource: str, entries: list[Entry]) -> dict[str, Any]:
    """Write one request's records and its run row in one transaction; return the
    plugin's answer: `syncedCount`, `skippedCount` and `syncLogId` (the run's public
    UUID, models/sync.py `log_id`).

    The run's lifecycle events (a category run's `COLLECTION_SYNC_*`) commit with it
    and are published after. If the write fails, nothing of it stays: a failed run
    saying so is recorded on its own (with its `..._FAILED` event), and the error goes
    on to the caller."""
    started = utcnow()
    kind = RESOURCES[resource]
    batch = Batch(site_id, entries, _email_key(ctx.settings.encryption_keys[0]))
    try:
        with transaction(ctx.sessions) as session:
            outcome = kind.sync(session, batch)
            run = _run(
                session,
                SyncRun(
                    site_id=site_id,
                    kind=kind.kind,
                    status=RunStatus.COMPLETED,
                    total=outcome.total,
                    synced=outcome.synced,
                    unchanged=outcome.skipped - outcome.invalid,
                    skipped=outcome.skipped,
                    started_at=started,
                ),
            )
            deliveries = record_whole_run(session, run)
    except Exception as error:
        _record_failure(ctx, site_id, kind.kind, len(entries), started, error)
        raise
    log.info("unified.synced", extra={"site_id": site_id, "kind": kind.kind, "run_id": run.id})
    publish(ctx.broker, deliveries)
    return {
        "syncedCount": outcome.synced,
        "skippedCount": outcome.skipped,
        "syncLogId": str(run.log_id),
    }


def _record_failure(
    ctx: Context, site_id: int, kind: str, total: int, started: datetime, error: Exception
) -> None:
    """The failed run of a request whose write failed, in a transaction of its own. Its
    error names the exception's type only: its text may quote the records. When the
    database is what failed, this fails too, and is only logged."""
    reason = f"the records could not be written ({type(error).__name__})"
    try:
        with transaction(ctx.sessions) as session:
            run = _run(
                session,
                SyncRun(
                    site_id=site_id,
                    kind=kind,
                    status=RunStatus.FAILED,
                    total=total,
                    error=reason,
                    started_at=started,
                ),
            )
            deliveries = record_whole_run(session, run)
    except Exception as also:
        log.warning(
            "unified.failure_not_recorded", extra={"site_id": site_id, "error": type(also).__name__}
        )
        return
    log.warning("unified.failed", extra={"site_id": site_id, "kind": kind, "run_id": run.id})
    publish(ctx.broker, deliveries)


def _run(session: Session, run: SyncRun) -> SyncRun:
    """`run`, a plugin request's, ended now and stored (its id and `log_id` filled)."""
    run.trigger, run.finished_at = "webhook", utcnow()
    session.add(run)
    session.flush()
    return run
