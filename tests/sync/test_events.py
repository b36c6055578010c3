"""Processing one webhook event (sync/events.py), called directly on `webhook_log` rows
inserted as the relay leaves them: each handler against real store and ERP sandboxes
over HTTP, and the row's life (processed once, failed by name, retried, counted)."""

from __future__ import annotations

import logging
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor, wait
from typing import Any

import pytest
from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session, sessionmaker

from connectors.errors import TransientError
from models import EventKind, Item, RunStatus, Site, Source, SyncRun, WebhookLog, WebhookStatus
from models.crypto import Vault
from models.db import transaction
from sandbox.accounts import STORES
from sync import events
from sync.catalog import refresh_catalog
from sync.context import Context
from sync.events import LOCKED_RETRY_SECONDS, process_event, process_events, record_failure
from sync.push import NEVER_IN_ERP
from tests.factories import make_site, make_source
from tests.factories.sync import run_row as build_run
from tests.support.broker import RecordingBroker
from tests.support.stack import Stack, load_site, sandbox_stack, set_rows

PENDING = (WebhookStatus.RECEIVED, WebhookStatus.QUEUED)


def _event(db: sessionmaker[Session], kind: str | None, **fields: Any) -> int:
    """A logged event as the relay leaves it: queued for the worker."""
    with transaction(db) as session:
        row = WebhookLog(
            provider="test", kind=kind, status=fields.pop("status", WebhookStatus.QUEUED), **fields
        )
        session.add(row)
        session.flush()
        return row.id


def _row(db: sessionmaker[Session], row_id: int) -> WebhookLog:
    with db() as session:
        return session.get_one(WebhookLog, row_id)


def _items(db: sessionmaker[Session], site_id: int) -> dict[str, Item]:
    with db() as session:
        return {i.sku: i for i in session.scalars(select(Item).where(Item.site_id == site_id))}


def _runs(db: sessionmaker[Session]) -> list[SyncRun]:
    with db() as session:
        return list(session.scalars(select(SyncRun).order_by(SyncRun.id)))


def _summaries(caplog: pytest.LogCaptureFixture) -> list[str]:
    """What processed events reported: the operator's one line per event."""
    return [r.summary for r in caplog.records if r.msg == "event.processed"]


def _mirrored(service: Context, db: sessionmaker[Session], stack: Stack) -> Stack:
    site = load_site(db, stack.site_id)
    refresh_catalog(service, site, service.storefront(site))
    return stack


@pytest.fixture
def shop(service: Context, db: sessionmaker[Session], vault: Vault) -> Iterator[Stack]:
    """A mirrored WooCommerce store (with variations) whose every SKU differs from its ERP."""
    with sandbox_stack(db, vault, "woocommerce", items=30, drift=1.0) as stack:
        yield _mirrored(service, db, stack)


@pytest.fixture
def two_shops(
    service: Context, db: sessionmaker[Session], vault: Vault
) -> Iterator[tuple[Stack, Stack]]:
    """A WooCommerce and a BigCommerce store, both mirrored, selling the first stack's
    ERP's SKUs (the second stack's own ERP, seeded alike, is left unused)."""
    with (
        sandbox_stack(db, vault, "woocommerce", items=30, drift=1.0, name="woo") as first,
        sandbox_stack(db, vault, "bigcommerce", items=30, drift=1.0, name="bc") as second,
    ):
        set_rows(db, Site, [second.site_id], source_id=first.source_id)
        yield _mirrored(service, db, first), _mirrored(service, db, second)


def test_a_product_upsert_gives_skus_new_to_the_mirror_the_erps_stock_and_refreshes_the_rest(
    service: Context, db: sessionmaker[Session], shop: Stack
) -> None:
    with transaction(db) as session:
        product_id, *_ = session.scalars(
            select(Item.product_id).where(Item.variant_id.is_not(None)).order_by(Item.sku)
        )
        known, *new = session.scalars(
            select(Item.sku).where(Item.product_id == product_id).order_by(Item.sku)
        )
        # Variations the store added since the mirror was made: not in it yet.
        session.execute(delete(Item).where(Item.sku.in_(new)))
    shop.store.set_stock({known: 123})  # an order meanwhile: the store's to report
    erp = shop.erp_stock()

    row_id = _event(db, EventKind.STORE_PRODUCT_UPSERT, site_id=shop.site_id, entity=product_id)
    process_event(service, row_id)

    assert _row(db, row_id).status == WebhookStatus.PROCESSED
    store, items = shop.store_stock(), _items(db, shop.site_id)
    assert len(new) == 2 and all(store[sku] == erp[sku] != 123 for sku in new)
    assert {sku: items[sku].quantity for sku in new} == {sku: erp[sku] for sku in new}
    # Known SKUs are refreshed from the store, not pushed: the ERP's notice or the
    # nightly sync brings them in line.
    assert store[known] == items[known].quantity == 123
    assert [write.items for write in shop.store.writes] == [2]


@pytest.mark.parametrize("kind", [EventKind.STORE_PRODUCT_DELETE, EventKind.STORE_PRODUCT_UPSERT])
def test_a_product_the_store_no_longer_has_leaves_the_mirror_and_nothing_is_pushed(
    service: Context, db: sessionmaker[Session], shop: Stack, kind: EventKind
) -> None:
    """A deletion notice, or an update notice for a product that is gone by the time we
    read it (WooCommerce answers 404 for it)."""
    with transaction(db) as session:
        session.add_all(
            Item(site_id=shop.site_id, sku=sku, product_id="999999", variant_id=sku, quantity=4)
            for sku in ("GONE-1", "GONE-2")
        )

    row_id = _event(db, kind, site_id=shop.site_id, entity="999999")
    process_event(service, row_id)

    assert _row(db, row_id).status == WebhookStatus.PROCESSED
    active = {sku for sku, item in _items(db, shop.site_id).items() if item.active}
    assert "GONE-1" not in active and "GONE-2" not in active
    assert len(active) == 30
    assert shop.store.writes == [] and shop.erp.calls == 0


@pytest.fixture(params=sorted(STORES))
def store(
    request: pytest.FixtureRequest, service: Context, db: sessionmaker[Session], vault: Vault
) -> Iterator[Stack]:
    """A mirrored store of each platform, in step with its ERP."""
    with sandbox_stack(db, vault, request.param, items=30, drift=0.0) as stack:
        yield _mirrored(service, db, stack)


def _product_of(db: sessionmaker[Session], stack: Stack, sku: str) -> str:
    return _items(db, stack.site_id)[sku].product_id


def test_a_renamed_sku_is_retired_so_an_erp_change_to_the_old_sku_writes_nothing(
    service: Context, db: sessionmaker[Session], store: Stack
) -> None:
    """Issue 18: a product keeps its id when the merchant changes its SKU, so the old
    SKU's row, left active, would carry the ERP's old item onto the renamed product."""
    old, new = "SKU-000002", "SKU-R00002"
    product_id = _product_of(db, store, old)
    store.store.rename_sku(old, new)

    row_id = _event(db, EventKind.STORE_PRODUCT_UPSERT, site_id=store.site_id, entity=product_id)
    process_event(service, row_id)

    items = _items(db, store.site_id)
    assert _row(db, row_id).status == WebhookStatus.PROCESSED
    assert not items[old].active
    assert items[new].active and items[new].product_id == product_id
    before = store.store_stock()
    store.erp.set_stock({old: 4242})
    row_id = _event(
        db, EventKind.ERP_ITEM_CHANGED, source_id=store.source_id, entity=store.erp_item_id(old)
    )
    process_event(service, row_id)
    assert _row(db, row_id).status == WebhookStatus.PROCESSED
    assert store.store_stock() == before
    assert 4242 not in store.store_stock().values()


def test_a_delete_notice_for_a_product_the_store_still_has_deactivates_nothing(
    service: Context, db: sessionmaker[Session], store: Stack
) -> None:
    """Issue 18: a notice says that something changed, never what; the store says
    whether the product is gone (a replayed or relabelled delivery must not unlist it)."""
    product_id = _product_of(db, store, "SKU-000002")
    row_id = _event(db, EventKind.STORE_PRODUCT_DELETE, site_id=store.site_id, entity=product_id)
    process_event(service, row_id)

    assert _row(db, row_id).status == WebhookStatus.PROCESSED
    assert all(item.active for item in _items(db, store.site_id).values())


def test_a_product_the_store_deleted_leaves_the_mirror(
    service: Context, db: sessionmaker[Session], store: Stack
) -> None:
    product_id = _product_of(db, store, "SKU-000002")
    store.store.delete_product_of("SKU-000002")
    row_id = _event(db, EventKind.STORE_PRODUCT_DELETE, site_id=store.site_id, entity=product_id)
    process_event(service, row_id)

    items = _items(db, store.site_id)
    gone = {sku for sku, item in items.items() if not item.active}
    assert gone == {sku for sku, item in items.items() if item.product_id == product_id}
    assert "SKU-000002" in gone and len(items) - len(gone) == 30 - len(gone)


def test_a_store_stock_change_is_not_pushed_back(
    service: Context, db: sessionmaker[Session], shop: Stack
) -> None:
    before = shop.store_stock()
    calls = shop.store.calls

    row_id = _event(db, EventKind.STORE_STOCK, site_id=shop.site_id, sku="SKU-000001")
    process_event(service, row_id)

    assert _row(db, row_id).status == WebhookStatus.PROCESSED
    # After an order the store is below the ERP until the ERP books it: the ERP's own
    # notice brings it in line, never an echo of the store's number.
    assert (shop.erp.calls, shop.store.calls, shop.store_stock()) == (0, calls, before)


def test_an_erp_change_reaches_every_active_site_selling_the_sku(
    service: Context,
    db: sessionmaker[Session],
    vault: Vault,
    two_shops: tuple[Stack, Stack],
) -> None:
    first, second = two_shops
    sku = "SKU-000003"
    with transaction(db) as session:
        # A deactivated site of the source selling the SKU: its store is unreachable,
        # so a push to it would raise and fail the test.
        off = make_site(session, vault, session.get_one(Site, first.site_id).source, active=False)
        session.add(Item(site_id=off.id, sku=sku, product_id="1", quantity=1))
    first.erp.set_stock({sku: 777})

    row_id = _event(
        db, EventKind.ERP_ITEM_CHANGED, source_id=first.source_id, entity=first.erp_item_id(sku)
    )
    process_event(service, row_id)

    assert _row(db, row_id).status == WebhookStatus.PROCESSED
    assert (first.store_stock()[sku], second.store_stock()[sku]) == (777, 777)
    assert [_items(db, stack.site_id)[sku].quantity for stack in two_shops] == [777, 777]


def _notices(db: sessionmaker[Session], stack: Stack, skus: list[str]) -> list[int]:
    """One queued ERP item notice per SKU, as the relay leaves a group of them."""
    return [
        _event(db, EventKind.ERP_ITEM_CHANGED, source_id=stack.source_id, entity=entity)
        for entity in map(stack.erp_item_id, skus)
    ]


def test_a_group_of_item_notices_reads_the_erp_once_and_writes_each_store_once(
    service: Context, db: sessionmaker[Session], two_shops: tuple[Stack, Stack]
) -> None:
    """The relay's group (workers/relay.py): at 200 notices a second, one ERP read and
    one store write each cost a worker more than it had (issue 22's latency target)."""
    first = two_shops[0]
    # Simple products: WooCommerce writes variations by parent, a request per parent.
    simple = [sku for sku, item in _items(db, first.site_id).items() if item.variant_id is None]
    skus = sorted(simple)[:4]
    first.erp.set_stock({sku: 700 + n for n, sku in enumerate(skus)})
    row_ids = _notices(db, first, skus)
    calls, minted = first.erp.calls, first.erp.tokens.minted

    process_events(service, row_ids)

    assert {_row(db, row_id).status for row_id in row_ids} == {WebhookStatus.PROCESSED}
    wanted = {sku: 700 + n for n, sku in enumerate(skus)}
    for stack in two_shops:
        assert {sku: stack.store_stock()[sku] for sku in skus} == wanted
        assert [write.items for write in stack.store.writes] == [len(skus)]
    assert (first.erp.calls - calls) - (first.erp.tokens.minted - minted) == 1  # no token


def test_in_a_group_each_notice_ends_on_its_own_skus_outcome(
    service: Context, db: sessionmaker[Session], vault: Vault, two_shops: tuple[Stack, Stack]
) -> None:
    first, second = two_shops
    refused, fine = "SKU-000003", "SKU-000004"
    _refuse_item(db, vault, first.site_id, refused)
    first.erp.set_stock({refused: 777, fine: 778})
    refused_row, fine_row = _notices(db, first, [refused, fine])

    process_events(service, [refused_row, fine_row])

    row = _row(db, refused_row)
    assert row.status == WebhookStatus.FAILED and row.processed_at is not None
    assert f"site {first.site_id}" in (row.error or "") and "invalid_id" in (row.error or "")
    assert _row(db, fine_row).status == WebhookStatus.PROCESSED
    assert (first.store_stock()[fine], second.store_stock()[refused]) == (778, 777)


def test_a_group_leaves_rows_done_or_held_by_another_worker_and_does_the_rest(
    service: Context, db: sessionmaker[Session], shop: Stack
) -> None:
    """A row another worker holds is being processed by it (a redelivery, the
    sweeper's republish): the group skips it rather than wait or fail it."""
    done, held, deleted, fresh = _notices(db, shop, ["SKU-000001", "SKU-000002"] * 2)
    set_rows(db, WebhookLog, [done], status=WebhookStatus.PROCESSED)
    # An item the ERP no longer lists, no SKU of ours from it: the one-row path says so.
    set_rows(db, WebhookLog, [deleted], entity=str(uuid.uuid4()))
    shop.erp.set_stock({"SKU-000002": 9})
    with db() as holder:
        holder.execute(select(WebhookLog).where(WebhookLog.id == held).with_for_update())
        process_events(service, [done, held, deleted, fresh])
        holder.rollback()

    statuses = [_row(db, row_id).status for row_id in (done, held, deleted, fresh)]
    assert statuses == ["processed", "queued", "processed", "processed"]
    assert [_row(db, row_id).attempts for row_id in (done, held, deleted, fresh)] == [1, 0, 1, 1]
    assert shop.store_stock()["SKU-000002"] == 9
    process_events(service, [held])
    assert _row(db, held).status == WebhookStatus.PROCESSED


def test_a_group_with_a_source_switched_off_ignores_every_notice(
    service: Context, db: sessionmaker[Session], shop: Stack
) -> None:
    before = shop.store_stock()
    set_rows(db, Source, [shop.source_id], webhooks_active=False)
    row_ids = _notices(db, shop, ["SKU-000001", "SKU-000002"])

    process_events(service, row_ids)

    assert {_row(db, row_id).status for row_id in row_ids} == {WebhookStatus.IGNORED}
    assert shop.store_stock() == before and shop.store.writes == []


def test_the_erp_refusing_a_groups_read_fails_every_notice_with_its_reason(
    service: Context, db: sessionmaker[Session], shop: Stack
) -> None:
    """A permanent refusal is no retry: each row fails by name, as one alone does,
    rather than the group's task dying with its rows left queued."""
    row_ids = _notices(db, shop, ["SKU-000001", "SKU-000002"])
    shop.erp.item_permission = False

    process_events(service, row_ids)

    rows = [_row(db, row_id) for row_id in row_ids]
    assert {row.status for row in rows} == {WebhookStatus.FAILED}
    assert all("permissions prevented" in (row.error or "") for row in rows)
    assert shop.store.writes == []


def test_a_worker_killed_after_a_groups_store_write_leaves_every_row_to_the_redelivery(
    service: Context,
    db: sessionmaker[Session],
    shop: Stack,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Killed between the store write and the commit: no row is marked, so the
    redelivered message (late acks) does them all again, each once."""
    skus = ["SKU-000001", "SKU-000002", "SKU-000004"]
    shop.erp.set_stock({sku: 900 + n for n, sku in enumerate(skus)})
    row_ids = _notices(db, shop, skus)
    real = events.fan_out

    def then_die(*args: Any) -> Any:
        real(*args)
        raise SystemExit("killed")

    monkeypatch.setattr(events, "fan_out", then_die)
    with pytest.raises(SystemExit):
        process_events(service, row_ids)
    assert {_row(db, row_id).status for row_id in row_ids} == {WebhookStatus.QUEUED}

    monkeypatch.setattr(events, "fan_out", real)
    process_events(service, row_ids)

    rows = [_row(db, row_id) for row_id in row_ids]
    assert [(row.status, row.attempts) for row in rows] == [(WebhookStatus.PROCESSED, 2)] * 3
    assert {sku: shop.store_stock()[sku] for sku in skus} == {
        sku: 900 + n for n, sku in enumerate(skus)
    }


def test_a_transient_error_leaves_the_whole_group_pending_for_its_retry(
    service: Context, db: sessionmaker[Session], shop: Stack
) -> None:
    row_ids = _notices(db, shop, ["SKU-000001", "SKU-000002"])
    shop.erp.set_faults(outage=True)

    with pytest.raises(TransientError):
        process_events(service, row_ids)

    rows = [_row(db, row_id) for row_id in row_ids]
    assert {row.status for row in rows} == {WebhookStatus.QUEUED}
    assert all((row.error or "").startswith("retrying:") for row in rows)


def _refuse_item(db: sessionmaker[Session], vault: Vault, site_id: int, sku: str) -> None:
    with transaction(db) as session:
        session.execute(
            update(Item).where(Item.site_id == site_id, Item.sku == sku).values(product_id="999999")
        )


def _refuse_credentials(db: sessionmaker[Session], vault: Vault, site_id: int, sku: str) -> None:
    wrong = vault.seal({"consumer_key": "ck_wrong", "consumer_secret": "cs_wrong"})
    set_rows(db, Site, [site_id], credentials_sealed=wrong)


@pytest.mark.parametrize(
    ("refuse", "reason"),
    [(_refuse_item, "invalid_id"), (_refuse_credentials, "401")],
    ids=["item-refused", "store-refused"],
)
def test_one_site_refusing_fails_the_event_and_the_others_are_still_written(
    service: Context,
    db: sessionmaker[Session],
    vault: Vault,
    two_shops: tuple[Stack, Stack],
    refuse: Any,
    reason: str,
) -> None:
    first, second = two_shops  # the refusing site comes first: the loop must go on
    sku = "SKU-000003"
    before = first.store_stock()[sku]
    refuse(db, vault, first.site_id, sku)
    first.erp.set_stock({sku: 777})

    row_id = _event(
        db, EventKind.ERP_ITEM_CHANGED, source_id=first.source_id, entity=first.erp_item_id(sku)
    )
    process_event(service, row_id)

    row = _row(db, row_id)
    assert row.status == WebhookStatus.FAILED and row.processed_at is not None
    assert reason in (row.error or "")
    assert (first.store_stock()[sku], second.store_stock()[sku]) == (before, 777)


def test_a_sku_hint_pushes_the_erps_stock_of_that_sku(
    service: Context, db: sessionmaker[Session], shop: Stack
) -> None:
    sku = "SKU-000002"
    before = shop.store_stock()
    shop.erp.set_stock({sku: 555})

    row_id = _event(db, EventKind.SKU_CHANGED, site_id=shop.site_id, sku=sku)
    process_event(service, row_id)

    assert _row(db, row_id).status == WebhookStatus.PROCESSED
    assert shop.store_stock() == {**before, sku: 555}
    assert len(shop.store.writes) == 1


def test_a_site_awaiting_its_first_sync_gets_no_write_from_its_own_events(
    service: Context,
    db: sessionmaker[Session],
    two_shops: tuple[Stack, Stack],
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Added with --no-initial-sync, a store is written first by an operator's run:
    before, a SKU hint to it, or an ERP change, wrote to it at once."""
    first, second = two_shops
    sku = "SKU-000003"
    caplog.set_level(logging.INFO, logger="sync.events")
    set_rows(db, Site, [second.site_id], awaiting_first_sync=True)
    before = second.store_stock()[sku]
    first.erp.set_stock({sku: 777})

    hint = _event(db, EventKind.SKU_CHANGED, site_id=second.site_id, sku=sku)
    process_event(service, hint)
    change = _event(
        db, EventKind.ERP_ITEM_CHANGED, source_id=first.source_id, entity=first.erp_item_id(sku)
    )
    process_event(service, change)

    assert {_row(db, hint).status, _row(db, change).status} == {WebhookStatus.PROCESSED}
    assert any("waits for an operator's first sync" in s for s in _summaries(caplog))
    assert (first.store_stock()[sku], second.store_stock()[sku]) == (777, before)


def test_a_sku_the_erp_deleted_sells_as_zero(
    service: Context, db: sessionmaker[Session], shop: Stack
) -> None:
    sku = "SKU-000002"
    shop.erp.set_stock({sku: 555})
    process_event(service, _event(db, EventKind.SKU_CHANGED, site_id=shop.site_id, sku=sku))
    shop.delete_in_erp(sku)

    row_id = _event(db, EventKind.SKU_CHANGED, site_id=shop.site_id, sku=sku)
    process_event(service, row_id)

    assert _row(db, row_id).status == WebhookStatus.PROCESSED
    assert shop.store_stock()[sku] == 0


def test_a_sku_the_erp_never_had_is_left_alone_and_the_event_says_so(
    service: Context, db: sessionmaker[Session], shop: Stack
) -> None:
    sku = "SKU-000002"
    before = shop.store_stock()
    shop.delete_in_erp(sku)

    row_id = _event(db, EventKind.SKU_CHANGED, site_id=shop.site_id, sku=sku)
    process_event(service, row_id)

    row = _row(db, row_id)
    assert row.status == WebhookStatus.FAILED
    assert f"{sku}: {NEVER_IN_ERP}" in (row.error or "")
    assert shop.store_stock() == before and shop.store.writes == []


def test_a_deleted_item_zeroes_the_skus_it_fed_on_every_site(
    service: Context, db: sessionmaker[Session], two_shops: tuple[Stack, Stack]
) -> None:
    """A Business Central deletion notice names only the item's id; the item can no
    longer be read. Its SKU is the one that id fed."""
    first, second = two_shops
    sku = "SKU-000003"
    item_id = first.erp_item_id(sku)
    first.erp.set_stock({sku: 40})
    changed = _event(db, EventKind.ERP_ITEM_CHANGED, source_id=first.source_id, entity=item_id)
    process_event(service, changed)
    first.delete_in_erp(sku)

    row_id = _event(db, EventKind.ERP_ITEM_CHANGED, source_id=first.source_id, entity=item_id)
    process_event(service, row_id)

    assert _row(db, row_id).status == WebhookStatus.PROCESSED
    assert (first.store_stock()[sku], second.store_stock()[sku]) == (0, 0)


def test_a_notice_naming_a_live_sku_for_a_missing_item_zeroes_nothing(
    service: Context, db: sessionmaker[Session], shop: Stack
) -> None:
    """A Zoho body carries the SKU; the SKU is asked of the ERP again before any zero."""
    sku = "SKU-000004"
    shop.erp.set_stock({sku: 66})
    missing = "00000000-0000-0000-0000-000000000000"

    row_id = _event(
        db, EventKind.ERP_ITEM_CHANGED, source_id=shop.source_id, entity=missing, sku=sku
    )
    process_event(service, row_id)

    assert _row(db, row_id).status == WebhookStatus.PROCESSED
    assert shop.store_stock()[sku] == 66


def _source_with_sites(
    db: sessionmaker[Session], vault: Vault, *names: str
) -> tuple[int, list[int]]:
    """A source and active sites of it named `names`, whose stores nobody calls."""
    with transaction(db) as session:
        source = make_source(session, vault)
        return source.id, [make_site(session, vault, source, name=name).id for name in names]


def test_a_collection_notice_starts_a_manual_run_of_each_idle_active_site_of_the_source(
    service: Context,
    broker: RecordingBroker,
    db: sessionmaker[Session],
    vault: Vault,
    caplog: pytest.LogCaptureFixture,
) -> None:
    source_id, (idle, busy, other) = _source_with_sites(db, vault, "a", "b", "c")
    with transaction(db) as session:
        make_site(session, vault, session.get_one(Source, source_id), name="off", active=False)
        make_site(session, vault, make_source(session, vault, name="elsewhere"), name="d")
        going = build_run(session, busy, status=RunStatus.RUNNING).id
    caplog.set_level(logging.INFO, logger="sync.events")

    row_id = _event(db, EventKind.ERP_COLLECTION, source_id=source_id)
    process_event(service, row_id)

    assert _row(db, row_id).status == WebhookStatus.PROCESSED
    started = [run for run in _runs(db) if run.id != going]
    assert [(run.site_id, run.kind, run.trigger) for run in started] == [
        (idle, "manual", "webhook"),
        (other, "manual", "webhook"),
    ]
    assert broker.sent("start_run") == [run.id for run in started]
    assert _summaries(caplog) == [
        f"full sync started for 2 site(s); site {busy} already has run {going} running"
    ]


def test_a_collection_notice_the_broker_cannot_take_is_retried_without_starting_twice(
    service: Context,
    broker: RecordingBroker,
    db: sessionmaker[Session],
    vault: Vault,
    caplog: pytest.LogCaptureFixture,
) -> None:
    source_id, (first, second) = _source_with_sites(db, vault, "a", "b")
    row_id = _event(db, EventKind.ERP_COLLECTION, source_id=source_id)
    broker.fails_after = 1  # the first start goes out, then the broker is down

    with pytest.raises(TransientError, match="the broker cannot be reached"):
        process_event(service, row_id)

    row = _row(db, row_id)
    assert (row.status, row.attempts) == (WebhookStatus.QUEUED, 1)
    assert (row.error or "").startswith("retrying: the broker cannot be reached")
    [kept, lost] = _runs(db)
    assert (kept.site_id, kept.status) == (first, RunStatus.QUEUED)
    assert (lost.site_id, lost.status) == (second, RunStatus.FAILED)

    broker.fails_after = None
    caplog.set_level(logging.INFO, logger="sync.events")
    process_event(service, row_id)

    row = _row(db, row_id)
    assert (row.status, row.attempts, row.error) == (WebhookStatus.PROCESSED, 2, None)
    runs = _runs(db)
    assert [(run.site_id, run.status) for run in runs] == [
        (first, RunStatus.QUEUED),
        (second, RunStatus.FAILED),
        (second, RunStatus.QUEUED),
    ]
    assert broker.sent("start_run") == [runs[0].id, runs[2].id]
    assert _summaries(caplog) == [
        f"full sync started for 1 site(s); site {first} already has run {kept.id} queued"
    ]


@pytest.mark.parametrize(
    ("kind", "owner", "reason"),
    [
        (EventKind.STORE_PRODUCT_UPSERT, "site_id", "the event's site no longer exists"),
        (EventKind.STORE_PRODUCT_DELETE, "site_id", "the event's site no longer exists"),
        (EventKind.SKU_CHANGED, "site_id", "the event's site no longer exists"),
        (EventKind.ERP_ITEM_CHANGED, "source_id", "the event's source no longer exists"),
    ],
)
def test_an_event_whose_owner_is_gone_fails_saying_so(
    service: Context, db: sessionmaker[Session], kind: EventKind, owner: str, reason: str
) -> None:
    row_id = _event(db, kind, **{owner: 999}, entity="1", sku="SKU-000001")

    process_event(service, row_id)

    row = _row(db, row_id)
    assert (row.status, row.error, row.attempts) == (WebhookStatus.FAILED, reason, 1)
    assert row.processed_at is not None


@pytest.mark.parametrize(
    "kind",
    [
        None,
        "store.order.created",  # a kind of a newer version, say
    ],
)
def test_an_event_of_no_known_kind_fails_saying_so(
    service: Context, db: sessionmaker[Session], kind: str | None
) -> None:
    row_id = _event(db, kind, site_id=1)

    process_event(service, row_id)

    row = _row(db, row_id)
    assert (row.status, row.error) == (WebhookStatus.FAILED, f"no handler for kind {kind!r}")


@pytest.mark.parametrize("status", list(WebhookStatus))
def test_only_a_pending_row_is_processed(
    service: Context,
    broker: RecordingBroker,
    db: sessionmaker[Session],
    site_id: int,
    status: WebhookStatus,
) -> None:
    """A row published twice (the sweeper and the receiver, or a redelivery) is
    processed once: the second message finds it done."""
    with db() as session:
        source_id = session.get_one(Site, site_id).source_id
    row_id = _event(db, EventKind.ERP_COLLECTION, source_id=source_id, status=status)

    process_event(service, row_id)

    row = _row(db, row_id)
    if status in PENDING:
        assert row.status == WebhookStatus.PROCESSED
        assert len(broker.sent("start_run")) == 1
    else:
        assert (row.status, row.processed_at) == (status, None)
        assert (_runs(db), broker.queued) == ([], [])


def test_a_row_another_worker_holds_is_retried_shortly_not_waited_for(
    service: Context, db: sessionmaker[Session], site_id: int
) -> None:
    row_id = _event(db, EventKind.STORE_STOCK, site_id=site_id)
    with db() as holder, ThreadPoolExecutor(1) as pool:
        holder.execute(select(WebhookLog).where(WebhookLog.id == row_id).with_for_update())
        attempt = pool.submit(process_event, service, row_id)
        answered = wait([attempt], timeout=2).done
        holder.rollback()  # the other worker is done: a blocked attempt goes on now

    assert answered, "process_event waited for the lock instead of raising TransientError"
    with pytest.raises(TransientError) as retried:
        attempt.result()
    assert retried.value.retry_after == LOCKED_RETRY_SECONDS
    assert _row(db, row_id).status == WebhookStatus.QUEUED
    process_event(service, row_id)
    assert _row(db, row_id).status == WebhookStatus.PROCESSED


@pytest.mark.parametrize("status", [*PENDING, WebhookStatus.PROCESSED])
def test_a_failure_is_recorded_only_on_a_pending_row(
    service: Context, db: sessionmaker[Session], status: WebhookStatus
) -> None:
    row_id = _event(db, EventKind.STORE_STOCK, site_id=1, status=status)

    record_failure(service, [row_id], "gave up after 10 retries: " + "x" * 3000)

    row = _row(db, row_id)
    if status in PENDING:
        assert row.status == WebhookStatus.FAILED and row.processed_at is not None
        assert row.error is not None and row.error.startswith("gave up after 10 retries: x")
        assert len(row.error) == 2000
    else:
        assert (row.status, row.error, row.processed_at) == (status, None, None)


# --- the real-time switches (docs/architecture.md "Real-time switches") --------------


def test_a_site_with_real_time_off_gets_no_erp_driven_write(
    service: Context, db: sessionmaker[Session], two_shops: tuple[Stack, Stack]
) -> None:
    first, second = two_shops
    sku = "SKU-000003"
    set_rows(db, Site, [second.site_id], webhooks_active=False)
    before = second.store_stock()[sku]
    first.erp.set_stock({sku: 777})

    row_id = _event(
        db, EventKind.ERP_ITEM_CHANGED, source_id=first.source_id, entity=first.erp_item_id(sku)
    )
    process_event(service, row_id)

    assert _row(db, row_id).status == WebhookStatus.PROCESSED
    assert (first.store_stock()[sku], second.store_stock()[sku]) == (777, before)


def test_a_collection_notice_starts_no_run_of_a_site_with_real_time_off(
    service: Context, broker: RecordingBroker, db: sessionmaker[Session], vault: Vault
) -> None:
    source_id, (on, off) = _source_with_sites(db, vault, "on", "off")
    set_rows(db, Site, [off], webhooks_active=False)

    process_event(service, _event(db, EventKind.ERP_COLLECTION, source_id=source_id))

    assert [run.site_id for run in _runs(db)] == [on]


@pytest.mark.parametrize(
    ("kind", "owner"),
    [
        (EventKind.STORE_PRODUCT_UPSERT, "site"),
        (EventKind.STORE_PRODUCT_DELETE, "site"),
        (EventKind.SKU_CHANGED, "site"),
        (EventKind.ERP_ITEM_CHANGED, "source"),
        (EventKind.ERP_COLLECTION, "source"),
    ],
)
def test_an_event_accepted_before_its_owner_was_switched_off_is_ignored(
    service: Context,
    broker: RecordingBroker,
    db: sessionmaker[Session],
    shop: Stack,
    kind: EventKind,
    owner: str,
) -> None:
    """The switch may be turned off while events wait in the queue (or while the
    receiver's owner cache still says on): the worker checks it again, and writes
    nothing to the store."""
    if owner == "site":
        set_rows(db, Site, [shop.site_id], webhooks_active=False)
        row_id = _event(db, kind, site_id=shop.site_id, entity="1", sku="SKU-000001")
        reason = f"site {shop.site_id} has real-time sync off"
    else:
        set_rows(db, Source, [shop.source_id], webhooks_active=False)
        row_id = _event(db, kind, source_id=shop.source_id, entity=shop.erp_item_id("SKU-000001"))
        reason = f"source {shop.source_id} has its webhooks off"
    store_calls, erp_calls = shop.store.calls, shop.erp.calls

    process_event(service, row_id)

    row = _row(db, row_id)
    assert (row.status, row.error) == (WebhookStatus.IGNORED, reason)
    assert (shop.store.calls, shop.erp.calls, _runs(db), broker.sent("start_run")) == (
        store_calls,
        erp_calls,
        [],
        [],
    )
