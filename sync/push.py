"""The one write path to a store, shared by full-sync batches and webhook events.

Contract of `push_readings(ctx, site, readings, store)`, all in one transaction:

1. Lock the site's active `items` rows for the readings' SKUs, in SKU order
   (sync/catalog.py `lock_for_push`; sorted, so two writers never deadlock).
2. Per reading (the newest one if a SKU is read twice):
   - no active row for the site: **failed**, "unknown SKU for site" (the catalog
     refresh puts rows there);
   - the row's `erp_read_at` is newer than the reading's `read_at`: **stale**, skipped,
     so an older reading never overwrites a newer one (docs/architecture.md flow 6);
   - the row's quantity equals the reading's: **unchanged**, no write, but
     `erp_read_at` moves forward, so a still older reading arriving later is stale;
   - otherwise the SKU is **changed** and goes to the store.
3. One `store.set_stock` call with every changed SKU; the connector chunks it into the
   platform's batch requests. Each request passes the site's shared limit
   (sync/pacing.py). Per-item refusals fail only those SKUs.
4. One bulk UPDATE of `quantity`, `erp_read_at` and `last_synced_at` for the written
   and the confirmed rows (sync/catalog.py `record_pushed`), then commit.

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

from sqlalchemy.orm import Session

from connectors.interfaces import Storefront
from connectors.types import SourceItem, StockUpdate
from models import Site
from models.db import transaction
from sync.catalog import lock_for_push, record_pushed
from sync.context import Context
from sync.pacing import calls_made

UNKNOWN_SKU = "unknown SKU for site"


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
    ctx: Context, site: Site, readings: Sequence[SourceItem], store: Storefront
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
    rows = lock_for_push(session, site_id, sorted(newest))
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
    record_pushed(session, confirmed)
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
