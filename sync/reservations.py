"""Reservations: units sold on a store that the ERP has not absorbed yet (issue 20).

A store sells 3 units; the ERP hears of it minutes to a day later, when the order is
imported there. Meanwhile every sibling store would still offer those 3 units, and a
full sync would write the ERP's old number back over the store that sold them. So each
store order becomes reservations (models/reservations.py), and every store of the
source sells `basis - reserved` (sync/push.py):

- **The placing store counts an order only once its own stock went down by it**
  (`store_applied`): Shopify lowers `available` when the order is placed, WooCommerce
  when it enters on-hold/processing/completed, BigCommerce as its settings say
  (docs/platforms.md sections 1, 4, 5). Before that, subtracting it there as well would
  lower that store twice once it applies the order itself.
- **A snapshot older than the one applied changes nothing**: each store order is applied
  whole (its current lines and state), under a lock per order, and only if its time is
  not older than the last one applied, so duplicates, replays and reordered deliveries
  reserve once.
- **The ERP's handover.** Once the ERP has absorbed an order, its own figures net it and
  the reservation must stop counting, or every store dips twice. The ERP says how far
  it took each order (`InventorySource.order_progress`); we note when we saw it
  (`committed_at`; the end, reason `absorbed`) on the database's clock, and a reading
  counts the order unless it was taken after that moment (`reserved_units`). The caller
  asks the ERP about an order *before* reading its stock (sync/store_orders.py), so the
  reading that stops counting it is one that includes it.
- **Every end is recorded** with its reason; a reservation nothing ended expires after
  `Settings.reservation_hours` (default 72).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import and_, exists, func, or_, select, update
from sqlalchemy.orm import Session

from connectors.interfaces import InventorySource
from connectors.types import OrderProgress, OrderSnapshot, OrderState, SourceItem
from models import Reservation, ReservationEnd, Site
from models.db import transaction
from sync.context import Context
from sync.sellable import StockBasis

#: An order's end on the store, by its state; OPEN ends nothing.
_ENDS = {
    OrderState.CANCELLED: ReservationEnd.CANCELLED,
    OrderState.REFUNDED: ReservationEnd.REFUNDED,
}
#: Ends after which a later snapshot of the order changes nothing: the ERP has the order
#: (its figures net it), or we stopped waiting for it.
_FINAL = (ReservationEnd.ABSORBED, ReservationEnd.EXPIRED)


@dataclass(frozen=True)
class Applied:
    """What applying a snapshot did: the order's SKUs (to push, changed or not: a retry
    after a failed push must push again) and whether any row changed."""

    skus: tuple[str, ...]
    changed: bool


def apply_order(session: Session, site: Site, snapshot: OrderSnapshot) -> Applied:
    """Make `site`'s reservations of the order what `snapshot` says (module docstring).

    Nothing is applied for an order not placed yet, or for a snapshot older than the
    last one applied.
    """
    if snapshot.state is OrderState.NOT_PLACED:
        return Applied((), False)
    # One order's snapshots apply one at a time, on every worker and host.
    session.execute(
        select(
            func.pg_advisory_xact_lock(
                func.hashtextextended(f"order:{site.id}:{snapshot.order_id}", 0)
            )
        )
    )
    rows = {
        row.sku: row
        for row in session.scalars(
            select(Reservation).where(
                Reservation.site_id == site.id, Reservation.order_id == snapshot.order_id
            )
        )
    }
    if any(row.order_updated_at > snapshot.updated_at for row in rows.values()):
        return Applied((), False)
    units = {line.sku: line.units for line in snapshot.lines}
    end = _ENDS.get(snapshot.state)
    now = session.scalar(select(func.clock_timestamp()))
    changed = False
    for sku in sorted(set(rows) | set(units)):
        held = units.get(sku, 0) if end is None else 0
        reason = end or (None if held > 0 else _line_end(sku, units))
        row = rows.get(sku)
        if row is None:
            if reason is None:
                session.add(_new_row(site, snapshot, sku, held))
                changed = True
            continue
        row.order_updated_at = snapshot.updated_at
        row.order_number = snapshot.number
        if row.end_reason in _FINAL:
            continue
        if reason is None:
            changed |= (row.ended_at, row.units, row.store_applied) != (
                None,
                held,
                snapshot.store_applied,
            )
            row.units, row.store_applied = held, snapshot.store_applied
            row.ended_at, row.end_reason = None, None
        elif row.ended_at is None:
            row.ended_at, row.end_reason = now, reason
            changed = True
    session.flush()
    return Applied(tuple(sorted(set(rows) | set(units))), changed)


def _line_end(sku: str, units: Mapping[str, int]) -> ReservationEnd:
    """A line down to 0 units was refunded; one gone from the order was edited out."""
    return ReservationEnd.REFUNDED if sku in units else ReservationEnd.REMOVED


def _new_row(site: Site, snapshot: OrderSnapshot, sku: str, units: int) -> Reservation:
    return Reservation(
        source_id=site.source_id,
        site_id=site.id,
        order_id=snapshot.order_id,
        order_number=snapshot.number,
        sku=sku,
        units=units,
        store_applied=snapshot.store_applied,
        order_updated_at=snapshot.updated_at,
    )


def reported_orders(session: Session, site_id: int) -> bool:
    """Whether the site reports its orders to us (it ever had a reservation): then a
    sale its store made is a reservation on its way (sync/store_writes.py)."""
    return bool(session.scalar(select(exists().where(Reservation.site_id == site_id))))


def reserved_units(
    session: Session,
    site_id: int,
    source_id: int,
    basis: StockBasis,
    readings: Sequence[SourceItem],
) -> dict[str, int]:
    """Units to hold back from each reading for `site_id`: every reservation of the
    source on the reading's SKU that the reading does not already net (`_Hold.counts`)."""
    if not readings:
        return {}
    oldest = min(reading.read_at for reading in readings)
    rows = session.execute(
        select(
            Reservation.sku,
            Reservation.site_id,
            Reservation.units,
            Reservation.store_applied,
            Reservation.committed_at,
            Reservation.ended_at,
            Reservation.end_reason,
        ).where(
            Reservation.source_id == source_id,
            Reservation.sku.in_(sorted({reading.sku for reading in readings})),
            or_(
                Reservation.ended_at.is_(None),
                and_(
                    Reservation.end_reason == ReservationEnd.ABSORBED,
                    Reservation.ended_at >= oldest,
                ),
            ),
        )
    ).all()
    by_sku: dict[str, list[_Hold]] = defaultdict(list)
    for sku, site, units, applied, committed_at, ended_at, end_reason in rows:
        by_sku[sku].append(_Hold(site, units, applied, committed_at, ended_at, end_reason))
    held = {}
    for reading in readings:
        units = sum(
            row.units
            for row in by_sku.get(reading.sku, ())
            if row.counts(site_id, basis, reading.read_at)
        )
        if units:
            held[reading.sku] = units
    return held


@dataclass(frozen=True)
class _Hold:
    """The columns of a reservation `reserved_units` weighs."""

    site_id: int
    units: int
    store_applied: bool
    committed_at: datetime | None
    ended_at: datetime | None
    end_reason: str | None

    def counts(self, site_id: int, basis: StockBasis, read_at: datetime) -> bool:
        """Whether it holds units back from `site_id`'s reading taken at `read_at`."""
        if self.site_id == site_id and not self.store_applied:
            return False  # the placing store has not lowered itself yet (module docstring)
        if self.ended_at is not None:
            # Only an absorbed order still counts, against a reading older than the
            # moment we saw the ERP take it.
            return self.end_reason == ReservationEnd.ABSORBED and self.ended_at >= read_at
        committed = self.committed_at is not None and self.committed_at < read_at
        return not (basis is StockBasis.AVAILABLE_FOR_SALE and committed)


#: How long before we first saw an order it may have been placed: a store retries a
#: webhook for up to 48 h (BigCommerce, docs/platforms.md section 3), so the ERP may have
#: imported it that much earlier. Also covers the ERP's clock against the database's.
IMPORT_MARGIN = timedelta(days=2)


@dataclass(frozen=True)
class OpenOrders:
    """The numbers of open store orders, and since when the ERP may hold any of them."""

    numbers: list[str]
    since: datetime | None = None


def open_orders(session: Session, source_id: int, skus: Iterable[str] | None = None) -> OpenOrders:
    """The source's orders with open reservations (on `skus`, if given): their numbers,
    and the oldest one's first sighting less `IMPORT_MARGIN`, before which no ERP
    document can be about any of them (an order is imported after it is placed)."""
    query = select(Reservation.order_number, Reservation.created_at).where(
        Reservation.source_id == source_id, Reservation.ended_at.is_(None)
    )
    if skus is not None:
        query = query.where(Reservation.sku.in_(sorted(set(skus))))
    rows = session.execute(query).all()
    if not rows:
        return OpenOrders([])
    oldest = min(created_at for _, created_at in rows)
    return OpenOrders(sorted({number for number, _ in rows}), oldest - IMPORT_MARGIN)


def settle_orders(
    ctx: Context, erp: InventorySource, source_id: int, skus: Sequence[str] | None
) -> list[str]:
    """Ask the ERP how far it took the open orders on `skus` (every open order of the
    source if None) and note it; the SKUs whose reservations changed. Called just before
    reading those SKUs' stock, so that reading, taken after the note, is the one that
    stops counting what the ERP absorbed (module docstring). No call when no order is
    open on them."""
    with ctx.sessions() as session:
        orders = open_orders(session, source_id, skus)
    if orders.since is None:
        return []
    progress = erp.order_progress(orders.numbers, since=orders.since)
    with transaction(ctx.sessions) as session:
        return record_progress(session, source_id, progress)


def record_progress(
    session: Session, source_id: int, progress: Mapping[str, OrderProgress]
) -> list[str]:
    """Note what the ERP did with the source's open orders (module docstring, "The ERP's
    handover"), stamped now; the SKUs whose reservations changed."""
    committed = [number for number, p in progress.items() if p.committed and not p.shipped]
    shipped = [number for number, p in progress.items() if p.shipped]
    now = func.clock_timestamp()
    open_rows = (Reservation.source_id == source_id, Reservation.ended_at.is_(None))
    skus: set[str] = set()
    if committed:
        skus |= set(
            session.scalars(
                update(Reservation)
                .where(
                    *open_rows,
                    Reservation.order_number.in_(committed),
                    Reservation.committed_at.is_(None),
                )
                .values(committed_at=now)
                .returning(Reservation.sku)
            )
        )
    if shipped:
        skus |= set(
            session.scalars(
                update(Reservation)
                .where(*open_rows, Reservation.order_number.in_(shipped))
                .values(ended_at=now, end_reason=ReservationEnd.ABSORBED)
                .returning(Reservation.sku)
            )
        )
    return sorted(skus)


def end_expired(session: Session, hours: int) -> dict[int, list[str]]:
    """End every reservation open for more than `hours`; the SKUs, by source."""
    ended = session.execute(
        update(Reservation)
        .where(
            Reservation.ended_at.is_(None),
            Reservation.created_at < func.now() - timedelta(hours=hours),
        )
        .values(ended_at=func.clock_timestamp(), end_reason=ReservationEnd.EXPIRED)
        .returning(Reservation.source_id, Reservation.sku)
    ).all()
    by_source: dict[int, set[str]] = defaultdict(set)
    for source_id, sku in ended:
        by_source[source_id].add(sku)
    return {source_id: sorted(skus) for source_id, skus in by_source.items()}
