"""Catching up on what a lapsed or silent subscription missed, without waiting for 02:00.

A subscription that was disabled, deleted, expired or silent lost its notices, and
the keeper (`sync.subscriptions`) mends it; this module reconciles what changed
meanwhile, as cheaply as the platform allows:

- an ERP's (a source's): Business Central lists the items modified since a time
  (`lastModifiedDateTime`, docs/platforms.md section 7, `connectors.interfaces.
  ModifiedSince`). `heal_source` reads those modified since the last notice that
  reached us (less `READ_MARGIN`) and logs them as one `erp.stock.moved` event, so the
  durable real-time path pushes each SKU to the stores that sell it
  (`sync.change_feed.push_moved`; past `FULL_RUN_SKUS` it starts full runs). Stock
  moved by postings never depended on the subscription: the change feed carries it.
  If the ERP cannot be read, or lists no such thing, each real-time site of the source
  gets a full run instead. Zoho needs no heal: its change feed is its modified-since
  query (`last_modified_time`), read all the time, whatever became of its webhooks.
- a store's (a site's): what it lost are the store's own orders and product changes,
  which no query as cheap gives back, so `heal_sites` starts a full run of the site.

Either way the answer is a note for the subscription rows: which event or runs did it.
A heal that cannot start now (the broker down: `Unavailable`, or `TransientError` from
the full runs) raises, and stays due (`subscriptions.heal_due_at`) for the keeper's
next pass; an ERP that cannot be read is healed by full runs instead.

`silence` is the keeper's check that an active ERP subscription still speaks: every
item record the ERP changed should have been notified, so one changed after the last
notice (plus `CLOCK_SKEW`) and longer ago than `NOTICE_GRACE`, with no notice since,
shows a subscription that stopped delivering while the platform still lists it.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from sqlalchemy import select

from connectors.errors import ConnectorError
from connectors.interfaces import ModifiedSince
from models import Site, Source
from models.db import transaction
from sync.carriers import REAL_TIME_SITES
from sync.change_feed import full_runs, moved_event
from sync.context import Context
from sync.runs import start_each

log = logging.getLogger(__name__)

#: The trigger of a run started to reconcile what a lapsed subscription missed.
HEAL_TRIGGER = "heal"
#: The webhook log's topic for a heal's event (provider: the ERP's kind).
TOPIC = "heal.items_modified"
#: A heal reads from this long before our last notice: a change just before it may
#: have been due in a later batch that was lost (Business Central batches notices,
#: section 7), and the ERP's clock may run behind ours.
READ_MARGIN = timedelta(minutes=5)
#: The silence check counts only changes this long after our last notice, since the
#: ERP's clock may run ahead of ours (both are NTP-set: seconds apart, not minutes).
CLOCK_SKEW = timedelta(minutes=1)
#: A change older than this with no notice since means the subscription is silent:
#: far longer than any platform takes to notify.
NOTICE_GRACE = timedelta(minutes=5)


def heal_sites(ctx: Context, site_ids: list[int]) -> str:
    """A full run of each site that takes automated writes (`REAL_TIME_SITES`: not one
    waiting for its first operator's run); one with a run going is left to it. The note."""
    with ctx.sessions() as session:
        writable = session.scalars(select(Site.id).where(*REAL_TIME_SITES, Site.id.in_(site_ids)))
        site_ids = list(writable)
    if not site_ids:
        return "not reconciled: the site takes no automated writes (real time off, first sync due)"
    # The broker down (`Unavailable`) is raised: the heal stays due.
    started, _ = start_each(ctx, site_ids, HEAL_TRIGGER)
    return _runs_note(started)


def heal_source(ctx: Context, source_id: int, since: datetime | None) -> str:
    """Push the items the source's ERP changed after `since` (the last notice that
    reached us; None: never one, so a full run of each real-time site); the note."""
    if since is None:
        return _runs_note(full_runs(ctx, source_id, trigger=HEAL_TRIGGER))
    start = since - READ_MARGIN
    with ctx.sessions() as session:
        source = session.get_one(Source, source_id)
        kind = str(source.kind)
        erp = ctx.source(source)
    if not isinstance(erp, ModifiedSince):
        return _runs_note(full_runs(ctx, source_id, trigger=HEAL_TRIGGER))
    try:
        skus = sorted({item.sku for item in erp.modified_since(start)})
    except ConnectorError as error:
        log.warning("healing.read_failed", extra={"source": source_id, "error": str(error)})
        runs = _runs_note(full_runs(ctx, source_id, trigger=HEAL_TRIGGER))
        return f"{runs} (the ERP's modified-since read failed: {error})"
    if not skus:
        return f"no item modified on the ERP since {start.isoformat(timespec='seconds')}"
    with transaction(ctx.sessions) as session:
        span = (start.isoformat(timespec="seconds"), ctx.clock().isoformat(timespec="seconds"))
        row = moved_event(kind, source_id, skus, span, topic=TOPIC)
        session.add(row)
        session.flush()
        event_id = row.id
    return (
        f"reconciled {len(skus)} item(s) modified on the ERP since "
        f"{start.isoformat(timespec='seconds')} (event {event_id})"
    )


def silence(erp: ModifiedSince, quiet_since: datetime, now: datetime) -> str | None:
    """Why an active subscription with no notice since `quiet_since` looks silent (an
    item changed well after it and long enough ago), or None; reads the ERP's first
    matching item and stops."""
    until = now - NOTICE_GRACE
    if quiet_since + CLOCK_SKEW >= until:
        return None
    for item in erp.modified_since(quiet_since + CLOCK_SKEW):
        if item.modified_at <= until:
            return (
                f"silent: item {item.sku} changed on the ERP at "
                f"{item.modified_at.isoformat(timespec='seconds')} and no notice came "
                f"since {quiet_since.isoformat(timespec='seconds')}"
            )
    return None


def _runs_note(started: list[int]) -> str:
    if started:
        return f"reconciled by run {', '.join(map(str, started))}"
    return "a run already going reconciles it"
