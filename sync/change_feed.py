"""ERP stock movements that fire no webhook, caught by polling each ERP's change feed.

An ERP's webhooks fire when an item's record changes, and many stock movements change
no item record: Business Central posts shipments, receipts and adjustments as item
ledger entries (docs/platforms.md section 7), Zoho moves stock with invoices, shipments
and adjustments (section 6). Each ERP connector offers a cheap feed of SKUs whose stock
moved after a cursor (`InventorySource.stock_changes`). Beat asks every `BEAT_SECONDS`;
each source is read at most once per its ERP's `POLL_SECONDS`, the period its budget
allows (a Redis key per source, shared by every host, spaces the reads).

A poll that finds SKUs logs one `erp.stock.moved` event for the source, carrying them,
and moves the source's cursor in the same transaction, so the event takes the durable
real-time path (relay, a worker, `push`) and a poll killed at any line
neither loses a movement nor logs it twice: the cursor and the event commit together.
The worker reads the SKUs' stock again before any write, so a SKU the feed names twice,
or one whose webhook also came, costs a read and no wrong number.

A cursor the ERP no longer knows (`CursorLost`; a refusal such as a 403 is only logged,
the cursor kept) ends in a full run of each of the source's real-time sites (trigger
`feed`), which writes only what differs, and watching again from the ERP's newest
position. An event naming more SKUs than `FULL_RUN_SKUS` (a heal's, `sync.healing`;
one poll reads at most `MAX_PAGES` pages) is a full run too.
Sources whose real-time switch is off are not polled: their ERP changes reach the stores
at the nightly run, as their webhooks would.

An ERP that can say stock moved without saying what (a Zoho workflow rule on invoices,
shipments or adjustments, api/webhooks/zoho.py) sends a nudge: `read_now` reads the
feed at once, so such movements take seconds, not the poll period.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from connectors.errors import ConnectorError, CursorLost, PermanentError, TransientError
from connectors.interfaces import InventorySource
from connectors.types import SourceItem
from models import EventKind, Site, Source, WebhookLog, WebhookStatus
from models.db import transaction
from models.webhook_log import window_key
from sync.carriers import REAL_TIME_SITES, carried, carriers, push_to_carriers
from sync.context import Context
from sync.erp_reads import read_erp
from sync.errors import ServiceError, Unavailable
from sync.runs import start_each

log = logging.getLogger(__name__)

#: How often beat asks; each source is then read at most once per `POLL_SECONDS`.
BEAT_SECONDS = 2.0
#: One feed read per source per period, by ERP (one call a read when little moved):
#: Business Central allows 6,000 requests per 5 minutes, so every 2 s costs 2.5 % of
#: it; Zoho about 100 a minute and a daily cap by plan (docs/platforms.md section 6),
#: so once a minute, 1,440 calls a day. The relay sends their events at once
#: (no dedupe window: `workers.relay.UNWINDOWED`).
POLL_SECONDS: dict[str, float] = {"businesscentral": 2.0, "zoho": 60.0}
#: For an ERP not in the table.
DEFAULT_POLL_SECONDS = 60.0
#: Pages one poll of one source reads at most; the rest waits for the next poll.
MAX_PAGES = 5
#: More SKUs than this in one event: a full run of each site is cheaper than reading
#: them one batch at a time (as for Business Central's `collection` notices).
FULL_RUN_SKUS = 5_000
#: A cursor no ERP's feed knows (both raise `CursorLost` on it): a source whose address
#: or account changed gets it, so its next poll restarts the feed with full runs, in
#: `_restart`'s crash-safe order, whatever process set it.
RESTART = "restart"
#: At most one nudged read of a source per this many seconds (`read_now`).
NUDGE_SECONDS = 15.0
#: How long a nudged read waits for another read of the same feed to end.
LOCK_WAIT_SECONDS = 10.0
#: SKUs read from the ERP per request (`InventorySource.get_quantities`).
READ_BATCH = 500
#: The webhook log's topic for feed events (provider: the ERP's kind).
TOPIC = "feed.stock_moved"
#: The trigger of the runs the feed starts.
FEED_TRIGGER = "feed"


def poll_all(ctx: Context) -> dict[str, int]:
    """Beat's pass: poll every source with real time on; counts for the log."""
    with ctx.sessions() as session:
        ids = list(
            session.scalars(select(Source.id).where(Source.webhooks_active).order_by(Source.id))
        )
    found = failed = 0
    for source_id in ids:
        try:
            found += poll(ctx, source_id, due_only=True)
        except (ConnectorError, ServiceError) as error:
            failed += 1
            log.warning("feed.poll_failed", extra={"source": source_id, "error": str(error)})
    return {"sources": len(ids), "skus": found, "failed": failed}


def poll(ctx: Context, source_id: int, *, due_only: bool = False, wait: bool = False) -> int:
    """Read the source's feed from its cursor; log what moved; the SKUs found.

    Polls of one source are serialised by a Redis lock (beat's, an operator's); one
    held elsewhere makes this one a no-op rather than a wait, unless `wait` (a nudge:
    the other read may have begun before the movement it announces), which waits a
    little and then raises `TransientError`. With `due_only` (beat), a source read
    less than its ERP's `POLL_SECONDS` ago is left for later.
    """
    lock = ctx.redis.lock(f"stocksync:feed:{source_id}", timeout=120)
    if not lock.acquire(blocking=wait, blocking_timeout=LOCK_WAIT_SECONDS if wait else None):
        if wait:
            raise TransientError("another read of this change feed is going")
        return 0
    try:
        return _poll(ctx, source_id, due_only)
    finally:
        try:
            lock.release()
        except Exception:  # expired meanwhile: another poll may hold it now
            log.warning("feed.lock_lost", extra={"source": source_id})


def _poll(ctx: Context, source_id: int, due_only: bool) -> int:
    with ctx.sessions() as session:
        source = session.get_one(Source, source_id)
        cursor: str | None = source.feed_cursor
        kind = str(source.kind)
        period = POLL_SECONDS.get(kind, DEFAULT_POLL_SECONDS)
        if due_only and not ctx.redis.set(
            f"stocksync:feed:read:{source_id}", 1, nx=True, px=_spacing_ms(period)
        ):
            return 0
        erp = ctx.source(source)
    skus: set[str] = set()
    start = end = cursor
    try:
        for _ in range(MAX_PAGES):
            page = erp.stock_changes(end)
            skus.update(page.skus)
            end = page.cursor
            if not page.more or start is None:
                break
    except CursorLost as lost:
        _restart(ctx, erp, source_id, start, str(lost))
        return 0
    if end is None or (end == start and not skus):
        return 0
    with transaction(ctx.sessions) as session:
        row = session.get_one(Source, source_id, with_for_update=True)
        if row.feed_cursor != start:
            return 0  # another poll moved it meanwhile (its lock had lapsed)
        row.feed_cursor = end
        if skus and start is not None:
            session.add(moved_event(kind, source_id, sorted(skus), (start, end)))
    if skus and start is not None:
        log.info("feed.stock_moved", extra={"source": source_id, "skus": len(skus)})
        return len(skus)
    return 0


def _pttl(ctx: Context, key: str) -> int:
    """Milliseconds `key` has left (negative: none or no expiry)."""
    left: int = ctx.redis.pttl(key)  # type: ignore[assignment]
    return left


def _spacing_ms(period: float) -> int:
    """How long a read holds off beat's next: half a beat short of the period, so the
    beat that comes one period later, a few milliseconds late as beats are, finds it
    gone."""
    return int((period - BEAT_SECONDS / 2) * 1000)


def moved_event(
    kind: str, source_id: int, skus: list[str], span: tuple[str, str], topic: str = TOPIC
) -> WebhookLog:
    """The log row of SKUs that moved over `span` (one poll's cursors, or a heal's
    times): the span is its window, so nothing coalesces two rows' SKUs away (each
    carries its own) and the worker pushes them (`push_moved`)."""
    start, end = span
    entity = f"{start}..{end}"[:200]
    return WebhookLog(
        provider=kind,
        source_id=source_id,
        topic=topic,
        kind=EventKind.ERP_STOCK_MOVED,
        entity=entity,
        sku=skus[0][:20] if len(skus) == 1 else None,
        dedupe_key=window_key("source", source_id, EventKind.ERP_STOCK_MOVED, entity),
        status=WebhookStatus.RECEIVED,
        payload={"skus": skus, "from": start, "to": end},
    )


def _restart(
    ctx: Context, erp: InventorySource, source_id: int, lost: str | None, why: str
) -> None:
    """Watch again from the ERP's newest position, after full runs that read everything
    from at least there. In that order: killed before the cursor is saved, the next
    poll finds it lost again and repeats this (a site's run going answers "already
    running"), so nothing moved in the gap is ever skipped."""
    head = erp.stock_changes(None).cursor
    started = full_runs(ctx, source_id)
    with transaction(ctx.sessions) as session:
        row = session.get_one(Source, source_id, with_for_update=True)
        if row.feed_cursor == lost:
            row.feed_cursor = head
    log.warning(
        "feed.restarted",
        extra={"source": source_id, "reason": why, "runs": started},
    )


def full_runs(ctx: Context, source_id: int, trigger: str = FEED_TRIGGER) -> list[int]:
    """A full run of each real-time site of the source; sites with a run going keep it."""
    with ctx.sessions() as session:
        site_ids = session.scalars(
            select(Site.id).where(*REAL_TIME_SITES, Site.source_id == source_id)
        ).all()
    try:
        started, _ = start_each(ctx, site_ids, trigger)
    except Unavailable as exc:
        raise TransientError(exc.message) from exc  # the event or poll is retried
    return started


def read_now(ctx: Context, session: Session, row: WebhookLog) -> str:
    """The worker's side of a nudge (`EventKind.ERP_STOCK_NUDGE`): the ERP said stock
    moved, so its feed is read now, not at the next poll; what it finds is logged and
    pushed as any poll's.

    Within the ERP's budget: at most one nudged read per `NUDGE_SECONDS` (a store busy
    all day costs 4 reads a minute, not one per document), and it counts as the poll,
    whose next read is then a whole period away. A nudge during that spacing brings
    the beat's next read forward to when the spacing ends, so the movement it
    announces waits seconds, and no nudge waits in a queue of retries.
    """
    source_id = row.source_id
    if source_id is None:
        raise PermanentError("nudge: the event names no source")
    spaced = f"stocksync:feed:nudged:{source_id}"
    due = f"stocksync:feed:read:{source_id}"
    if ctx.redis.set(spaced, 1, nx=True, px=int(NUDGE_SECONDS * 1000)):
        try:
            found = poll(ctx, source_id, wait=True)
        except Exception:
            ctx.redis.delete(spaced)  # not read: the event's retry reads
            raise
        period = POLL_SECONDS.get(row.provider, DEFAULT_POLL_SECONDS)
        ctx.redis.set(due, 1, px=_spacing_ms(period))
        return f"read the change feed now: {found} SKU(s) moved"
    left = max(_pttl(ctx, spaced), 1)
    if _pttl(ctx, due) > left:
        ctx.redis.set(due, 1, px=left)
    return f"a nudged read ran moments ago: the next read comes in {left / 1000:.0f} s"


def moved_skus(row: WebhookLog) -> list[str]:
    payload: Any = row.payload
    skus = payload.get("skus") if isinstance(payload, dict) else None
    if not isinstance(skus, list) or not all(isinstance(s, str) for s in skus):
        raise PermanentError("feed event: the logged body carries no SKU list")
    return skus


def push_moved(ctx: Context, session: Session, row: WebhookLog) -> str:
    """The worker's side (sync/events.py): read the moved SKUs from the ERP and push
    them to every real-time store carrying them; a large movement is a full run."""
    skus = moved_skus(row)
    source = session.get(Source, row.source_id) if row.source_id else None
    if source is None:
        raise PermanentError("the event's source no longer exists")
    if len(skus) > FULL_RUN_SKUS:
        runs = full_runs(ctx, source.id)
        return f"{len(skus)} SKUs moved: full run {', '.join(map(str, runs)) or 'already going'}"
    erp = ctx.source(source)
    summaries = []
    for chunk in _chunks(skus, READ_BATCH):
        sites = carriers(ctx, source.id, chunk)
        if sites:
            readings = read_erp(ctx, erp, source.id, chunk)
            summaries.append(
                push_to_carriers(ctx, sites, _each_its_own(readings, carried(ctx, sites, chunk)))
            )
    return "; ".join(summaries) or f"{len(skus)} SKU(s) moved, on no site taking real-time writes"


def _each_its_own(
    readings: list[SourceItem], sold: dict[int, set[str]]
) -> Callable[[Site], list[SourceItem]]:
    """Each store gets the readings of the SKUs it sells (`push` applies its policy)."""
    return lambda site: [reading for reading in readings if reading.sku in sold[site.id]]


def _chunks(items: Sequence[str], size: int) -> list[Sequence[str]]:
    return [items[i : i + size] for i in range(0, len(items), size)]
