"""A store order, from its webhook to every store's number (issue 20, docs/architecture.md
flow 3 and "Sellable stock").

1. The order as the store holds it: its connector parses the signed webhook body, or
   reads the order where the body names only its id (BigCommerce); an order the store
   plugin pushed is taken from its log row (sync/plugin_orders.py).
2. Its reservations, applied whole (sync/reservations.py).
3. Every store of the source carrying its SKUs gets its sellable number at once, from
   the ERP figure each last sold from (`items.erp_quantity`, so no ERP call is on this
   path) less the reservations: the siblings drop by the order. The store that took the
   order is read back under its rows' locks and never raised (sync/push.py
   `read_back`): its own number already fell, so it is written only if it is above
   what it may sell (a sale we wrote over), never a second decrement.

A SKU some store carries but never had an ERP reading for is read from the ERP instead
(sync/erp_reads.py `read_erp`), for every store alike.

The same fan-out runs when reservations end on their own: when the ERP absorbs an order
(`settle_source`, on the beat) and when they expire (`end_expired_everywhere`).
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Sequence

from sqlalchemy import select

from connectors.errors import PermanentError, TransientError
from connectors.types import OrderSnapshot, SourceItem
from models import Item, Reservation, Site, Source
from models.db import transaction
from sync.carriers import PushFailed, carriers, push_to_carriers
from sync.context import Context
from sync.erp_reads import read_erp, read_stock
from sync.errors import NotFound
from sync.reservations import apply_order, end_expired, settle_orders
from sync.sellable import recorded_reading

log = logging.getLogger(__name__)


def take_order(ctx: Context, site: Site, order_id: str, snapshot: OrderSnapshot | None) -> str:
    """Apply the order `order_id` of `site`, as its store holds it now (`snapshot`;
    None: the store no longer has it), and push what it changes (module docstring)."""
    if snapshot is None:
        return f"site {site.id}: order {order_id} is no longer in the store"
    with transaction(ctx.sessions) as session:
        applied = apply_order(session, session.get_one(Site, site.id), snapshot)
    what = f"site {site.id}: order {snapshot.number} {snapshot.state}"
    if not applied.skus:
        return f"{what}: nothing to apply (not placed yet, or older than the one applied)"
    pushed = push_held(ctx, site.source_id, applied.skus, read_back_site=site.id)
    return f"{what}: {pushed}"


def push_held(
    ctx: Context, source_id: int, skus: Sequence[str], *, read_back_site: int | None = None
) -> str:
    """Push the sellable numbers of `skus` to every real-time store of the source,
    each from its last ERP figure (module docstring)."""
    sites = carriers(ctx, source_id, skus)
    if not sites:
        return f"no store taking real-time writes carries {', '.join(skus[:5])}"
    mirror = _last_readings(ctx, [site.id for site in sites], skus)
    if mirror is None:
        with ctx.sessions() as session:
            source = session.get_one(Source, source_id)
        fresh = read_erp(ctx, ctx.source(source), source_id, skus)
        return push_to_carriers(ctx, sites, lambda _: fresh, read_back_site=read_back_site)
    return push_to_carriers(
        ctx,
        sites,
        lambda site: list(mirror[site.id].values()),
        read_back_site=read_back_site,
    )


def _last_readings(
    ctx: Context, site_ids: Sequence[int], skus: Sequence[str]
) -> dict[int, dict[str, SourceItem]] | None:
    """Per site, the ERP reading each SKU's number was last computed from, rebuilt from
    `items` (the basis figure stands for both figures, and for the sum of a mapped
    site's ERP locations: the site's policy picks the one it sells from, and that is
    the one recorded; `sellable.recorded_reading`); None if some site carries a SKU it
    never had a reading for."""
    with ctx.sessions() as session:
        rows = session.execute(
            select(
                Item.site_id,
                Item.sku,
                Item.erp_quantity,
                Item.erp_read_at,
                Item.erp_item_id,
                Site.erp_location_ids,
            )
            .join(Site, Site.id == Item.site_id)
            .where(Item.site_id.in_(site_ids), Item.sku.in_(sorted(skus)), Item.active)
        ).all()
    readings: dict[int, dict[str, SourceItem]] = defaultdict(dict)
    for site_id, sku, figure, read_at, item_id, locations in rows:
        if figure is None or read_at is None:
            return None
        readings[site_id][sku] = recorded_reading(sku, figure, item_id or "", read_at, locations)
    return readings


def settle_source(ctx: Context, source_id: int) -> str:
    """Ask the ERP about every open order of the source and push the SKUs of those it
    committed or absorbed (a fresh ERP reading, taken after the note)."""
    with ctx.sessions() as session:
        source = session.get(Source, source_id)
        if source is None:
            raise NotFound(f"source {source_id} does not exist")
    erp = ctx.source(source)
    skus = settle_orders(ctx, erp, source_id, None)
    if not skus:
        return f"source {source_id}: no open store order taken by the ERP since last asked"
    readings = read_stock(ctx, erp, skus)
    sites = carriers(ctx, source_id, skus)
    return f"source {source_id}: " + (
        push_to_carriers(ctx, sites, lambda _: readings) or "no store"
    )


def settle_all(ctx: Context) -> dict[int, str]:
    """`settle_source` for every source with open orders; one ERP failing (down,
    throttled, refusing) is reported in its summary and keeps no other waiting."""
    with ctx.sessions() as session:
        source_ids = sorted(
            set(
                session.scalars(select(Reservation.source_id).where(Reservation.ended_at.is_(None)))
            )
        )
    outcomes = {}
    for source_id in source_ids:
        try:
            outcomes[source_id] = settle_source(ctx, source_id)
        except (TransientError, PermanentError, PushFailed, NotFound) as exc:
            # The next round asks again; nothing was noted for an ERP that did not answer.
            outcomes[source_id] = f"not settled: {exc}"
    return outcomes


def end_expired_everywhere(ctx: Context) -> int:
    """End the reservations older than the time limit and push their SKUs; how many
    SKUs were released. A push refused now is made by the next change or sync."""
    with transaction(ctx.sessions) as session:
        ended = end_expired(session, ctx.settings.reservation_hours)
    for source_id, skus in ended.items():
        try:
            push_held(ctx, source_id, skus)
        except (TransientError, PermanentError, PushFailed) as exc:
            # The reservations ended whatever the stores answer; the nightly sync
            # writes the numbers this push could not.
            log.warning(
                "reservations.expiry_push_failed", extra={"source": source_id, "error": str(exc)}
            )
    return sum(len(skus) for skus in ended.values())
