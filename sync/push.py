"""The one write path to a store, shared by full-sync batches and webhook events.

Contract of `push_readings(ctx, site, readings, store)`, all in one transaction:

1. Lock the site's active `items` rows for the readings' SKUs, in SKU order
   (sync/catalog.py `lock_for_push`; sorted, so two writers never deadlock).
2. Per reading (the newest one if a SKU is read twice):
   - no active row for the site: **failed**, "unknown SKU for site" (the catalog
     refresh puts rows there);
   - the ERP does not list the SKU (`SourceItem.listed` false) and never gave us a
     reading of it (`erp_read_at` NULL): **failed**, "not in the ERP, and never was",
     and the store keeps its value (see "Gone from the ERP" below);
   - the ERP does not list a SKU it once did: the item was deleted there, so the
     reading is 0 and goes on like any other;
   - the row's `erp_read_at` is newer than the reading's `read_at`: **stale**, skipped,
     so an older reading never overwrites a newer one (docs/architecture.md flow 6);
   - the site opted the SKU out (sync/sellable.py): **opted_out**, never written,
     nothing recorded (checked before the ERP's listing: an opted-out SKU the ERP
     lacks is the merchant's choice, not a failure);
   - the site sells from available-for-sale and the reading has no such figure (an
     ERP that does not report it): **failed**, `NO_BASIS`, the store keeps its value;
     likewise `NO_LOCATIONS` for a site mapped to ERP locations and a reading without
     per-location figures;
   - the number to write is the *sellable* one, from the reading's figure for the
     site's basis (on hand or available-for-sale), less the units the source's store
     orders hold that the reading does not net yet (sync/reservations.py), and the
     site's stock policy (sync/sellable.py, read in this transaction): buffer, floor,
     override. If the row's quantity equals it: **unchanged**, no write, but
     `erp_read_at` moves forward, so a still older reading arriving later is stale;
   - `read_back` (the store that took an order, sync/store_orders.py): its current
     numbers are read once the rows are locked and stand for the rows' quantities,
     and a number above the store's is not written: the store is below it because of
     a sale whose order we have not processed yet, and writing it would sell those
     units again;
   - otherwise the SKU is **changed** and goes to the store.
3. One `store.set_stock` call with every changed SKU; the connector chunks it into the
   platform's batch requests. Each request passes the site's shared limit
   (sync/pacing.py). Per-item refusals fail only those SKUs.
4. One bulk UPDATE of `quantity` (the sellable number), `erp_quantity` (the basis
   figure it came from: on hand or available-for-sale, as the site's basis says),
   `erp_read_at` and `last_synced_at` for the written and the confirmed rows
   (sync/catalog.py `record_pushed`), then commit.

The row locks are held across the HTTP call on purpose: they serialise two writers of
the same SKU, so the one holding the newer reading always writes last. Transient and
permanent connector errors raise out of here with nothing committed; the caller
decides about retries. Writes are absolute, so sending them again is safe.

Gone from the ERP. An item the ERP retired but keeps (blocked, inactive) is read as 0
by its connector. One the ERP no longer lists at all sells as 0 too, but only if the
ERP once had it: a SKU it never had is left as the store has it and reported by name.
Zeroing those as well would never oversell, but it is also what a source pointed at the
wrong company or organisation would do to every SKU of a store on its first run; a
store-only SKU (a bundle, a made-to-order item) is the merchant's to manage. The one
signal is ours: `items.erp_read_at`, set by every reading recorded here.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field

from sqlalchemy.orm import Session

from connectors.interfaces import Storefront
from connectors.types import SourceItem, StockUpdate
from models import Site
from models.db import transaction
from sync.catalog import Pushed, lock_for_push, record_pushed
from sync.context import Context
from sync.reservations import reported_orders, reserved_units
from sync.sellable import basis_figure, opted_out, sellable
from sync.stock_policy import load_policy
from sync.store_writes import read_levels, write_changed

log = logging.getLogger(__name__)

UNKNOWN_SKU = "unknown SKU for site"
NEVER_IN_ERP = "not in the ERP, and never was: left as the store has it"
NO_BASIS = (
    "the ERP gives no available-for-sale figure for this SKU (the site's stock_basis): "
    "left as the store has it"
)
NO_LOCATIONS = (
    "the ERP gives no per-location figures for this SKU (the site's erp_location_ids): "
    "left as the store has it"
)


@dataclass
class PushOutcome:
    """What became of each reading. `failures` maps a SKU to its reason."""

    synced: int = 0
    unchanged: int = 0
    stale: int = 0
    failed: int = 0
    #: Readings of SKUs the site opted out of: not written, not failed.
    opted_out: int = 0
    #: HTTP requests the store write took (retries of a throttled request included).
    store_calls: int = 0
    failures: dict[str, str] = field(default_factory=dict)
    #: A preview's findings (`dry_run`): SKU -> [what the store shows, what we would write].
    changes: dict[str, list[int | None]] = field(default_factory=dict)

    def fail(self, sku: str, reason: str) -> None:
        self.failed += 1
        self.failures[sku] = reason


def push_readings(
    ctx: Context,
    site: Site,
    readings: Sequence[SourceItem],
    store: Storefront,
    *,
    read_back: bool = False,
) -> PushOutcome:
    """Push `readings` to `site` through `store` in one transaction (module docstring)."""
    with transaction(ctx.sessions) as session:
        return push_in_session(session, site.id, readings, store, read_back=read_back)


def push_in_session(
    session: Session,
    site_id: int,
    readings: Sequence[SourceItem],
    store: Storefront,
    *,
    read_back: bool = False,
    dry_run: bool = False,
) -> PushOutcome:
    """`push_readings` inside the caller's transaction, which the caller commits.

    A full-sync batch records its completion in the same transaction, so a crash either
    loses both the items update and the batch's counts, or keeps both: never one. With
    `dry_run` (a preview run) nothing is written to the store or recorded as pushed:
    each write it would make is in `outcome.changes` and counted as synced.
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
    levels = read_levels(store, rows.values()) if read_back else {}
    policy, rules = load_policy(session, site_id, sorted(newest))
    site = session.get_one(Site, site_id)
    held = reserved_units(session, site_id, site.source_id, policy.basis, list(newest.values()))
    confirmed: list[Pushed] = []
    changed: list[tuple[StockUpdate, Pushed]] = []
    for sku, reading in sorted(newest.items()):
        row = rows.get(sku)
        rule = rules.get(sku)
        figure = basis_figure(reading, policy)
        number = None if figure is None else sellable(figure - held.get(sku, 0), policy, rule)
        if figure is not None and held.get(sku, 0) > figure and row is not None:
            # Stores sold more than the ERP has (sync/reservation_report.py).
            log.warning(
                "stock.oversold",
                extra={"site": site_id, "sku": sku, "erp": figure, "reserved": held[sku]},
            )
        if row is None:
            outcome.fail(sku, UNKNOWN_SKU)
        elif opted_out(rule):
            outcome.opted_out += 1
        elif not reading.listed and row.erp_read_at is None:
            outcome.fail(sku, NEVER_IN_ERP)
        elif row.erp_read_at is not None and row.erp_read_at > reading.read_at:
            outcome.stale += 1
        elif figure is None or number is None:
            unmapped = policy.locations is not None and reading.locations is None
            outcome.fail(sku, NO_LOCATIONS if unmapped else NO_BASIS)
        else:
            current = levels.get(sku, row.quantity)
            if sku in levels:
                number = min(number, levels[sku])
            pushed = Pushed(row.id, number, figure, reading.read_at, reading.item_id or None)
            if current == number:
                outcome.unchanged += 1
                confirmed.append(pushed)
            else:
                update = StockUpdate(sku, row.product_id, row.variant_id, number, current)
                changed.append((update, pushed))
    if dry_run:
        outcome.synced = len(changed)
        outcome.changes = {u.sku: [u.expected, u.quantity] for u, _ in changed}
        return outcome
    if changed:
        confirmed += write_changed(
            store, changed, outcome, keep_sales=reported_orders(session, site_id)
        )
    record_pushed(session, confirmed)
    return outcome
