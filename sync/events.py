"""Processing one webhook event (docs/architecture.md flow 3), dispatched on its `EventKind`.

An event says *that* something changed; every handler reads the current state from its
owner (the store's product, the ERP's item) and writes through `sync.push`, the one
write path, so a late, duplicated or reordered event can never push a stale number.

Exactly-once where it matters: the log row is locked (`FOR UPDATE NOWAIT`) for the
whole processing and only `received`/`queued` rows are processed, so a row published
twice (sweeper and receiver, or a redelivery) is processed once; a second worker that
finds the row locked retries shortly instead of waiting or dropping it.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from datetime import UTC, datetime

from sqlalchemy import select, update
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session

from connectors.errors import PermanentError, TransientError
from connectors.interfaces import InventorySource
from connectors.types import OrderSnapshot, SourceItem
from models import EventKind, Item, Site, Source, WebhookLog, WebhookStatus
from models.db import transaction
from sync.carriers import REAL_TIME_SITES, PushFailed, fan_out, require_pushed
from sync.catalog import mirror_product
from sync.change_feed import push_moved, read_now
from sync.context import Context
from sync.echoes import is_echo
from sync.erp_reads import read_erp
from sync.errors import Unavailable
from sync.plugin_orders import PROVIDER as PLUGIN
from sync.plugin_orders import snapshot_of as plugin_snapshot
from sync.push import push_readings
from sync.reservations import open_orders, settle_orders
from sync.runs import start_each
from sync.store_orders import take_order

log = logging.getLogger(__name__)

PENDING = (WebhookStatus.RECEIVED, WebhookStatus.QUEUED)
#: Seconds before retrying an event another worker is processing right now.
LOCKED_RETRY_SECONDS = 5.0
#: PostgreSQL's SQLSTATE for a NOWAIT lock that is held (lock_not_available).
LOCK_NOT_AVAILABLE = "55P03"


class EventFailed(Exception):
    """The event cannot succeed (per-SKU refusals, bad data); the row says why."""


class RowHeld(TransientError):
    """Another worker holds the row: retry shortly, and leave the row to its holder."""

    def __init__(self) -> None:
        super().__init__(
            "event is being processed by another worker", retry_after=LOCKED_RETRY_SECONDS
        )


def process_event(ctx: Context, row_id: int) -> None:
    """Process one `webhook_log` row if it is still pending (module docstring)."""
    try:
        _count_attempt(ctx, row_id)
        with transaction(ctx.sessions) as session:
            row = _lock_row(session, row_id)
            if row is not None and row.status in PENDING:
                _handle(ctx, session, row)
    except RowHeld:
        raise  # writing a note would wait for the holder's lock
    except TransientError as exc:
        _note(ctx, [row_id], f"retrying: {exc}")
        raise


def process_events(ctx: Context, row_ids: Sequence[int]) -> None:
    """Process the rows of one message: one as `process_event` does; several (the
    relay's group of one source's ERP item notices whose windows closed together,
    workers/relay.py) in one transaction that reads the ERP once and writes each store
    once for all of them (`_erp_items_changed`).

    Each row still ends on its own: processed, failed with its own reason, ignored. A
    row another worker holds is left to it (`SKIP LOCKED`, where one row alone retries
    shortly): that worker is processing it (a redelivered message, the sweeper's
    republish) and retries it itself if it must. A transient error retries the group.
    """
    if len(row_ids) == 1:
        process_event(ctx, row_ids[0])
        return
    try:
        _count_attempts(ctx, row_ids)
        with transaction(ctx.sessions) as session:
            rows = _lock_pending(session, row_ids)
            notices: dict[int, list[WebhookLog]] = {}
            for row in rows:
                if row.kind == EventKind.ERP_ITEM_CHANGED and row.source_id is not None:
                    notices.setdefault(row.source_id, []).append(row)
                else:
                    _handle(ctx, session, row)
            for group in notices.values():
                _erp_items_changed(ctx, session, group)
    except TransientError as exc:
        _note(ctx, row_ids, f"retrying: {exc}")
        raise


def _handle(ctx: Context, session: Session, row: WebhookLog) -> None:
    """Run a pending, locked row's handler and record how it ended."""
    switched_off = _switched_off(session, row)
    if switched_off:
        _finish(row, WebhookStatus.IGNORED, switched_off)
        log.info("event.ignored", extra={"row": row.id, "reason": switched_off})
        return
    # By the stored string: a kind this version does not know (a newer receiver's)
    # fails the row by name instead of raising here.
    handler = HANDLERS.get(row.kind) if row.kind else None  # type: ignore[call-overload]
    try:
        if handler is None:
            raise EventFailed(f"no handler for kind {row.kind!r}")
        summary = handler(ctx, session, row)
    except (PermanentError, EventFailed, PushFailed) as exc:
        _fail(row, str(exc))
        return
    _processed(row, summary)


def _fail(row: WebhookLog, error: str) -> None:
    _finish(row, WebhookStatus.FAILED, error)
    log.warning("event.failed", extra={"row": row.id, "error": error})


def _processed(row: WebhookLog, summary: str) -> None:
    _finish(row, WebhookStatus.PROCESSED, None)
    log.info("event.processed", extra={"row": row.id, "summary": summary})


def record_failure(ctx: Context, row_ids: Sequence[int], error: str) -> None:
    """Retries exhausted: the rows still pending are `failed`, kept for replay from
    the admin API."""
    with transaction(ctx.sessions) as session:
        session.execute(
            update(WebhookLog)
            .where(WebhookLog.id.in_(row_ids), WebhookLog.status.in_(PENDING))
            .values(status=WebhookStatus.FAILED, error=error[:2000], processed_at=datetime.now(UTC))
        )


def _count_attempt(ctx: Context, row_id: int) -> None:
    """Counted in its own transaction, so an attempt that fails still counts. Locked
    without waiting, like the processing itself: an UPDATE would wait for the lock of
    a worker processing the row, holding this worker for as long (`RowHeld`)."""
    with transaction(ctx.sessions) as session:
        if _lock_row(session, row_id) is not None:
            session.execute(
                update(WebhookLog)
                .where(WebhookLog.id == row_id)
                .values(attempts=WebhookLog.attempts + 1)
            )


def _count_attempts(ctx: Context, row_ids: Sequence[int]) -> None:
    """`_count_attempt` for a group's rows, skipping those another worker holds."""
    with transaction(ctx.sessions) as session:
        held = select(WebhookLog.id).where(WebhookLog.id.in_(row_ids))
        session.execute(
            update(WebhookLog)
            .where(WebhookLog.id.in_(held.with_for_update(skip_locked=True).scalar_subquery()))
            .values(attempts=WebhookLog.attempts + 1)
        )


def _lock_pending(session: Session, row_ids: Sequence[int]) -> list[WebhookLog]:
    """Of `row_ids`, the rows still pending, locked for this transaction, by id; rows
    another transaction holds are skipped (`process_events`)."""
    return list(
        session.scalars(
            select(WebhookLog)
            .where(WebhookLog.id.in_(row_ids), WebhookLog.status.in_(PENDING))
            .order_by(WebhookLog.id)
            .with_for_update(skip_locked=True)
        )
    )


def _lock_row(session: Session, row_id: int) -> WebhookLog | None:
    """The row, locked for this transaction; `RowHeld` if another one holds it."""
    try:
        return session.scalars(
            select(WebhookLog).where(WebhookLog.id == row_id).with_for_update(nowait=True)
        ).one_or_none()
    except OperationalError as exc:
        if getattr(exc.orig, "pgcode", None) != LOCK_NOT_AVAILABLE:
            raise
        raise RowHeld from exc


def _note(ctx: Context, row_ids: Sequence[int], error: str) -> None:
    with transaction(ctx.sessions) as session:
        session.execute(
            update(WebhookLog).where(WebhookLog.id.in_(row_ids)).values(error=error[:2000])
        )


def _finish(row: WebhookLog, status: WebhookStatus, error: str | None) -> None:
    row.status = status
    row.error = error[:2000] if error else None
    row.processed_at = datetime.now(UTC)


def _switched_off(session: Session, row: WebhookLog) -> str | None:
    """Why the event's owner takes no real-time work now, or None.

    The receiver already logs deliveries to a switched-off owner `ignored`; this
    catches events accepted before the switch was turned off (waiting in the queue, or
    let through by the receiver's owner cache, api/owners.py). A missing owner is the
    handler's to fail by name.
    """
    if row.site_id is not None:
        site = session.get(Site, row.site_id)
        if site is not None and not site.active:
            return f"site {site.id} is deactivated"
        if site is not None and not site.webhooks_active:
            return f"site {site.id} has real-time sync off"
    elif row.source_id is not None:
        source = session.get(Source, row.source_id)
        if source is not None and not source.webhooks_active:
            return f"source {source.id} has its webhooks off"
    return None


def _site(session: Session, row: WebhookLog) -> Site:
    site = session.get(Site, row.site_id) if row.site_id else None
    if site is None:
        raise EventFailed("the event's site no longer exists")
    return site


def _store_product_changed(ctx: Context, session: Session, row: WebhookLog) -> str:
    """A product was created, updated or deleted: mirror what the store holds now.

    The topic is never taken at its word. Shopify's HMAC does not cover
    `X-Shopify-Topic` or `X-Shopify-Webhook-Id` (docs/platforms.md section 5), so a
    captured update can be re-sent as a delete under a new id, and WooCommerce's
    `product.deleted` carries no time to key a replay by (section 1). So a product is
    retired only when the store no longer has it, and a "deleted" product the store
    still has is refreshed. SKUs new to the mirror get the ERP's stock now. The echo of
    our own write says nothing new and costs nothing (sync/echoes.py).
    """
    site = _site(session, row)
    if is_echo(session, row):
        return _echo(row)
    store = ctx.storefront(site)
    with transaction(ctx.sessions) as mirror:
        outcome = mirror_product(mirror, site.id, row.entity or "", store)
    summary = (
        f"site {site.id}: product {row.entity}: {outcome.listed} SKU(s) in the store, "
        f"{outcome.retired} retired"
    )
    if not outcome.added:
        return summary
    if site.awaiting_first_sync:
        return f"{summary}; not written: the site waits for an operator's first sync"
    erp = ctx.source(site.source)
    settle_orders(ctx, erp, site.source_id, outcome.added)
    readings = erp.get_quantities(outcome.added)
    pushed = push_readings(ctx, site, list(readings.values()), store)
    return f"{summary}; {require_pushed(site, pushed)}"


def _store_stock(ctx: Context, session: Session, row: WebhookLog) -> str:
    """A stock level moved in the store (an order, a hand edit, our own write's echo).

    Not pushed back: after an order the store is briefly *below* the ERP until the ERP
    books it, and pushing the ERP's number then would sell stock that is gone. The
    ERP's own change notice, or the nightly sync, brings the store back in line. No
    read either way; the echo of our own write is told apart only in the log.
    """
    if is_echo(session, row):
        return _echo(row)
    return "store-side stock change; the ERP stays the truth"


def _echo(row: WebhookLog) -> str:
    """Our own write come back (sync/echoes.py): nothing to read, nothing to write."""
    log.info("event.echo", extra={"site": row.site_id, "entity": row.entity})
    return f"site {row.site_id}: {row.entity}: echo of our write"


def _store_order(ctx: Context, session: Session, row: WebhookLog) -> str:
    """An order was placed, changed, cancelled or refunded: its reservations, then every
    store's number (sync/store_orders.py).

    The window coalesces an order's deliveries into this row (docs/architecture.md flow
    2), so the body used is the newest the store sent since it opened (by the store's
    time, then arrival): a cancel arriving 2 s after the order is not lost with its
    row's `duplicate` status. Older bodies are ignored downstream anyway.
    """
    site = _site(session, row)
    newest = session.execute(
        select(WebhookLog.provider, WebhookLog.payload)
        .where(
            WebhookLog.site_id == row.site_id,
            WebhookLog.received_at >= row.received_at,
            WebhookLog.kind == EventKind.STORE_ORDER,
            WebhookLog.entity == row.entity,
            WebhookLog.status.in_((*PENDING, WebhookStatus.DUPLICATE)),
        )
        .order_by(WebhookLog.occurred_at.desc().nulls_last(), WebhookLog.id.desc())
        .limit(1)
    ).first()
    provider, body = newest if newest is not None else (row.provider, row.payload)
    snapshot: OrderSnapshot | None
    if provider == PLUGIN:
        # Pushed by the store plugin: logged as checked, read from the row.
        snapshot = plugin_snapshot(body)
    else:
        snapshot = ctx.storefront(site).read_order(row.entity or "", body)
    return take_order(ctx, site, row.entity or "", snapshot)


def _erp_item_changed(ctx: Context, session: Session, row: WebhookLog) -> str:
    """Read the item the notice names and push it everywhere; a blocked or inactive
    item reads as 0 (connectors/types.py).

    An item the ERP no longer has (deleted: Business Central's `deleted` notice, a 404)
    names no SKU any more. Its SKUs are the ones this id fed, remembered by the push
    path (`items.erp_item_id`), and the one the notice's body carries (Zoho's), and
    each is asked of the ERP again by SKU: the body's word alone zeroes nothing.
    """
    source = session.get(Source, row.source_id) if row.source_id else None
    if source is None:
        raise EventFailed("the event's source no longer exists")
    erp = ctx.source(source)
    reading = erp.get_item(row.entity or "")
    if reading is not None:
        if open_orders(session, source.id, [reading.sku]).numbers:
            # The change may be the ERP absorbing a store order: note that first, then
            # read again, so the order is not subtracted from a figure that nets it.
            [reading] = read_erp(ctx, erp, source.id, [reading.sku])
        return _push_everywhere(ctx, session, source.id, reading)
    skus = set(
        session.scalars(
            select(Item.sku)
            .join(Site, Site.id == Item.site_id)
            .where(Site.source_id == source.id, Item.erp_item_id == row.entity)
        )
    )
    skus |= {row.sku} if row.sku else set()
    if not skus:
        return "item not in the ERP, and no SKU of ours came from it"
    return "; ".join(
        _push_everywhere(ctx, session, source.id, reading)
        for reading in read_erp(ctx, erp, source.id, sorted(skus))
    )


def _erp_items_changed(ctx: Context, session: Session, rows: Sequence[WebhookLog]) -> None:
    """`_erp_item_changed` for one source's pending, locked rows at once: their items
    read in one call (`get_items`), and every store written once for all of them
    (`fan_out`); each row then ends on its own SKU's outcome. A row whose item the ERP
    does not list (deleted) takes the one-row path, which asks again by SKU; so does
    every row if the source is gone or switched off, each ending as it would alone. The
    ERP refusing the read fails every row with its reason, as it fails one alone."""
    source = session.get(Source, rows[0].source_id)
    if source is None or _switched_off(session, rows[0]):
        for row in rows:
            _handle(ctx, session, row)
        return
    erp = ctx.source(source)
    try:
        read = _read_items(ctx, session, erp, source.id, rows)
    except PermanentError as exc:
        for row in rows:
            _fail(row, str(exc))
        return
    for row in rows:
        if row.id not in read:
            _handle(ctx, session, row)
    if not read:
        return
    pushed = fan_out(ctx, source.id, list({r.sku: r for r in read.values()}.values()))
    together = f"one of {len(read)} read and written together"
    for row in rows:
        if row.id not in read:
            continue
        sku = read[row.id].sku
        if pushed.failures.get(sku):
            _fail(row, "; ".join(pushed.failures[sku]))
        else:
            summary = pushed.summary or "on no site taking real-time writes"
            _processed(row, f"SKU {sku}, {together}: {summary}")


def _read_items(
    ctx: Context,
    session: Session,
    erp: InventorySource,
    source_id: int,
    rows: Sequence[WebhookLog],
) -> dict[int, SourceItem]:
    """The reading of each row's item, by row id; rows whose item the ERP does not list
    are absent. SKUs with open store orders are read again after noting what the ERP
    did with those orders, as `_erp_item_changed` does for one."""
    items = erp.get_items([row.entity or "" for row in rows])
    read = {row.id: reading for row in rows if (reading := items.get(row.entity or ""))}
    skus = sorted({reading.sku for reading in read.values()})
    if skus and open_orders(session, source_id, skus).numbers:
        again = {reading.sku: reading for reading in read_erp(ctx, erp, source_id, skus)}
        read = {row_id: again[reading.sku] for row_id, reading in read.items()}
    return read


def _sku_changed(ctx: Context, session: Session, row: WebhookLog) -> str:
    site = _site(session, row)
    if site.awaiting_first_sync:
        return f"site {site.id} waits for an operator's first sync: nothing written"
    readings = read_erp(ctx, ctx.source(site.source), site.source_id, [row.sku or ""])
    return require_pushed(site, push_readings(ctx, site, readings, ctx.storefront(site)))


def _push_everywhere(ctx: Context, session: Session, source_id: int, reading: SourceItem) -> str:
    """Push one ERP reading to every site of the source that sells the SKU and takes
    real-time writes (sync/carriers.py)."""
    pushed = fan_out(ctx, source_id, [reading])
    if pushed.failures:
        raise PushFailed("; ".join(pushed.failures[reading.sku]))
    return pushed.summary or f"SKU {reading.sku} is on no site taking real-time writes"


def _erp_collection(ctx: Context, session: Session, row: WebhookLog) -> str:
    """Too many changes to list (Business Central sends one `collection` notice for over
    1,000 records, docs/platforms.md section 7): a manual full sync of each site, which
    writes only what differs, is the exact and cheap answer. A site with a run going
    keeps that run (one live run per site): it reads the ERP batch by batch, so only
    batches it finished before this notice miss the change until the next run."""
    site_ids = session.scalars(
        select(Site.id).where(*REAL_TIME_SITES, Site.source_id == row.source_id).order_by(Site.id)
    ).all()
    try:
        started, going = start_each(ctx, site_ids, "webhook")
    except Unavailable as exc:
        raise TransientError(exc.message) from exc  # the event is retried
    return "; ".join([f"full sync started for {len(started)} site(s)", *going])


Handler = Callable[[Context, Session, WebhookLog], str]

HANDLERS: dict[EventKind, Handler] = {
    EventKind.STORE_PRODUCT_UPSERT: _store_product_changed,
    EventKind.STORE_PRODUCT_DELETE: _store_product_changed,
    EventKind.STORE_STOCK: _store_stock,
    EventKind.STORE_ORDER: _store_order,
    EventKind.ERP_ITEM_CHANGED: _erp_item_changed,
    EventKind.SKU_CHANGED: _sku_changed,
    EventKind.ERP_COLLECTION: _erp_collection,
    EventKind.ERP_STOCK_MOVED: push_moved,
    EventKind.ERP_STOCK_NUDGE: read_now,
}
