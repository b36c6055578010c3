"""What the reservations tell an operator: the orders holding a source's stock, and the
SKUs sold beyond what there was (issue 20, "Oversell is visible").

Two stores can sell the last unit in the same second: each store's own number was 1,
and no sync can stop a sale a store already took. The write path then shows 0
everywhere (`max(0, ...)`, sync/sellable.py) and logs `stock.oversold`; this report
keeps it in view for as long as the orders are open: per SKU, how many units short the
stores are against the ERP figure they sell from, which stores, and which orders.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from connectors.types import SourceItem
from models import Item, Reservation, Site, Source
from sync.accounts import get
from sync.context import Context
from sync.reservations import reserved_units
from sync.sellable import StockBasis


def describe(row: Reservation) -> dict[str, Any]:
    return {
        "id": row.id,
        "source_id": row.source_id,
        "site_id": row.site_id,
        "order_id": row.order_id,
        "order_number": row.order_number,
        "sku": row.sku,
        "units": row.units,
        "store_applied": row.store_applied,
        "order_updated_at": row.order_updated_at.isoformat(),
        "committed_at": row.committed_at.isoformat() if row.committed_at else None,
        "created_at": row.created_at.isoformat(),
        "ended_at": row.ended_at.isoformat() if row.ended_at else None,
        "end_reason": row.end_reason,
    }


def list_reservations(
    ctx: Context,
    source_id: int,
    *,
    open_only: bool,
    sku: str | None,
    limit: int,
    offset: int,
) -> dict[str, Any]:
    """A page of the source's reservations, newest first."""
    with ctx.sessions() as session:
        get(session, Source, source_id)
        query = select(Reservation).where(Reservation.source_id == source_id)
        if open_only:
            query = query.where(Reservation.ended_at.is_(None))
        if sku:
            query = query.where(Reservation.sku == sku)
        rows = session.scalars(
            query.order_by(Reservation.id.desc()).limit(limit).offset(offset)
        ).all()
        return {"items": [describe(row) for row in rows]}


def oversold(ctx: Context, source_id: int) -> list[dict[str, Any]]:
    """Every SKU of the source some store sold beyond its ERP figure (module
    docstring), worst first."""
    with ctx.sessions() as session:
        get(session, Source, source_id)
        held = _open_by_sku(session, source_id)
        if not held:
            return []
        short: dict[str, dict[int, int]] = defaultdict(dict)
        for site, sku, figure, read_at in session.execute(
            select(Site, Item.sku, Item.erp_quantity, Item.erp_read_at)
            .join(Item, Item.site_id == Site.id)
            .where(Site.source_id == source_id, Item.sku.in_(sorted(held)), Item.active)
        ):
            if figure is None or read_at is None:
                continue
            reading = SourceItem(sku, figure, "", read_at, available_for_sale=figure)
            units = reserved_units(
                session, site.id, source_id, StockBasis(site.stock_basis), [reading]
            ).get(sku, 0)
            if units > figure:
                short[sku][site.id] = units - figure
    report = [
        {
            "sku": sku,
            "short_by": max(sites.values()),
            "site_ids": sorted(sites),
            "orders": held[sku],
        }
        for sku, sites in short.items()
    ]
    return sorted(report, key=lambda entry: (-entry["short_by"], entry["sku"]))


def _open_by_sku(session: Session, source_id: int) -> dict[str, list[dict[str, Any]]]:
    orders: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for row in session.scalars(
        select(Reservation)
        .where(Reservation.source_id == source_id, Reservation.ended_at.is_(None))
        .order_by(Reservation.id)
    ):
        orders[row.sku].append(
            {"site_id": row.site_id, "order_number": row.order_number, "units": row.units}
        )
    return orders


def oversold_everywhere(ctx: Context) -> list[dict[str, Any]]:
    """`oversold` of every source with open store orders, each entry naming its source
    (the dashboard's list)."""
    with ctx.sessions() as session:
        source_ids = sorted(
            set(
                session.scalars(select(Reservation.source_id).where(Reservation.ended_at.is_(None)))
            )
        )
    return [
        {"source_id": source_id, **entry}
        for source_id in source_ids
        for entry in oversold(ctx, source_id)
    ]
