"""The one write path: what is written, skipped, failed, and who wins a race."""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import select, text
from sqlalchemy.orm import Session, sessionmaker

from connectors.interfaces import Storefront
from connectors.types import SourceItem, StockUpdate, StoreProduct, UpdateResult
from models import Item, Site, SkuRule
from models.db import transaction
from sync.catalog import LOCK_ITEMS, refresh_catalog
from sync.context import Context
from sync.erp_reads import read_erp
from sync.push import NO_BASIS, NO_LOCATIONS, UNKNOWN_SKU, push_readings
from sync.stock_policy import apply_policy
from tests.support.stack import Stack, load_site


def _mirror(ctx: Context, stack: Stack) -> None:
    site = load_site(ctx.sessions, stack.site_id)
    refresh_catalog(ctx, site, ctx.storefront(site))


def _reading(sku: str, quantity: int, read_at: datetime | None = None) -> SourceItem:
    return SourceItem(sku, quantity, f"id-{sku}", read_at or datetime.now(UTC))


def _item(sessions: sessionmaker[Session], site_id: int, sku: str) -> Item:
    with sessions() as session:
        return session.scalars(select(Item).where(Item.site_id == site_id, Item.sku == sku)).one()


def test_only_changed_skus_are_written_and_every_reading_is_accounted_for(
    ctx: Context, woo: Stack
) -> None:
    _mirror(ctx, woo)
    site = load_site(ctx.sessions, woo.site_id)
    store_now, erp = woo.store_stock(), woo.erp_stock()
    changed = sorted(woo.differing())[:30]
    same = [sku for sku in sorted(store_now) if sku not in woo.differing()][:20]
    readings = [_reading(sku, erp[sku]) for sku in changed + same]
    readings.append(_reading("NOT-IN-STORE", 5))

    outcome = push_readings(ctx, site, readings, ctx.storefront(site))

    assert (outcome.synced, outcome.unchanged, outcome.stale, outcome.failed) == (30, 20, 0, 1)
    assert outcome.failures == {"NOT-IN-STORE": UNKNOWN_SKU}
    assert outcome.store_calls == len(woo.store.writes) > 0
    after = woo.store_stock()
    assert all(after[sku] == erp[sku] for sku in changed)
    row = _item(ctx.sessions, woo.site_id, changed[0])
    assert row.quantity == erp[changed[0]] and row.last_synced_at is not None


def test_nothing_changed_means_no_store_call(ctx: Context, woo: Stack) -> None:
    _mirror(ctx, woo)
    site = load_site(ctx.sessions, woo.site_id)
    stock = woo.store_stock()
    outcome = push_readings(
        ctx, site, [_reading(sku, q) for sku, q in stock.items()], ctx.storefront(site)
    )
    assert (outcome.unchanged, outcome.store_calls, len(woo.store.writes)) == (300, 0, 0)


def test_an_older_reading_never_overwrites_a_newer_one(ctx: Context, woo: Stack) -> None:
    _mirror(ctx, woo)
    site = load_site(ctx.sessions, woo.site_id)
    store = ctx.storefront(site)
    sku = "SKU-000001"
    now = datetime.now(UTC)
    assert push_readings(ctx, site, [_reading(sku, 41, now)], store).synced == 1
    late = push_readings(ctx, site, [_reading(sku, 7, now - timedelta(seconds=1))], store)
    # Even a confirmation moves the clock on: an older reading of the same value
    # followed by a still older one must leave the newest value in place.
    confirm = push_readings(ctx, site, [_reading(sku, 41, now + timedelta(seconds=1))], store)

    assert (late.stale, late.synced, confirm.unchanged) == (1, 0, 1)
    assert woo.store_stock()[sku] == 41
    assert _item(ctx.sessions, woo.site_id, sku).erp_read_at == now + timedelta(seconds=1)


def test_a_refused_item_fails_alone(ctx: Context, woo: Stack) -> None:
    _mirror(ctx, woo)
    with ctx.sessions.begin() as session:
        session.add(Item(site_id=woo.site_id, sku="GHOST-1", product_id="999999", quantity=1))
    site = load_site(ctx.sessions, woo.site_id)
    changed = sorted(woo.differing())[:3]
    erp = woo.erp_stock()
    readings = [_reading(sku, erp[sku]) for sku in changed] + [_reading("GHOST-1", 9)]

    outcome = push_readings(ctx, site, readings, ctx.storefront(site))

    assert (outcome.synced, outcome.failed) == (3, 1)
    assert "invalid_id" in outcome.failures["GHOST-1"]
    assert _item(ctx.sessions, woo.site_id, "GHOST-1").quantity == 1


class SlowFirstWriter:
    """A store whose first `set_stock` (of all the wrappers sharing `first`) stalls:
    the slow worker of a race, still writing when the other one arrives."""

    def __init__(self, store: Storefront, first: threading.Lock, delay: float) -> None:
        self.store, self.first, self.delay = store, first, delay
        self.batch_limit = store.batch_limit

    def set_stock(self, updates: Sequence[StockUpdate]) -> list[UpdateResult]:
        if self.first.acquire(blocking=False):
            time.sleep(self.delay)
        return self.store.set_stock(updates)

    def iter_catalog(self) -> Iterator[StoreProduct]:
        return self.store.iter_catalog()

    def get_product(self, product_id: str) -> list[StoreProduct]:
        return self.store.get_product(product_id)


def test_the_newer_erp_reading_wins_a_race_every_time(ctx: Context, woo: Stack) -> None:
    """A webhook event and a full-sync batch push one SKU whose ERP value changed
    between their reads; whichever thread writes first is slowed down. 100 times."""
    _mirror(ctx, woo)
    site = load_site(ctx.sessions, woo.site_id)
    erp = ctx.source(site.source)
    sku, rng = "SKU-000004", random.Random(5)
    for round_ in range(100):
        woo.erp.set_stock({sku: 1000 + 2 * round_})
        older = erp.get_quantities([sku])[sku]
        woo.erp.set_stock({sku: 1001 + 2 * round_})
        newer = erp.get_quantities([sku])[sku]
        assert older.read_at < newer.read_at

        first = threading.Lock()
        pushes = [
            threading.Thread(
                target=push_readings,
                args=(ctx, site, [reading], SlowFirstWriter(ctx.storefront(site), first, 0.02)),
            )
            for reading in (older, newer)
        ]
        if rng.random() < 0.5:
            pushes.reverse()
        pushes[0].start()
        time.sleep(0.002)
        pushes[1].start()
        for push in pushes:
            push.join()

        assert woo.store_stock()[sku] == newer.quantity, f"round {round_}"
        assert _item(ctx.sessions, woo.site_id, sku).erp_read_at == newer.read_at


def _rows_read(plan: dict[str, Any], table: str) -> int:
    """Rows a plan's scans of `table` read: returned plus filtered out, every loop."""
    read = 0
    if plan.get("Relation Name") == table:
        kept = plan["Actual Rows"] + plan.get("Rows Removed by Filter", 0)
        read += kept * plan["Actual Loops"]
    return read + sum(_rows_read(child, table) for child in plan.get("Plans", []))


def test_locking_a_batch_reads_its_rows_not_the_whole_site(ctx: Context, woo: Stack) -> None:
    """A full sync locks 500 rows per batch; reading every row of the site for each made
    the sync quadratic in the catalog's size (the planner chose to, with fresh
    statistics and with none)."""
    _mirror(ctx, woo)
    with transaction(ctx.sessions) as session:
        session.execute(
            text(
                """
                INSERT INTO items (site_id, sku, product_id, quantity)
                SELECT :site, 'BIG-' || lpad(n::text, 6, '0'), 'p' || n, 1
                FROM generate_series(1, 20000) AS n
                """
            ),
            {"site": woo.site_id},
        )
    skus = [f"BIG-{n:06d}" for n in range(1001, 1501)]
    for statistics in ("none", "fresh"):
        if statistics == "fresh":
            with ctx.engine.connect() as conn:
                conn.execute(text("ANALYZE items"))
        with ctx.sessions() as session:
            ((plan,),) = session.execute(
                text(f"EXPLAIN (ANALYZE, FORMAT JSON) {LOCK_ITEMS.text}"),
                {"site_id": woo.site_id, "skus": skus},
            ).all()
            session.rollback()
        assert _rows_read(plan[0]["Plan"], "items") == len(skus), statistics


def test_erp_readings_are_dated_by_the_databases_clock_just_before_the_request(
    ctx: Context, woo: Stack
) -> None:
    """Workers on several hosts date their readings by one clock, PostgreSQL's."""
    source = load_site(ctx.sessions, woo.site_id).source
    sku = sorted(woo.erp_stock())[0]

    before = ctx.clock()
    [reading] = read_erp(ctx, ctx.source(source), source.id, [sku])
    after = ctx.clock()

    assert before < reading.read_at < after
    assert reading.listed and reading.quantity == woo.erp_stock()[sku]


def test_a_reading_taken_earlier_loses_to_a_later_one_pushed_first(
    ctx: Context, woo: Stack
) -> None:
    """Two workers: one reads, stalls; the other reads the ERP's next value and pushes.
    The first one's push, arriving last, is refused."""
    _mirror(ctx, woo)
    site = load_site(ctx.sessions, woo.site_id)
    sku = sorted(woo.erp_stock())[1]
    erp = ctx.source(site.source)
    [older] = read_erp(ctx, erp, site.source_id, [sku])
    woo.erp.set_stock({sku: older.quantity + 9})
    [newer] = read_erp(ctx, erp, site.source_id, [sku])

    first = push_readings(ctx, site, [newer], ctx.storefront(site))
    last = push_readings(ctx, site, [older], ctx.storefront(site))

    assert (first.synced, last.stale) == (1, 1)
    assert woo.store_stock()[sku] == older.quantity + 9


def _policy(ctx: Context, site_id: int, **changes: Any) -> None:
    with transaction(ctx.sessions) as session:
        apply_policy(session.get_one(Site, site_id), changes)


def _rule(ctx: Context, site_id: int, sku: str, kind: str, quantity: int | None = None) -> None:
    with transaction(ctx.sessions) as session:
        session.add(SkuRule(site_id=site_id, sku=sku, rule=kind, quantity=quantity))


def test_the_sellable_number_is_written_and_its_reading_recorded(ctx: Context, woo: Stack) -> None:
    _mirror(ctx, woo)
    _policy(ctx, woo.site_id, stock_buffer=2, stock_floor=3)
    _rule(ctx, woo.site_id, "SKU-000003", "override", 50)
    _rule(ctx, woo.site_id, "SKU-000004", "opt_out")
    site = load_site(ctx.sessions, woo.site_id)
    before = woo.store_stock()["SKU-000004"]
    readings = [
        _reading("SKU-000001", 10),  # 10 - 2 = 8
        _reading("SKU-000002", 4),  # 4 - 2 = 2, below the floor of 3: 0
        _reading("SKU-000003", 1),  # override
        _reading("SKU-000004", 999),  # opted out: a write would have set 999
    ]

    outcome = push_readings(ctx, site, readings, ctx.storefront(site))

    assert (outcome.synced, outcome.opted_out, outcome.failed) == (3, 1, 0)
    store = woo.store_stock()
    assert [store[f"SKU-00000{n}"] for n in (1, 2, 3)] == [8, 0, 50]
    assert store["SKU-000004"] == before
    rows = {n: _item(ctx.sessions, woo.site_id, f"SKU-00000{n}") for n in (1, 2, 3, 4)}
    assert [(rows[n].quantity, rows[n].erp_quantity) for n in (1, 2, 3)] == [
        (8, 10),
        (0, 4),
        (50, 1),
    ]
    assert rows[4].erp_quantity is None and rows[4].erp_read_at is None


def test_a_reading_whose_sellable_number_is_in_place_writes_nothing(
    ctx: Context, woo: Stack
) -> None:
    _mirror(ctx, woo)
    site = load_site(ctx.sessions, woo.site_id)
    store = ctx.storefront(site)
    assert push_readings(ctx, site, [_reading("SKU-000001", 12)], store).synced == 1
    _policy(ctx, woo.site_id, stock_buffer=10, stock_buffer_unit="percent")
    writes = len(woo.store.writes)
    # 90 % of 14 is 12.6, rounded down to the same number as before: nothing to write.
    outcome = push_readings(ctx, site, [_reading("SKU-000001", 14)], store)
    assert (outcome.unchanged, len(woo.store.writes)) == (1, writes)
    assert _item(ctx.sessions, woo.site_id, "SKU-000001").erp_quantity == 14


def test_the_basis_figure_is_sold_and_recorded_and_a_missing_one_fails(
    ctx: Context, woo: Stack
) -> None:
    """Basis available-for-sale sells on hand less committed; a reading without the
    figure (an ERP that does not report it) fails and leaves the store alone."""
    _mirror(ctx, woo)
    _policy(ctx, woo.site_id, stock_buffer=2)
    with transaction(ctx.sessions) as session:
        # Set directly: the service refuses this basis for the stack's ERP (BC).
        session.get_one(Site, woo.site_id).stock_basis = "available_for_sale"
    site = load_site(ctx.sessions, woo.site_id)
    before = woo.store_stock()["SKU-000002"]
    now = datetime.now(UTC)
    readings = [
        SourceItem("SKU-000001", 10, "id-1", now, available_for_sale=6),
        SourceItem("SKU-000002", 10, "id-2", now),
    ]

    outcome = push_readings(ctx, site, readings, ctx.storefront(site))

    assert (outcome.synced, outcome.failures) == (1, {"SKU-000002": NO_BASIS})
    assert woo.store_stock()["SKU-000001"] == 4
    assert woo.store_stock()["SKU-000002"] == before
    row = _item(ctx.sessions, woo.site_id, "SKU-000001")
    assert (row.quantity, row.erp_quantity) == (4, 6)
    assert _item(ctx.sessions, woo.site_id, "SKU-000002").erp_read_at is None


def test_a_mapped_site_sells_its_locations_sum_and_fails_a_reading_without_them(
    ctx: Context, woo: Stack
) -> None:
    """The basis summed over the site's ERP locations is sold and recorded; a reading
    without per-location figures fails by name and leaves the store alone."""
    _mirror(ctx, woo)
    with transaction(ctx.sessions) as session:
        # Set directly: the service refuses a mapping for the stack's ERP (BC).
        session.get_one(Site, woo.site_id).erp_location_ids = ["W1", "W3"]
    site = load_site(ctx.sessions, woo.site_id)
    before = woo.store_stock()["SKU-000002"]
    now = datetime.now(UTC)
    warehouses = {"W1": (3, 3), "W2": (50, 50), "W3": (4, 4)}
    readings = [
        SourceItem("SKU-000001", 57, "id-1", now, locations=warehouses),
        SourceItem("SKU-000002", 10, "id-2", now),
    ]

    outcome = push_readings(ctx, site, readings, ctx.storefront(site))

    assert (outcome.synced, outcome.failures) == (1, {"SKU-000002": NO_LOCATIONS})
    assert woo.store_stock()["SKU-000001"] == 7
    assert woo.store_stock()["SKU-000002"] == before
    assert _item(ctx.sessions, woo.site_id, "SKU-000001").erp_quantity == 7
