"""What the ERP says about an item reaches every store over the real path: an item
deactivated, blocked or deleted in the ERP sells as 0, in real time (the ERP's notice
through the receiver, the relay and a real worker) and in full syncs; a SKU the ERP
never had is left alone and named in the run's report. And a worker host whose clock
is behind never has its newer reading refused."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from models import EventKind, RunStatus, WebhookLog, WebhookStatus
from models.crypto import Vault
from models.db import transaction
from sandbox.businesscentral.state import BusinessCentralState
from settings import Settings
from sync.events import process_event
from sync.push import NEVER_IN_ERP
from tests.support.live import LiveStack, live_stack
from tests.support.stack import (
    FAST,
    Stack,
    batch_rows,
    installed_context,
    mirror,
    sandbox_stack,
    sync_to_end,
    wait_for,
    workers,
)
from tests.support.worker_process import worker_process
from workers.app import make_celery


@pytest.fixture(params=["businesscentral", "zoho"])
def live(
    request: pytest.FixtureRequest,
    settings: Settings,
    db: sessionmaker[Session],
    vault: Vault,
    redis_client: object,
) -> Iterator[LiveStack]:
    """A synced store whose ERP notifies the receiver; relay and worker running."""
    erp = request.param
    with live_stack(
        settings, db, vault, "woocommerce", synced=True, items=40, drift=0.2, erp=erp
    ) as path:
        path.stack.erp.set_faults(webhook_url=path.url(erp))
        yield path


def _rows(db: sessionmaker[Session]) -> list[WebhookLog]:
    with db() as session:
        return list(session.scalars(select(WebhookLog).order_by(WebhookLog.id)))


def _stocked(stack: Stack) -> list[str]:
    """The store's SKUs that have stock, in order: a retired one must drop to 0."""
    return sorted(sku for sku, quantity in stack.store_stock().items() if quantity > 0)


def _retire(stack: Stack, sku: str) -> None:
    """Block (Business Central) or deactivate (Zoho) an item, as the ERP's user would."""
    if isinstance(stack.erp, BusinessCentralState):
        stack.erp.block(sku)
    else:
        stack.erp.deactivate(sku)


def _settled(db: sessionmaker[Session], count: int) -> bool:
    rows = _rows(db)
    return len(rows) >= count and all(
        r.status in (WebhookStatus.PROCESSED, WebhookStatus.FAILED, WebhookStatus.DUPLICATE)
        for r in rows
    )


def test_an_item_retired_in_the_erp_sells_as_zero_everywhere(
    live: LiveStack, db: sessionmaker[Session]
) -> None:
    """Blocked in Business Central, inactive in Zoho: kept with its stock, not sellable."""
    stack = live.stack
    sku = _stocked(stack)[3]
    _retire(stack, sku)

    wait_for(lambda: _settled(db, 1), 60, "the notice processed")
    assert stack.store_stock()[sku] == 0
    assert [r.status for r in _rows(db)] == [WebhookStatus.PROCESSED]


@pytest.mark.parametrize("live", ["businesscentral"], indirect=True)
def test_an_item_deleted_in_business_central_sells_as_zero_everywhere(
    live: LiveStack, db: sessionmaker[Session]
) -> None:
    stack = live.stack
    sku = _stocked(stack)[4]

    stack.delete_in_erp(sku)

    wait_for(lambda: _settled(db, 1), 60, "the deletion notice processed")
    assert stack.store_stock()[sku] == 0
    [row] = _rows(db)
    assert (row.topic, row.status) == ("items.deleted", WebhookStatus.PROCESSED)


@pytest.mark.parametrize("erp", ["businesscentral", "zoho"])
def test_a_full_sync_zeroes_what_the_erp_retired_and_reports_what_it_never_had(
    erp: str, settings: Settings, db: sessionmaker[Session], vault: Vault, redis_client: object
) -> None:
    """No notices here: the nightly run alone must find out."""
    app = make_celery(settings)
    with (
        sandbox_stack(db, vault, "bigcommerce", items=40, drift=0.0, erp=erp) as stack,
        installed_context(settings, **FAST),
        workers(app),
    ):
        retired, deleted, never = _stocked(stack)[:3]
        stack.delete_in_erp(never)  # before any run: a SKU only the store has
        first = sync_to_end(app, db, stack.site_id)
        _retire(stack, retired)
        stack.delete_in_erp(deleted)
        kept = stack.store_stock()[never]

        run = sync_to_end(app, db, stack.site_id)

        store = stack.store_stock()
    assert first.failed == 1
    assert (store[retired], store[deleted], store[never]) == (0, 0, kept)
    assert (run.status, run.synced, run.failed) == (RunStatus.COMPLETED, 2, 1)
    [batch] = batch_rows(db, run.id)
    assert batch.failures == {never: NEVER_IN_ERP}


def _erp_event(db: sessionmaker[Session], stack: Stack, sku: str) -> int:
    """A Business Central notice for the item of `sku`, as the relay leaves it."""
    with transaction(db) as session:
        row = WebhookLog(
            provider="businesscentral",
            kind=EventKind.ERP_ITEM_CHANGED,
            source_id=stack.source_id,
            entity=stack.erp_item_id(sku),
            status=WebhookStatus.QUEUED,
        )
        session.add(row)
        session.flush()
        return row.id


@pytest.mark.slow
@pytest.mark.parametrize("skew", [-30.0, 30.0], ids=["behind", "ahead"])
def test_of_two_hosts_the_later_reading_wins_whatever_the_workers_clock_says(
    skew: float,
    settings: Settings,
    db: sessionmaker[Session],
    vault: Vault,
    redis_client: object,
    tmp_path: Path,
) -> None:
    """A real worker on a host whose clock is 30 s off and this host read the ERP one
    after the other, a few seconds apart, each after the ERP changed: the store ends
    with the later value. Behind, the worker reads second: its newer reading must not
    be refused. Ahead, it reads first: its older reading must not block this host's.

    The events are queued straight to the worker, without the relay's 5-second window:
    the two readings must be closer than the skew for the skew to matter."""
    with (
        sandbox_stack(db, vault, "woocommerce", items=20, drift=0.0) as stack,
        installed_context(settings, **FAST) as context,
    ):
        mirror(context, stack.site_id)
        warm, sku = _stocked(stack)[:2]
        log = tmp_path / "worker.log"
        with worker_process(settings, settings.encryption_keys[0], log, clock_skew=skew):
            context.broker.queue_event(_erp_event(db, stack, warm))
            wait_for(lambda: _settled(db, 1), 60, "the skewed worker to be consuming")

            def on_this_host() -> None:
                process_event(context, _erp_event(db, stack, sku))

            def on_the_worker() -> None:
                context.broker.queue_event(_erp_event(db, stack, sku))
                wait_for(lambda: _settled(db, 0), 60, "the skewed worker's event")

            values = [stack.erp_stock()[sku] + 5, stack.erp_stock()[sku] + 16]
            readers = [on_this_host, on_the_worker] if skew < 0 else [on_the_worker, on_this_host]
            for value, read in zip(values, readers, strict=True):
                stack.erp.set_stock({sku: value})
                read()
                assert stack.store_stock()[sku] == value

        assert [r.status for r in _rows(db)] == [WebhookStatus.PROCESSED] * 3
