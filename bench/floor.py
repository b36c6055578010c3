"""The floor of a full sync: the same reads, writes and upserts with nothing in between.

No queue, no run or batch rows, no shared store limit, no row locks: the connectors
called directly, `concurrency` threads over the batches (as many as the worker has
processes), and PostgreSQL written with psycopg2's `execute_values`, the fastest plain
path docs/architecture.md measured short of COPY. What a full sync costs above this is what the
system's guarantees cost.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from itertools import islice
from typing import Any

import psycopg2
from psycopg2.extensions import connection as Connection
from psycopg2.extras import execute_values
from sqlalchemy.engine import make_url

from bench.stack import SandboxSite
from connectors.interfaces import InventorySource, Storefront
from connectors.registry import build_source, build_storefront
from connectors.types import StockUpdate, StoreProduct
from demo.platforms import ERP

BATCH = 500
#: Rows per upsert statement while mirroring the catalog (as sync/catalog.py).
CHUNK = 1000
_CREATE = """
CREATE TABLE bench_floor_items (
    sku text PRIMARY KEY, product_id text NOT NULL, variant_id text, quantity integer
)
"""
_UPSERT = """
INSERT INTO bench_floor_items VALUES %s ON CONFLICT (sku) DO UPDATE SET
    product_id = excluded.product_id, variant_id = excluded.variant_id,
    quantity = excluded.quantity
"""
_RECORD = """
UPDATE bench_floor_items SET quantity = v.quantity FROM (VALUES %s) AS v(sku, quantity)
WHERE bench_floor_items.sku = v.sku
"""


def _dsn(database_url: str) -> str:
    return make_url(database_url).set(drivername="postgresql").render_as_string(False)


class _Clients:
    """An ERP client, a store client and a connection: one set per thread, as a worker
    process has one set, so none is shared between threads."""

    def __init__(self, site: SandboxSite, dsn: str) -> None:
        erp, store = site.accounts[ERP], site.accounts[site.store.platform]
        self.erp: InventorySource = build_source(
            ERP, site.erp.url, erp.stored_credentials(site.erp.url)
        )
        self.store: Storefront = build_storefront(
            site.store.platform, site.store.url, store.stored_credentials(site.store.url)
        )
        self.db: Connection = psycopg2.connect(dsn)


@contextmanager
def _table(dsn: str) -> Iterator[None]:
    with psycopg2.connect(dsn) as conn, conn.cursor() as cur:
        cur.execute("DROP TABLE IF EXISTS bench_floor_items")
        cur.execute(_CREATE)
    try:
        yield
    finally:
        with psycopg2.connect(dsn) as conn, conn.cursor() as cur:
            cur.execute("DROP TABLE bench_floor_items")


def _mirror(clients: _Clients) -> dict[str, StoreProduct]:
    """List the store's catalog and upsert it in chunks; the stock-tracked SKUs."""
    catalog: dict[str, StoreProduct] = {}
    products = iter(clients.store.iter_catalog())
    while chunk := list(islice(products, CHUNK)):
        rows = {p.sku: (p.sku, p.product_id, p.variant_id, p.quantity) for p in chunk}
        with clients.db, clients.db.cursor() as cur:
            execute_values(cur, _UPSERT, sorted(rows.values()))
        catalog.update((p.sku, p) for p in chunk if p.manages_stock)
    return catalog


def _batch(clients: _Clients, skus: Sequence[str], catalog: dict[str, StoreProduct]) -> int:
    """Read, diff, write and record one batch; how many SKUs it wrote."""
    readings = clients.erp.get_quantities(skus)
    changed = [
        StockUpdate(sku, catalog[sku].product_id, catalog[sku].variant_id, item.quantity)
        for sku, item in readings.items()
        if item.quantity != catalog[sku].quantity
    ]
    if changed:
        results = clients.store.set_stock(changed)
        written = [(u.sku, u.quantity) for u, r in zip(changed, results, strict=True) if r.ok]
        with clients.db, clients.db.cursor() as cur:
            execute_values(cur, _RECORD, written)
    return len(changed)


def floor(database_url: str, site: SandboxSite, concurrency: int) -> dict[str, Any]:
    """Time the floor of a full sync of `site` (module docstring); its figures."""
    dsn = _dsn(database_url)
    local = threading.local()
    made: list[_Clients] = []

    def clients() -> _Clients:
        if not hasattr(local, "clients"):
            local.clients = _Clients(site, dsn)
            made.append(local.clients)
        mine: _Clients = local.clients
        return mine

    with _table(dsn):
        started = time.monotonic()
        catalog = _mirror(clients())
        mirrored = time.monotonic()
        skus = sorted(catalog)
        batches = [skus[i : i + BATCH] for i in range(0, len(skus), BATCH)]
        with ThreadPoolExecutor(concurrency) as pool:
            written = sum(pool.map(lambda batch: _batch(clients(), batch, catalog), batches))
        seconds = time.monotonic() - started
        for each in made:
            each.db.close()
    return {
        "seconds": seconds,
        "refresh_seconds": mirrored - started,
        "batches_seconds": started + seconds - mirrored,
        "written": written,
        "skus": len(skus),
    }
