"""The catalog mirror, `items`: the one module that writes it, with one set of rules.

Who writes, all through here: the full sync's catalog refresh (`refresh_catalog`), a
store product webhook's re-read (`mirror_product`), the store plugin's products
(`mirror_products`), and the write path's record of what it pushed (`lock_for_push`,
`record_pushed`, called by sync/push.py).

The rules, whoever writes:
- **A product whose stock the store does not track is inactive**: never pushed, since
  writing it would switch tracking on behind the merchant's back (WooCommerce's
  `manage_stock`, BigCommerce's `inventory_tracking`). It holds no quantity.
- **The store's quantity is copied, unless we pushed since it was read**: a row pushed
  after the reading's time holds a newer value than the page or record we were given.
  A quantity the writer does not know (None on a tracked product) keeps the stored one.
- **Rows are written in SKU order**, the order sync/push.py locks them in, so a
  mirror write and a push holding some of the same rows never deadlock.
- **A SKU the store no longer lists is retired** (inactive, kept for its history): a
  product keeps its id when the merchant changes a SKU, and the old SKU's row, left
  active, would carry the ERP's old item onto the renamed product (issue 18). The
  refresh retires every row it did not see; a product's re-read retires the product's
  rows it did not list. A retired row gets its retirement time as `updated_at`, and a
  writer whose reading started before that time does not make it active again: a
  refresh that read the old SKU before the rename must not bring it back.

Refreshing from the store, in bounded memory: the store's catalog is streamed
(`Storefront.iter_pages`, one page in memory) and upserted in chunks of whole pages
holding at least `CHUNK` rows, each chunk one `INSERT ... ON CONFLICT DO UPDATE`
committed on its own, so no row lock is held for the whole walk and webhook pushes
keep flowing.

Resumable (issue 22): a run's refresh commits, with each chunk, the place after its
last page (`sync_runs.catalog_resume`) and keeps its first start as every attempt's
start. A refresh cut short (a worker killed, a transient error past the in-place
retries, the task's slice of time used up) goes on from the last chunk committed, not
from page 1: an 8,000-SKU WooCommerce store at its default quota listed its first
pages again and again, and a 200,000-SKU catalog outlasts one task's time limit.

A thread reads the next chunk from the store while this one is written: at 0 ms
platform latency the two take about as long. With both changes below, the refresh of
100,000 BigCommerce SKUs went from 9.6 s to 4.3-5.5 s (bench/fullsync.py; the
floor's plain list-and-upsert takes 3.5-3.8 s).

The upsert is psycopg2's `execute_values`, counting the new rows inside PostgreSQL:
SQLAlchemy's insertmanyvalues with a row returned per SKU spent 4.1 s on those 100,000
rows against 1.2 s for this (the speed budget of docs/architecture.md has the other paths).

Nothing remembers which SKUs were seen: each upserted row gets `updated_at` = the
refresh's start, and at the end every active row of the site older than that start is
one the store no longer lists, and becomes inactive. 100,000 SKUs cost one chunk of
memory, not 100,000 entries. The quantities copied are what the full sync diffs the
ERP against: what the store really holds, orders and hand edits included.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import func, or_, select, text, update
from sqlalchemy.orm import Session

from connectors.interfaces import Storefront
from connectors.types import CatalogPage, StoreProduct
from models import Item, Site, SyncRun
from models.db import execute_rows, transaction
from sync.context import Context

#: Rows per upsert statement and per commit.
CHUNK = 1000


@dataclass
class CatalogOutcome:
    #: Sellable SKUs the store listed (products that track stock and those that don't).
    seen: int = 0
    #: SKUs new to the mirror.
    added: int = 0
    #: Active SKUs the store no longer lists, now inactive.
    deactivated: int = 0
    #: False when the refresh stopped at its deadline, its place saved: the run's next
    #: start task goes on from there.
    finished: bool = True


@dataclass
class _Chunk:
    """Whole pages, at least `CHUNK` products, and where the listing resumes after them."""

    products: list[StoreProduct] = field(default_factory=list)
    resume: str | None = None
    pages: int = 0
    of: int | None = None


def refresh_catalog(
    ctx: Context,
    site: Site,
    store: Storefront,
    run_id: int | None = None,
    *,
    deadline: float | None = None,
) -> CatalogOutcome:
    """Mirror `store`'s catalog into `items` for `site` (module docstring).

    With a `run_id`, the refresh is resumable: each chunk commits, with its rows, the
    run's place in the listing (`sync_runs.catalog_*`), and a refresh of that run goes
    on from the last place committed, with the first attempt's start as its own. Past
    `deadline` (a `time.monotonic()` value) it stops after a chunk, unfinished.
    """
    outcome = CatalogOutcome()
    with transaction(ctx.sessions) as session:
        started, resume, listed = _place(session, run_id)
    if listed:
        return outcome

    def in_time() -> bool:
        return deadline is None or time.monotonic() < deadline

    last: _Chunk | None = None
    for last in _read_ahead(_chunks(store.iter_pages(resume), CHUNK), in_time):
        rows = _rows(site.id, last.products, started)
        with transaction(ctx.sessions) as session:
            if rows:
                ((added,),) = _execute_upsert(session, _COUNT_ADDED, rows)
                outcome.added += added
            if run_id is not None:
                place = {"resume": last.resume, "pages": last.pages, "of": last.of}
                session.execute(_SAVE_PLACE, {"run": run_id, **place})
        outcome.seen += len(last.products)
    if last is not None and last.resume is not None:
        # Stopped at the deadline, its place saved: the listing goes on from there.
        outcome.finished = False
        return outcome
    with transaction(ctx.sessions) as session:
        gone = session.execute(
            update(Item)
            .where(Item.id.in_(_unseen(site.id, started)))
            .values(active=False)
            .returning(Item.id)
        )
        outcome.deactivated = len(gone.all())
        if run_id is not None:
            session.execute(_LISTED, {"run": run_id})
    return outcome


#: A run's listing ended, committed with the retirement of what it did not see.
_LISTED = text("UPDATE sync_runs SET catalog_listed_at = now(), updated_at = now() WHERE id = :run")
#: Where a run's listing resumes, committed with the chunk that got it there.
_SAVE_PLACE = text(
    """
    UPDATE sync_runs SET catalog_resume = :resume, catalog_pages = catalog_pages + :pages,
        catalog_pages_of = :of, updated_at = now()
    WHERE id = :run
    """
)


def _place(session: Session, run_id: int | None) -> tuple[datetime, str | None, bool]:
    """(when the listing began, where it resumes, whether it ended): the run's saved
    place, recorded now for a run's first attempt; outside a run, now and the start.

    Each attempt and each chunk moves the run's `updated_at`: the recovery sweep
    (sync/recovery.py) takes a run without batches untouched for 30 min for one whose
    start task was lost, and would start a second listing beside a long one."""
    now: datetime = session.execute(select(func.now())).scalar_one()
    if run_id is None:
        return now, None, False
    run = session.get_one(SyncRun, run_id, with_for_update=True)
    if run.catalog_started_at is None:
        run.catalog_started_at = now
    run.updated_at = now
    return run.catalog_started_at, run.catalog_resume, run.catalog_listed_at is not None


def _unseen(site_id: int, started: datetime) -> Any:
    """Active rows the refresh did not touch, locked in SKU order (see `_rows`)."""
    return (
        select(Item.id)
        .where(Item.site_id == site_id, Item.active, Item.updated_at < started)
        .order_by(Item.sku)
        .with_for_update()
    )


def _chunks(pages: Iterable[CatalogPage], size: int) -> Iterator[_Chunk]:
    """Whole pages gathered until a chunk holds `size` products: a chunk's place is
    the place after its last page, so a resumed listing starts at a page's edge."""
    chunk = _Chunk()
    for page in pages:
        chunk.products.extend(page.products)
        chunk.resume, chunk.of = page.resume, page.of
        chunk.pages += 1
        if len(chunk.products) >= size:
            yield chunk
            chunk = _Chunk()
    if chunk.pages:
        yield chunk


def _read_ahead(chunks: Iterator[_Chunk], more: Callable[[], bool]) -> Iterator[_Chunk]:
    """`chunks`, the next one read by a thread while the caller works on this one: two
    chunks in memory at most. A store error is raised here.

    Once `more()` is False no further chunk is asked for, and the chunk already read is
    the last one given: stopping after a chunk whose successor was read would throw
    that read away, and list it again on resuming (1,210 requests more than the
    11,663 of a 100,000-SKU WooCommerce listing in 2 s slices, 2026-12-07).
    """
    with ThreadPoolExecutor(1, thread_name_prefix="catalog-read") as reader:
        ahead: Future[_Chunk | None] | None = reader.submit(next, chunks, None)
        while ahead is not None and (chunk := ahead.result()):
            ahead = reader.submit(next, chunks, None) if more() else None
            yield chunk


def _rows(site_id: int, chunk: list[StoreProduct], started: datetime) -> list[dict[str, Any]]:
    """One row per SKU, in SKU order.

    A SKU listed twice in a chunk would make the upsert touch a row twice, which
    PostgreSQL refuses; the later listing wins, as it would across chunks. SKU order is
    the order `sync.push` locks rows in: an upsert taking them in the store's order
    could deadlock with a push holding some of the same rows.
    """
    rows = {
        product.sku: {
            "site_id": site_id,
            "sku": product.sku,
            "product_id": product.product_id,
            "variant_id": product.variant_id,
            "quantity": product.quantity if product.manages_stock else None,
            # Untracked stock is not ours to set (the module's first rule).
            "active": product.manages_stock,
            "updated_at": started,
        }
        for product in chunk
    }
    return [rows[sku] for sku in sorted(rows)]


_COLUMNS = ("site_id", "sku", "product_id", "variant_id", "quantity", "active", "updated_at")
#: Every row of one statement has `updated_at` = the writer's start (a refresh's, or
#: the transaction's), so `excluded.updated_at` is that start where needed below.
#: Active as the store says, unless retired after this writer's reading began (rules).
_ACTIVE = """CASE WHEN NOT items.active AND items.updated_at > excluded.updated_at THEN false
              ELSE excluded.active END"""
_QUANTITY = """CASE WHEN NOT excluded.active THEN NULL
                WHEN items.last_synced_at >= excluded.updated_at THEN items.quantity
                ELSE coalesce(excluded.quantity, items.quantity) END"""
_CHANGED = f"""(items.product_id, items.variant_id, items.active, items.quantity)
    IS DISTINCT FROM (excluded.product_id, excluded.variant_id, {_ACTIVE}, {_QUANTITY})"""


def _upsert(*, touch_unchanged: bool) -> str:
    """The one statement that writes store rows into the mirror (module rules).

    Rows that would not change are left alone, so a replayed record costs no write and
    `RETURNING` lists only rows added or changed. A refresh touches them all the same
    (`touch_unchanged`): a row it has seen gets its start as `updated_at`, and the
    rows left older at its end are the ones the store no longer lists.
    """
    where = f"items.updated_at < excluded.updated_at OR {_CHANGED}" if touch_unchanged else _CHANGED
    return f"""
    INSERT INTO items ({", ".join(_COLUMNS)}) VALUES %s
    ON CONFLICT (site_id, sku) DO UPDATE SET
        product_id = excluded.product_id,
        variant_id = excluded.variant_id,
        active = {_ACTIVE},
        -- Never backwards: a slower refresh of the same site that started earlier must
        -- not make rows look unseen to the later one's deactivation step.
        updated_at = greatest(items.updated_at, excluded.updated_at),
        quantity = {_QUANTITY}
    WHERE {where}
    RETURNING sku, xmax = 0 AS added
    """  # noqa: S608 (no input in the text: the rows go through execute_values)


_COUNT_ADDED = (
    f"WITH upserted AS ({_upsert(touch_unchanged=True)}) "  # noqa: S608 (no input)
    "SELECT count(*) FILTER (WHERE added) FROM upserted"
)
_MIRROR = _upsert(touch_unchanged=False)


def _execute_upsert(session: Session, sql: str, rows: list[dict[str, Any]]) -> list[Any]:
    """Run `sql` over `rows` as one statement in the session's transaction."""
    values = [tuple(row[column] for column in _COLUMNS) for row in rows]
    return execute_rows(session, sql, values, fetch=True)


@dataclass
class Mirrored:
    #: SKUs of the rows added to or changed in the mirror.
    changed: list[str] = field(default_factory=list)
    #: Stock-tracked SKUs new to the mirror: the caller gives them the ERP's stock.
    added: list[str] = field(default_factory=list)
    #: SKUs the store listed.
    listed: int = 0
    #: Active rows of the product the store no longer lists, now inactive.
    retired: int = 0


def mirror_products(session: Session, site_id: int, products: list[StoreProduct]) -> Mirrored:
    """Mirror a few products' SKUs (the plugin's records, which may be one variation of
    many, so nothing is retired) in the caller's transaction, which the caller commits
    (the plugin's run row with them)."""
    return _mirror(session, site_id, products, session.execute(select(func.now())).scalar_one())


def _mirror(
    session: Session, site_id: int, products: list[StoreProduct], started: datetime
) -> Mirrored:
    """Upsert `products`, read from the store at or after `started`."""
    if not products:
        return Mirrored()
    rows = _rows(site_id, products, started)
    results = _execute_upsert(session, _MIRROR, rows)
    tracked = {row["sku"] for row in rows if row["active"]}
    return Mirrored(
        changed=[sku for sku, _ in results],
        added=[sku for sku, new in results if new and sku in tracked],
        listed=len(rows),
    )


def mirror_product(session: Session, site_id: int, product_id: str, store: Storefront) -> Mirrored:
    """Read one product from the store and mirror it whole, in the caller's transaction:
    a product webhook's re-read, whatever its topic said.

    The store's answer lists every SKU the product has, so the product's active rows it
    does not list are retired (the module's rules): a renamed SKU's old row, or all of
    them when the store no longer has the product (an empty answer).

    One product at a time: a transaction-scoped advisory lock on (site, product) is
    taken *before* the store is read, so two workers handling notices of one product
    read and write one after the other, and the later reading is the one that stays.
    Then every row involved is locked in SKU order, the lock order of every writer. The
    reading's time is the clock once the lock is held, so a retirement by the previous
    holder is older than this reading, which may make the row active again.
    """
    key = f"stocksync:product:{site_id}:{product_id}"
    session.execute(select(func.pg_advisory_xact_lock(func.hashtext(key))))
    started: datetime = session.execute(select(func.clock_timestamp())).scalar_one()
    products = store.get_product(product_id)
    skus = sorted({product.sku for product in products})
    session.execute(
        select(Item.id)
        .where(Item.site_id == site_id, or_(Item.product_id == product_id, Item.sku.in_(skus)))
        .order_by(Item.sku)
        .with_for_update()
    )
    mirrored = _mirror(session, site_id, products, started)
    retired = session.execute(
        update(Item)
        .where(
            Item.site_id == site_id,
            Item.product_id == product_id,
            Item.active,
            Item.sku.not_in(skus),
        )
        .values(active=False, updated_at=func.clock_timestamp())
        .returning(Item.id)
    ).all()
    mirrored.retired = len(retired)
    return mirrored


#: The site's active rows for the SKUs, each found through the (site_id, sku) index and
#: locked in the array's order, which the caller sorts.
#:
#: Why a LATERAL subquery with LIMIT 1 (the pair is unique anyway) rather than
#: `sku IN (...)`: the LIMIT keeps the planner from flattening it into a join of its
#: choosing, and it chose to scan every row of the site and filter on the SKUs, with
#: its statistics fresh (a sequential scan) or stale after a first catalog load (a
#: bitmap scan on `site_id` alone). That is 500 locked rows out of all 20,000 read per
#: batch: 6-9 ms against 2.5-3 ms here, growing with the catalog (quadratic over a
#: full sync) where this grows with the batch.
LOCK_ITEMS = text(
    """
    SELECT item.id, item.sku, item.product_id, item.variant_id, item.quantity, item.erp_read_at
    FROM unnest(CAST(:skus AS text[])) AS wanted(sku)
    CROSS JOIN LATERAL (
        SELECT id, sku, product_id, variant_id, quantity, erp_read_at FROM items
        WHERE site_id = :site_id AND sku = wanted.sku AND active
        LIMIT 1
        FOR UPDATE
    ) AS item
    """
)

_RECORD = text(
    """
    UPDATE items SET
        quantity = v.quantity,
        erp_quantity = v.erp_quantity,
        erp_read_at = v.read_at,
        erp_item_id = coalesce(v.erp_item_id, items.erp_item_id),
        last_synced_at = CASE WHEN v.written THEN :now ELSE items.last_synced_at END
    FROM unnest(
        CAST(:ids AS bigint[]), CAST(:quantities AS integer[]),
        CAST(:erp_quantities AS integer[]), CAST(:read_ats AS timestamptz[]),
        CAST(:erp_item_ids AS text[]), CAST(:written AS boolean[])
    ) AS v(id, quantity, erp_quantity, read_at, erp_item_id, written)
    WHERE items.id = v.id
    """
)


@dataclass(frozen=True)
class Pushed:
    """What the write path wrote or confirmed for one row, to record."""

    item_id: int
    #: The number written to the store: the sellable one (sync/sellable.py).
    quantity: int
    #: The ERP figure it was computed from: the site's basis (on hand or available-for-sale).
    erp_quantity: int
    #: When the ERP value was read (`SourceItem.read_at`).
    read_at: datetime
    #: The ERP's id of the item; None keeps the one recorded (a SKU no longer listed).
    erp_item_id: str | None
    written: bool = False


def lock_for_push(session: Session, site_id: int, skus: list[str]) -> dict[str, Any]:
    """The site's active rows for `skus` (sorted by the caller), locked until commit:
    `{sku: row}` with the row's id, store ids, quantity and `erp_read_at`."""
    return {row.sku: row for row in session.execute(LOCK_ITEMS, {"site_id": site_id, "skus": skus})}


def record_pushed(session: Session, rows: list[Pushed]) -> None:
    """Record what the write path wrote or confirmed, in one UPDATE (a round trip, not
    one per SKU)."""
    if not rows:
        return
    params: dict[str, Any] = {
        "ids": [row.item_id for row in rows],
        "quantities": [row.quantity for row in rows],
        "erp_quantities": [row.erp_quantity for row in rows],
        "read_ats": [row.read_at for row in rows],
        "erp_item_ids": [row.erp_item_id for row in rows],
        "written": [row.written for row in rows],
        # The wall clock after the write, not the transaction's start: the catalog
        # refresh compares it with its own start to keep values pushed while it ran.
        "now": session.execute(select(func.clock_timestamp())).scalar_one(),
    }
    session.execute(_RECORD, params)
