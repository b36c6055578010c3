"""Test helpers for full-sync tests: sandboxes, their rows, a context, real workers.

Plain context managers rather than fixtures, so `tests/sync`, `tests/workers` and
`tests/functional` share them without a conftest of their own.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from celery import Celery, bootsteps
from celery.contrib.testing.worker import start_worker
from celery.worker import WorkController
from sqlalchemy import func, select, update
from sqlalchemy.orm import Session, joinedload, sessionmaker

import celeryconfig
from models import (
    EventDelivery,
    Item,
    Platform,
    RunStatus,
    Site,
    Source,
    SourceKind,
    SyncBatch,
    SyncRun,
)
from models.crypto import Vault
from models.db import transaction
from sandbox.accounts import DEFAULTS
from sandbox.base import SandboxConfig, SandboxState
from sandbox.businesscentral.state import BusinessCentralState
from sandbox.registry import create_app
from sandbox.server import running
from sandbox.zoho.state import ZohoState
from settings import Settings
from sync.catalog import refresh_catalog
from sync.context import Context
from sync.pacing import Pacing
from sync.recovery import return_stuck_batches
from sync.runs import begin_run, prepare_batches, published, start_run
from tests.factories import make_site, make_source
from tests.factories.sync import make_batches
from tests.factories.sync import run_row as build_run
from workers import context as worker_context
from workers.context import client_context, get_context

#: The start task's id and listing lease where a test begins a run by hand
#: (sync/runs.py `begin_run`).
START, LEASE = "test-start", 900.0
#: A quota no test reaches unless it means to: the platforms' defaults are slow.
GENEROUS = {"rate_limit_requests": 100_000, "rate_limit_window_seconds": 1}


@dataclass
class Stack:
    """A Business Central ERP and one store, both served over HTTP, and their rows."""

    erp_url: str
    erp: BusinessCentralState | ZohoState
    store_url: str
    store: SandboxState
    platform: str
    site_id: int
    source_id: int
    #: The Flask apps, for tests that wrap them (`app.wsgi_app = Middleware(...)`).
    erp_app: Any = None
    store_app: Any = None

    def store_stock(self) -> dict[str, int]:
        return self.store.stock()

    def erp_stock(self) -> dict[str, int]:
        return self.erp.stock()

    def delete_in_erp(self, *skus: str) -> None:
        """Delete items from the ERP, as an ERP user would: gone from every read."""
        for sku in skus:
            self.erp.delete(sku)

    def erp_item_id(self, sku: str) -> str:
        """The ERP's id of the item, which its change notices name."""
        return self.erp.item_id(sku)

    def differing(self) -> set[str]:
        """SKUs whose store stock differs from the ERP's."""
        erp, store = self.erp_stock(), self.store_stock()
        return {sku for sku, quantity in store.items() if erp.get(sku) != quantity}


@contextmanager
def sandbox_stack(
    sessions: sessionmaker[Session],
    vault: Vault,
    platform: str,
    *,
    items: int,
    drift: float = 0.1,
    store: Mapping[str, Any] | None = None,
    site: Mapping[str, Any] | None = None,
    name: str = "shop",
    erp: str = "businesscentral",
    erp_knobs: Mapping[str, Any] | None = None,
    source: Mapping[str, Any] | None = None,
) -> Iterator[Stack]:
    """Serve an ERP and a store seeded alike (`drift` of the store's SKUs differ), both
    with their platform's default account (`sandbox.accounts.DEFAULTS`). `store` may
    override the store's seed too (`items`: a store selling fewer SKUs than the ERP),
    `erp_knobs` the ERP sandbox's (`rate_limit`); `site` and `source` override rows."""
    erp_account, store_account = DEFAULTS[erp], DEFAULTS[platform]
    erp_config = SandboxConfig.for_account(erp_account, **{"items": items, **(erp_knobs or {})})
    erp_app = create_app(erp, erp_config)
    store_config = SandboxConfig.for_account(
        store_account, **{"items": items, "drift": drift, **(store or {})}
    )
    store_app = create_app(platform, store_config)
    with running(erp_app) as erp_url, running(store_app) as store_url:
        erp_state = erp_app.config["SANDBOX_STATE"]
        with transaction(sessions) as session:
            source_row = make_source(
                session,
                vault,
                name=f"erp-{name}",
                kind=SourceKind(erp),
                base_url=erp_url,
                credentials_sealed=vault.seal(erp_account.stored_credentials(erp_url)),
                webhook_secret_sealed=vault.seal(erp_account.receiver_secret()),
                **{**GENEROUS, **(source or {})},
            )
            row = make_site(
                session,
                vault,
                source_row,
                name=name,
                platform=Platform(platform),
                base_url=store_url,
                credentials_sealed=vault.seal(store_account.stored_credentials(store_url)),
                webhook_secret_sealed=vault.seal(store_account.receiver_secret()),
                **{**GENEROUS, **(site or {})},
            )
            ids = row.id, source_row.id
        yield Stack(
            erp_url,
            erp_state,
            store_url,
            store_app.config["SANDBOX_STATE"],
            platform,
            *ids,
            erp_app=erp_app,
            store_app=store_app,
        )


@contextmanager
def sibling_store(
    sessions: sessionmaker[Session],
    vault: Vault,
    source_id: int,
    platform: str,
    *,
    name: str,
    site: Mapping[str, Any] | None = None,
    **knobs: Any,
) -> Iterator[tuple[SandboxState, int]]:
    """Another store on `source_id`: a `platform` sandbox with its default account,
    served over HTTP (`knobs` seed it: `items`, `drift`, `rate_limit`), and its site."""
    account = DEFAULTS[platform]
    app = create_app(platform, SandboxConfig.for_account(account, **knobs))
    with running(app) as url:
        with transaction(sessions) as session:
            row = make_site(
                session,
                vault,
                session.get_one(Source, source_id),
                name=name,
                platform=Platform(platform),
                base_url=url,
                credentials_sealed=vault.seal(account.stored_credentials(url)),
                webhook_secret_sealed=vault.seal(account.receiver_secret()),
                **{**GENEROUS, **(site or {})},
            )
            site_id = row.id
        yield app.config["SANDBOX_STATE"], site_id


@contextmanager
def installed_context(settings: Settings, **options: Any) -> Iterator[Context]:
    """A context with test timings, used by every task of this process."""
    context = client_context(settings, **options)
    worker_context.install(context)
    try:
        yield context
    finally:
        worker_context.reset()


#: Waits short enough for tests; the shapes (exponential, capped, hints honoured) stay.
FAST: dict[str, Any] = {
    "backoff_base_seconds": 0.01,
    "pacing": Pacing(retries=3, max_wait=2.0, base_seconds=0.01),
    "delivery_schedule": (0.2, 0.4, 0.8),
}


class WakeUp(bootsteps.StartStopStep):
    """Wake the worker's event loop every 50 ms.

    With the threads pool, a finished task does not wake the loop (prefork's pipes
    do), so on Redis a worker takes its next message only at the next timer, up to
    10 s later (kombu's restore timer). Production workers are prefork; this keeps the
    in-process test workers from idling between batches.
    """

    requires = {"celery.worker.components:Hub"}

    def start(self, worker: WorkController) -> None:
        if worker.hub is not None:
            worker.hub.call_repeatedly(0.05, lambda: None)


@contextmanager
def workers(app: Celery, concurrency: int = 1, count: int = 1) -> Iterator[None]:
    """`count` real workers (threads pool) consuming every queue, in this process."""
    if WakeUp not in app.steps["worker"]:
        app.steps["worker"].add(WakeUp)
    with ExitStack() as stack:
        for _ in range(count):
            stack.enter_context(
                start_worker(
                    app,
                    pool="solo" if concurrency == 1 else "threads",
                    concurrency=concurrency,
                    perform_ping_check=False,
                    queues=list(celeryconfig.QUEUES),
                    loglevel="WARNING",
                    shutdown_timeout=60,
                )
            )
        yield


def begun_run(sessions: sessionmaker[Session], site_id: int) -> int:
    """A run of the site created and begun, its catalog not listed: what a start task
    holds before it prepares the batches."""
    with transaction(sessions) as session:
        run_id = build_run(session, site_id).id
    with transaction(sessions) as session:
        begin_run(session, run_id, START, LEASE)
    return run_id


def prepared_run(ctx: Context, site_id: int, kind: str = "manual") -> tuple[int, list[int]]:
    """A run begun, its catalog mirrored and its batches cut, the first window's taken
    for published (their turn's lease dropped, sync/runs.py `published`) but nothing in
    the broker: the test publishes what it means to."""
    with transaction(ctx.sessions) as session:
        run_id = build_run(session, site_id, kind=kind).id
    with transaction(ctx.sessions) as session:
        begin_run(session, run_id, START, LEASE)
    cut = prepare_batches(ctx, run_id, START)
    with transaction(ctx.sessions) as session:
        published(session, cut.publish)
    return run_id, cut.batch_ids


def run_with_batches(
    sessions: sessionmaker[Session],
    site_id: int,
    *skus: list[str],
    status: RunStatus = RunStatus.RUNNING,
    published: bool = True,
    **overrides: Any,
) -> tuple[int, list[int]]:
    """A run of the site with one queued batch per SKU list, counted as published
    (`published`) or waiting for their turn in the run's window, but none in the
    broker."""
    with transaction(sessions) as session:
        run = build_run(session, site_id, status=status, **overrides)
        return run.id, make_batches(session, run, *skus, published=published)


def set_rows(sessions: sessionmaker[Session], model: Any, ids: list[int], **values: Any) -> None:
    """Put rows of `model` in the state a test starts from (a batch processing, ...)."""
    with transaction(sessions) as session:
        session.execute(update(model).where(model.id.in_(ids)).values(**values))


def lapse_leases(sessions: sessionmaker[Session], batch_ids: list[int]) -> None:
    """End the batches' leases a second ago on the database's clock, as if their worker
    had stopped renewing them."""
    set_rows(sessions, SyncBatch, batch_ids, lease_expires_at=func.now() - timedelta(seconds=1))


def sweep_batches(sessions: sessionmaker[Session]) -> list[tuple[int, str]]:
    """Run the maintenance sweep once, as beat does: the batches it would publish."""
    with transaction(sessions) as session:
        return return_stuck_batches(session, Settings.stuck_batch_minutes).batches


def wait_for(predicate: Callable[[], bool], timeout: float = 120.0, what: str = "") -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, f"timed out waiting for {what or predicate}"
        time.sleep(0.05)


def mirror(ctx: Context, site_id: int) -> None:
    """Mirror the site's store catalog into `items`, as a full sync's start does."""
    site = load_site(ctx.sessions, site_id)
    refresh_catalog(ctx, site, ctx.storefront(site))


def load_site(sessions: sessionmaker[Session], site_id: int) -> Site:
    with sessions() as session:
        return session.get_one(Site, site_id, options=[joinedload(Site.source)])


def sync_to_end(app: Celery, sessions: sessionmaker[Session], site_id: int) -> SyncRun:
    """Start a manual run of the site and wait for it to finish; return its row."""
    run_id = start_run(get_context(app), site_id)
    wait_for(lambda: finished(sessions, run_id), what=f"run {run_id}")
    return run_row(sessions, run_id)


def run_row(sessions: sessionmaker[Session], run_id: int) -> SyncRun:
    with sessions() as session:
        return session.get_one(SyncRun, run_id)


def batch_rows(sessions: sessionmaker[Session], run_id: int) -> list[SyncBatch]:
    """The run's batches in order."""
    with sessions() as session:
        return list(
            session.scalars(
                select(SyncBatch).where(SyncBatch.run_id == run_id).order_by(SyncBatch.seq)
            )
        )


def topics(sessions: sessionmaker[Session], delivery_ids: list[int]) -> list[str]:
    """The lifecycle topic of each delivery, in the order given."""
    with sessions() as session:
        return [session.get_one(EventDelivery, id_).topic for id_ in delivery_ids]


def finished(sessions: sessionmaker[Session], run_id: int) -> bool:
    return run_row(sessions, run_id).finished_at is not None


def expected_write_calls(
    sessions: sessionmaker[Session], run_id: int, changed: set[str], platform: str, limit: int
) -> int:
    """Store write requests a run should make for `changed` SKUs, batch by batch.

    BigCommerce and Shopify take one batch's changes in chunks of their batch limit.
    WooCommerce can batch variations only under their parent
    (`products/<parent>/variations/batch`) and simple products under `products/batch`,
    so each batch costs one chunked request group per endpoint it touches.
    """
    with sessions() as session:
        endpoint = {
            sku: ("products" if variant_id is None else product_id)
            for sku, product_id, variant_id in session.execute(
                select(Item.sku, Item.product_id, Item.variant_id)
                .join(SyncRun, SyncRun.site_id == Item.site_id)
                .where(SyncRun.id == run_id)
            )
        }
        batches = session.scalars(select(SyncBatch.skus).where(SyncBatch.run_id == run_id)).all()
    calls = 0
    for skus in batches:
        groups: dict[str, int] = {}
        for sku in skus:
            if sku in changed:
                key = endpoint[sku] if platform == "woocommerce" else "all"
                groups[key] = groups.get(key, 0) + 1
        calls += sum(math.ceil(count / limit) for count in groups.values())
    return calls
