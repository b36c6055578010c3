"""A source's shared read of its ERP (sync/erp_reads.py): once per cycle for all its
sites' runs, never older than the run, resumable, and fenced between holders."""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from dataclasses import replace
from typing import cast

import pytest
import redis
from sqlalchemy import func, select, update
from sqlalchemy.orm import Session, sessionmaker

from connectors.businesscentral import PAGE_SIZE
from connectors.interfaces import InventorySource
from connectors.types import ItemPage, SourceItem
from models import ErpRead, ErpReading, ErpReadStatus, Site, Source, SyncRun
from models.crypto import Vault
from models.db import transaction
from sync.batches import claim_batch, sync_batch
from sync.context import Context
from sync.erp_reads import MAX_PAUSE_SECONDS, purge_reads, share_read
from sync.limits import Priority
from sync.progress import run_progress
from sync.runs import prepare_batches
from tests.support.broker import RecordingBroker
from tests.support.stack import (
    START,
    begun_run,
    run_row,
    sandbox_stack,
    set_rows,
    sibling_store,
    wait_for,
)

#: The Business Central sandbox's item list, as its request counter names it.
ITEMS = "GET /v2.0/<tenant>/<environment>/api/v2.0/companies(<company_id>)/items"
#: The Business Central sandbox lists, beside its seeded items, a service (no stock:
#: not read) and a blocked item (read as 0).
BLOCKED = 1
#: Far in the future: read to the end.
NO_DEADLINE = math.inf


def _sync(ctx: Context, run_id: int) -> None:
    """Cut the run's batches (its read must be complete) and sync each."""
    cut = prepare_batches(ctx, run_id, START)
    assert cut.again_in is None, "the run's read is not complete"
    for batch_id in cut.batch_ids:
        with transaction(ctx.sessions) as session:
            claim = claim_batch(session, batch_id, delivery="test")
        assert claim is not None
        sync_batch(ctx, claim)


def _erp(ctx: Context, site_id: int) -> InventorySource:
    with ctx.sessions() as session:
        return ctx.source(session.get_one(Site, site_id).source, Priority.BULK)


class Paused:
    """The ERP connector, with `between(page)` called after each page it yields: what
    another worker does while this one reads."""

    def __init__(self, erp: InventorySource, between: Callable[[int], None]) -> None:
        self.erp = erp
        self.between = between

    def iter_item_pages(self, resume: str | None = None) -> Iterator[ItemPage]:
        for number, page in enumerate(self.erp.iter_item_pages(resume), 1):
            yield page
            self.between(number)

    def __getattr__(self, name: str) -> object:
        return getattr(self.erp, name)


def _reads(db: sessionmaker[Session]) -> list[ErpRead]:
    with db() as session:
        return list(session.scalars(select(ErpRead).order_by(ErpRead.id)))


def test_three_sites_on_one_source_read_it_once_per_cycle(
    service: Context, db: sessionmaker[Session], vault: Vault
) -> None:
    """Issue 22, item 2: each site's batches read the ERP for themselves before (here
    3 sites x 3 batches x one filtered request per ~50 SKUs); now the source's item
    list is read once, and every store ends equal to the ERP."""
    items = 1200
    with ExitStack() as stack:
        erp = stack.enter_context(sandbox_stack(db, vault, "bigcommerce", items=items, drift=0.3))
        siblings = [
            stack.enter_context(
                sibling_store(
                    db, vault, erp.source_id, platform, name=platform, items=items, drift=0.3
                )
            )
            for platform in ("woocommerce", "shopify")
        ]
        site_ids = [erp.site_id, *(site_id for _, site_id in siblings)]
        runs = [begun_run(db, site_id) for site_id in site_ids]  # one wave
        for run_id in runs:
            _sync(service, run_id)

        pages = math.ceil((items + 2) / PAGE_SIZE)
        assert erp.erp.route_calls[ITEMS] == pages
        assert erp.differing() == set()
        for store, _ in siblings:
            assert store.stock() == {sku: erp.erp_stock()[sku] for sku in store.stock()}
        [read] = _reads(db)
        assert (read.status, read.pages, read.items) == (
            ErpReadStatus.COMPLETE,
            pages,
            items + BLOCKED,
        )
        assert {run_row(db, run_id).erp_read_id for run_id in runs} == {read.id}

        # The next cycle reads again: a run never takes readings older than itself.
        _sync(service, begun_run(db, erp.site_id))
        assert erp.erp.route_calls[ITEMS] == 2 * pages


def test_a_run_waits_for_a_read_going_on_and_takes_it_only_if_started_after_it(
    service: Context, db: sessionmaker[Session], vault: Vault
) -> None:
    """A run of the same wave waits for the read and shares it; a run created after the
    read began waits for it too, then reads the ERP anew."""
    with sandbox_stack(db, vault, "bigcommerce", items=2500, drift=0.1) as stack:
        holder = begun_run(db, stack.site_id)
        with sibling_store(db, vault, stack.source_id, "woocommerce", name="w", items=50) as (
            _,
            sibling,
        ):
            same_wave = begun_run(db, sibling)
            erp = _erp(service, stack.site_id)
            first = share_read(service, holder, erp, deadline=0.0)  # one page, then stop
            assert (first.read_id, first.again_in) == (None, 0.0)
            # What their progress says while their catalogs list (the holder reads its
            # source meanwhile: sync/runs.py `prepare_batches`), and once listed.
            with db() as session:
                assert (
                    run_progress(session, holder).activity
                    == "listing catalog; reading the ERP: page 1"
                )
                assert run_progress(session, same_wave).activity == "listing catalog"
            set_rows(db, SyncRun, [holder, same_wave], catalog_listed_at=func.now())
            with db() as session:
                assert run_progress(session, holder).activity == "reading the ERP: page 1"
                assert (
                    run_progress(session, same_wave).activity
                    == f"waiting for the ERP, read by run {holder}: page 1"
                )
            with sibling_store(db, vault, stack.source_id, "shopify", name="s", items=50) as (
                _,
                late_site,
            ):
                later = begun_run(db, late_site)
                waiting = service.erp_read_poll_seconds
                assert share_read(service, same_wave, erp, NO_DEADLINE).again_in == waiting
                assert share_read(service, later, erp, NO_DEADLINE).again_in == waiting

                done = share_read(service, holder, erp, NO_DEADLINE)
                assert done.read_id is not None
                assert share_read(service, same_wave, erp, NO_DEADLINE).read_id == done.read_id
                anew = share_read(service, later, erp, NO_DEADLINE)
                assert anew.read_id not in (None, done.read_id)
        # 3 pages for the first read, none read twice (BC resumes by skip token); 3 again.
        assert stack.erp.route_calls[ITEMS] == 6


def test_a_run_reads_its_source_while_its_store_lists(
    service: Context, db: sessionmaker[Session], vault: Vault, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The store and the ERP are two platforms with budgets of their own: the start task
    reads the ERP while the store lists, not after (a platform floor overlaps them;
    BigCommerce's full sync took 1.43x its floor with the read after the listing). The
    store's listing waits after its first page for the run's read to complete, which
    a read made after the listing never does."""
    with sandbox_stack(db, vault, "woocommerce", items=250, drift=0.1) as stack:
        run_id = begun_run(db, stack.site_id)
        storefront = service.storefront

        def waiting_for_the_read(site: Site, priority: Priority) -> object:
            store = storefront(site, priority)
            pages = store.iter_pages

            def iter_pages(resume: str | None = None) -> Iterator[object]:
                for number, page in enumerate(pages(resume), 1):
                    yield page
                    if number == 1:
                        wait_for(lambda: run_row(db, run_id).erp_read_id is not None, 30)

            store.iter_pages = iter_pages  # type: ignore[method-assign,assignment]
            return store

        monkeypatch.setattr(service, "storefront", waiting_for_the_read)
        cut = prepare_batches(service, run_id, START)
        assert cut.again_in is None and cut.batch_ids
        [read] = _reads(db)
        assert read.status == ErpReadStatus.COMPLETE


@pytest.mark.parametrize("broker_down", [False, True])
def test_the_run_completing_the_read_wakes_the_runs_waiting_for_it(
    service: Context,
    broker: RecordingBroker,
    db: sessionmaker[Session],
    vault: Vault,
    broker_down: bool,
) -> None:
    """A waiting run's start task is queued as the read completes, not only at its next
    look (`erp_read_poll_seconds`). A run still listing its catalog is not woken (its
    start task is at work); with the broker down the read completes all the same and
    the waiting runs' own looks are the fallback."""
    with ExitStack() as stack:
        erp = stack.enter_context(sandbox_stack(db, vault, "bigcommerce", items=2500))
        siblings = [
            stack.enter_context(
                sibling_store(db, vault, erp.source_id, "woocommerce", name=name, items=50)
            )[1]
            for name in ("waiting", "listing")
        ]
        holder, waiting, listing = (begun_run(db, id_) for id_ in (erp.site_id, *siblings))
        set_rows(db, SyncRun, [holder, waiting], catalog_listed_at=func.now())
        connector = _erp(service, erp.site_id)
        assert share_read(service, holder, connector, deadline=0.0).read_id is None
        poll = service.erp_read_poll_seconds
        assert share_read(service, waiting, connector, NO_DEADLINE).again_in == poll
        broker.fails_after = 0 if broker_down else None

        done = share_read(service, holder, connector, NO_DEADLINE)

        assert done.read_id is not None
        assert broker.sent("start_run") == ([] if broker_down else [waiting])
        assert share_read(service, waiting, connector, NO_DEADLINE).read_id == done.read_id
        assert run_row(db, listing).erp_read_id is None


def test_a_holder_whose_lease_lapsed_is_taken_over_and_its_next_page_refused(
    service: Context, db: sessionmaker[Session], vault: Vault
) -> None:
    """Killed or stalled mid-read, a holder's place survives it: another run of the
    wave takes the read over and goes on from there. The first holder, alive after
    all, writes nothing more into the read and waits."""
    with sandbox_stack(db, vault, "bigcommerce", items=3500, drift=0.1) as stack:
        with sibling_store(db, vault, stack.source_id, "woocommerce", name="w", items=50) as (
            _,
            sibling,
        ):
            stalled, other = begun_run(db, stack.site_id), begun_run(db, sibling)
            erp = _erp(service, stack.site_id)
            taken: list[object] = []

            def taken_over_after_page_two(number: int) -> None:
                if number == 2:
                    with transaction(db) as session:
                        session.execute(update(ErpRead).values(lease_expires_at=func.now()))
                    taken.append(share_read(service, other, erp, NO_DEADLINE))

            late = share_read(service, stalled, Paused(erp, taken_over_after_page_two), NO_DEADLINE)

            assert late.again_in == service.erp_read_poll_seconds  # page 3 refused
            [read] = _reads(db)
            assert taken[0].read_id == read.id  # type: ignore[attr-defined]
            assert (read.status, read.items, read.holder_run_id) == (
                ErpReadStatus.COMPLETE,
                3500 + BLOCKED,
                other,
            )
            # Two pages by the first holder, then two by the second from its place;
            # the first's third page was read but never recorded.
            assert stack.erp.route_calls[ITEMS] == 5
            assert share_read(service, stalled, erp, NO_DEADLINE).read_id == read.id


def test_a_sku_the_read_skipped_is_asked_of_the_erp_not_zeroed(
    service: Context, db: sessionmaker[Session], vault: Vault
) -> None:
    """An ERP paging by number over a moving list can skip an item; the store must not
    sell it as 0 for that. A SKU the ERP once had and the read lacks is asked live."""
    with sandbox_stack(db, vault, "bigcommerce", items=40, drift=0.0) as stack:
        _sync(service, begun_run(db, stack.site_id))  # the ERP has had every SKU
        skipped = "SKU-000007"
        stack.erp.set_stock({skipped: 31})
        erp = _erp(service, stack.site_id)

        class Skipping(Paused):
            def iter_item_pages(self, resume: str | None = None) -> Iterator[ItemPage]:
                for page in self.erp.iter_item_pages(resume):
                    kept = [item for item in page.items if item.sku != skipped]
                    yield ItemPage(kept, page.resume)

        run_id = begun_run(db, stack.site_id)
        assert share_read(service, run_id, Skipping(erp, lambda _: None), NO_DEADLINE).read_id
        _sync(service, run_id)

        assert stack.store_stock()[skipped] == 31


def test_reads_ended_days_ago_are_purged_with_their_readings(
    service: Context, db: sessionmaker[Session], vault: Vault
) -> None:
    with sandbox_stack(db, vault, "bigcommerce", items=30, drift=0.0) as stack:
        old = begun_run(db, stack.site_id)
        _sync(service, old)
        with transaction(db) as session:
            session.execute(
                update(ErpRead).values(finished_at=func.now() - func.make_interval(0, 0, 0, 3))
            )
        _sync(service, begun_run(db, stack.site_id))
        with transaction(db) as session:
            assert purge_reads(session) == 1
        [kept] = _reads(db)
        assert kept.items == 30 + BLOCKED and run_row(db, old).erp_read_id is None


def test_a_read_that_uses_up_the_erps_day_waits_for_it_and_goes_on_from_its_place(
    service: Context, db: sessionmaker[Session], vault: Vault, redis_client: redis.Redis
) -> None:
    """Zoho caps a day by plan: a read that reaches the cap keeps its place and its
    holder and goes on when the day frees, instead of failing the run after its
    retries; the runs waiting for it look again only then, and say why."""
    with sandbox_stack(
        db, vault, "woocommerce", items=2000, erp="zoho", source={"rate_limit_daily": 10}
    ) as stack:
        with sibling_store(db, vault, stack.source_id, "bigcommerce", name="b", items=50) as (
            _,
            sibling,
        ):
            holder, waiting = begun_run(db, stack.site_id), begun_run(db, sibling)
            erp = _erp(service, stack.site_id)

            paused = share_read(service, holder, erp, NO_DEADLINE)

            assert paused.again_in == MAX_PAUSE_SECONDS
            [read] = _reads(db)
            assert read.status == ErpReadStatus.READING and 0 < read.pages < 11
            assert share_read(service, waiting, erp, NO_DEADLINE).again_in == MAX_PAUSE_SECONDS
            set_rows(db, SyncRun, [waiting], catalog_listed_at=func.now())
            with db() as session:
                activity = run_progress(session, waiting).activity
            assert activity is not None and "daily budget" in activity
            pages_before = read.pages

            with db() as session:
                day_log = service.limit(session.get_one(Source, stack.source_id)).keys[2]
            redis_client.delete(day_log)  # a day on
            done = share_read(service, holder, erp, NO_DEADLINE)

            assert done.read_id == read.id
            [read] = _reads(db)
            assert (read.status, read.items, read.error) == (ErpReadStatus.COMPLETE, 2001, None)
            # 11 pages of 200 (2,000 items, an inactive one, a service), the page the
            # read paused after read again on resuming (zoho.py `iter_item_pages`).
            assert stack.erp.route_calls["GET /inventory/v1/items"] == 12
            assert read.pages == 12 and pages_before < 12


class Repeating:
    """The ERP connector, its second page listing the first page's first item again
    with 7 more (`again`): an item edited during the listing and sorted onto a later
    page."""

    def __init__(self, erp: InventorySource) -> None:
        self.erp = erp
        self.again: SourceItem | None = None

    def iter_item_pages(self, resume: str | None = None) -> Iterator[ItemPage]:
        for number, page in enumerate(self.erp.iter_item_pages(resume), 1):
            if number == 1:
                self.again = replace(page.items[0], quantity=page.items[0].quantity + 7)
            elif number == 2 and self.again is not None:
                page = ItemPage([*page.items, self.again], page.resume)
            yield page

    def __getattr__(self, name: str) -> object:
        return getattr(self.erp, name)


def test_an_item_listed_again_on_a_later_page_keeps_its_later_reading(
    service: Context, db: sessionmaker[Session], vault: Vault
) -> None:
    with sandbox_stack(db, vault, "bigcommerce", items=2 * PAGE_SIZE) as stack:
        run_id = begun_run(db, stack.site_id)
        erp = Repeating(_erp(service, stack.site_id))
        shared = share_read(service, run_id, cast(InventorySource, erp), NO_DEADLINE)

    assert erp.again is not None
    with db() as session:
        readings = session.scalars(
            select(ErpReading.quantity).where(
                ErpReading.read_id == shared.read_id, ErpReading.sku == erp.again.sku
            )
        ).all()
    assert readings == [erp.again.quantity]
