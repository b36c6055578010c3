"""The one write path to a store, shared by full-sync batches and webhook events.

Contract of `push_readings(ctx, site, readings, store)`, all in one transaction:

1. Lock the site's active `items` rows for the readings' SKUs, in SKU order (`LOCK_ITEMS`;
   sorted, so two writers never deadlock).
2. Per reading (the newest one if a SKU is read twice):
   - no active row for the site: **failed**, "unknown SKU for site" (the catalog
     refresh puts rows there);
   - the row's `erp_read_at` is newer than the reading's `read_at`: **stale**, skipped,
     so an older reading never overwrites a newer one (DESIGN.md flow 6);
   - the row's quantity equals the reading's: **unchanged**, no write, but
     `erp_read_at` moves forward, so a still older reading arriving later is stale;
   - otherwise the SKU is **changed** and goes to the store.
3. One `store.set_stock` call with every changed SKU; the connector chunks it into the
   platform's batch requests. Each request passes the site's shared limit
   (sync/pacing.py). Per-item refusals fail only those SKUs.
4. One bulk UPDATE of `quantity`, `erp_read_at` and `last_synced_at` for the written
   and the confirmed rows, then commit.

The row locks are held across the HTTP call on purpose: they serialise two writers of
the same SKU, so the one holding the newer reading always writes last. Transient and
permanent connector errors raise out of here with nothing committed; the caller
decides about retries. Writes are absolute, so sending them again is safe.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import func, select, text
from sqlalchemy.orm import Session

from connectors.interfaces import Storefront
from connectors.types import SourceItem, StockUpdate
from models import Site
from models.db import transaction
from sync.pacing import calls_made

if TYPE_CHECKING:
    from workers.context import WorkerContext

UNKNOWN_SKU = "unknown SKU for site"

#: The site's active rows for the SKUs, each found through the (site_id, sku) index and
#: locked in the array's order, which the caller sorts (step 1).
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
        erp_read_at = v.read_at,
        last_synced_at = CASE WHEN v.written THEN :now ELSE items.last_synced_at END
    FROM unnest(
        CAST(:ids AS bigint[]), CAST(:quantities AS integer[]),
        CAST(:read_ats AS timestamptz[]), CAST(:written AS boolean[])
    ) AS v(id, quantity, read_at, written)
    WHERE items.id = v.id
    """
)


@dataclass
class PushOutcome:
    """What became of each reading. `failures` maps a SKU to its reason."""

    synced: int = 0
    unchanged: int = 0
    stale: int = 0
    failed: int = 0
    #: HTTP requests the store write took (retries of a throttled request included).
    store_calls: int = 0
    failures: dict[str, str] = field(default_factory=dict)

    def fail(self, sku: str, reason: str) -> None:
        self.failed += 1
        self.failures[sku] = reason


def push_readings(
    ctx: WorkerContext, site: Site, readings: Sequence[SourceItem], store: Storefront
) -> PushOutcome:
    """Push `readings` to `site` through `store` in one transaction (module docstring)."""
    with transaction(ctx.sessions) as session:
        return push_in_session(session, site.id, readings, store)


def push_in_session(
    session: Session, site_id: int, readings: Sequence[SourceItem], store: Storefront
) -> PushOutcome:
    """`push_readings` inside the caller's transaction, which the caller commits.

    A full-sync batch records its completion in the same transaction, so a crash either
    loses both the items update and the batch's counts, or keeps both: never one.
    """
    outcome = PushOutcome()
    if not readings:
        return outcome
    newest: dict[str, SourceItem] = {}
    for reading in readings:
        kept = newest.get(reading.sku)
        if kept is None or reading.read_at > kept.read_at:
            newest[reading.sku] = reading
    rows = {
        row.sku: row
        for row in session.execute(LOCK_ITEMS, {"site_id": site_id, "skus": sorted(newest)})
    }
    confirmed: list[tuple[int, int, datetime, bool]] = []
    changed: list[tuple[int, StockUpdate, datetime]] = []
    for sku, reading in sorted(newest.items()):
        row = rows.get(sku)
        if row is None:
            outcome.fail(sku, UNKNOWN_SKU)
        elif row.erp_read_at is not None and row.erp_read_at > reading.read_at:
            outcome.stale += 1
        elif row.quantity == reading.quantity:
            outcome.unchanged += 1
            confirmed.append((row.id, reading.quantity, reading.read_at, False))
        else:
            update = StockUpdate(sku, row.product_id, row.variant_id, reading.quantity)
            changed.append((row.id, update, reading.read_at))
    if changed:
        confirmed += _write(store, changed, outcome)
    _record(session, confirmed)
    return outcome


def _write(
    store: Storefront, changed: list[tuple[int, StockUpdate, datetime]], outcome: PushOutcome
) -> list[tuple[int, int, datetime, bool]]:
    """Send the changed SKUs; count them; return the rows to record as written."""
    updates = [update for _, update, _ in changed]
    before = calls_made(store)
    results = store.set_stock(updates)
    after = calls_made(store)
    if before is None or after is None:
        # A store not built by the worker context: the fewest requests it could take.
        outcome.store_calls += math.ceil(len(updates) / store.batch_limit)
    else:
        outcome.store_calls += after - before
    written = []
    for (item_id, update, read_at), result in zip(changed, results, strict=True):
        if result.ok:
            outcome.synced += 1
            written.append((item_id, update.quantity, read_at, True))
        else:
            outcome.fail(update.sku, result.error or "refused by the store")
    return written


def _record(session: Session, rows: list[tuple[int, int, datetime, bool]]) -> None:
    """One UPDATE for every written or confirmed row (a round trip, not one per SKU)."""
    if not rows:
        return
    ids, quantities, read_ats, written = (list(column) for column in zip(*rows, strict=True))
    params: dict[str, Any] = {
        "ids": ids,
        "quantities": quantities,
        "read_ats": read_ats,
        "written": written,
        # The wall clock after the write, not the transaction's start: the catalog
        # refresh compares it with its own start to keep values pushed while it ran.
        "now": session.execute(select(func.clock_timestamp())).scalar_one(),
    }
    session.execute(_RECORD, params)
