"""Reservations (sync/reservations.py) on real PostgreSQL: an order's snapshots applied
once and in order, every end recorded with its reason, and which reading each row
holds units back from."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select, update
from sqlalchemy.orm import Session, sessionmaker

from connectors.types import OrderLine, OrderProgress, OrderSnapshot, OrderState, SourceItem
from models import Reservation, Site
from models.crypto import Vault
from models.db import transaction
from sync.reservations import (
    OpenOrders,
    apply_order,
    end_expired,
    open_orders,
    record_progress,
    reserved_units,
)
from sync.sellable import StockBasis
from tests.factories import make_site, make_source

T0 = datetime(2026, 12, 4, 12, 0, tzinfo=UTC)


def _order(
    minutes: int = 0,
    state: OrderState = OrderState.OPEN,
    applied: bool = True,
    **lines: int,
) -> OrderSnapshot:
    return OrderSnapshot(
        order_id="1001",
        number="#1001",
        updated_at=T0 + timedelta(minutes=minutes),
        state=state,
        store_applied=applied,
        lines=tuple(OrderLine(sku, units) for sku, units in lines.items()),
    )


@pytest.fixture
def sites(db: sessionmaker[Session], vault: Vault) -> tuple[int, int, int]:
    """Two sites of one source (the placing store and a sibling), and the source."""
    with transaction(db) as session:
        source = make_source(session, vault)
        a = make_site(session, vault, source, name="a")
        b = make_site(session, vault, source, name="b")
        return a.id, b.id, source.id


def _apply(db: sessionmaker[Session], site_id: int, snapshot: OrderSnapshot) -> tuple[str, ...]:
    with transaction(db) as session:
        return apply_order(session, session.get_one(Site, site_id), snapshot).skus


def _rows(db: sessionmaker[Session]) -> dict[str, tuple[int, bool, str | None]]:
    with db() as session:
        return {
            row.sku: (row.units, row.store_applied, row.end_reason)
            for row in session.scalars(select(Reservation))
        }


def _held(
    db: sessionmaker[Session],
    site_id: int,
    source_id: int,
    read_at: datetime,
    basis: StockBasis = StockBasis.ON_HAND,
) -> dict[str, int]:
    with db() as session:
        readings = [SourceItem(sku, 10, "", read_at) for sku in ("A", "B")]
        return reserved_units(session, site_id, source_id, basis, readings)


def test_the_same_order_twice_or_created_then_updated_reserves_once(
    db: sessionmaker[Session], sites: tuple[int, int, int]
) -> None:
    a, _, _ = sites
    assert _apply(db, a, _order(A=3, B=1)) == ("A", "B")
    assert _apply(db, a, _order(A=3, B=1)) == ("A", "B")  # a retry pushes again
    assert _apply(db, a, _order(minutes=1, A=3, B=1)) == ("A", "B")
    assert _rows(db) == {"A": (3, True, None), "B": (1, True, None)}


def test_an_older_snapshot_changes_nothing(
    db: sessionmaker[Session], sites: tuple[int, int, int]
) -> None:
    """A cancel delivered before the order's creation: the creation is ignored."""
    a, _, _ = sites
    _apply(db, a, _order(A=3))
    _apply(db, a, _order(minutes=5, state=OrderState.CANCELLED, A=3))
    assert _apply(db, a, _order(minutes=1, A=3)) == ()
    assert _rows(db) == {"A": (3, True, "cancelled")}


def test_each_end_has_its_reason_and_a_reopened_order_holds_again(
    db: sessionmaker[Session], sites: tuple[int, int, int]
) -> None:
    a, _, _ = sites
    _apply(db, a, _order(A=3, B=2))
    _apply(db, a, _order(minutes=1, A=0))  # A refunded, B edited out
    assert _rows(db) == {"A": (3, True, "refunded"), "B": (2, True, "removed")}
    _apply(db, a, _order(minutes=2, A=1, B=2))
    assert _rows(db) == {"A": (1, True, None), "B": (2, True, None)}
    _apply(db, a, _order(minutes=3, state=OrderState.REFUNDED, A=1, B=2))
    assert _rows(db) == {"A": (1, True, "refunded"), "B": (2, True, "refunded")}


def test_an_order_not_placed_yet_reserves_nothing(
    db: sessionmaker[Session], sites: tuple[int, int, int]
) -> None:
    a, _, _ = sites
    assert _apply(db, a, _order(state=OrderState.NOT_PLACED, A=3)) == ()
    assert _rows(db) == {}


def test_the_placing_store_counts_an_order_only_once_it_lowered_itself(
    db: sessionmaker[Session], sites: tuple[int, int, int]
) -> None:
    a, b, source = sites
    _apply(db, a, _order(applied=False, A=3))  # WooCommerce `pending`
    assert _held(db, a, source, T0) == {}
    assert _held(db, b, source, T0) == {"A": 3}
    _apply(db, a, _order(minutes=1, applied=True, A=3))  # now `processing`
    assert _held(db, a, source, T0) == {"A": 3}


def test_the_erps_handover_stops_counting_only_for_later_readings(
    db: sessionmaker[Session], sites: tuple[int, int, int]
) -> None:
    """Committed: an available-for-sale reading taken after it nets the order, an
    on-hand one does not. Shipped: every reading taken after it nets it."""
    a, b, source = sites
    _apply(db, a, _order(A=3))
    with db() as session:
        opened = open_orders(session, source)
        first_seen = session.scalar(select(Reservation.created_at))
    # The ERP is asked about it, and about nothing older than two days before we saw it.
    assert opened.numbers == ["#1001"] and opened.since == first_seen - timedelta(days=2)
    with transaction(db) as session:
        assert record_progress(session, source, {"#1001": OrderProgress(True, False)}) == ["A"]
    before, after = T0 - timedelta(days=1), datetime.now(UTC) + timedelta(minutes=1)
    afs = StockBasis.AVAILABLE_FOR_SALE
    assert _held(db, b, source, before, afs) == {"A": 3}
    assert _held(db, b, source, after, afs) == {}
    assert _held(db, b, source, after) == {"A": 3}
    with transaction(db) as session:
        assert record_progress(session, source, {"#1001": OrderProgress(True, True)}) == ["A"]
    assert _rows(db) == {"A": (3, True, "absorbed")}
    assert _held(db, b, source, before) == {"A": 3}
    assert _held(db, b, source, after) == {}
    with db() as session:
        assert open_orders(session, source) == OpenOrders([])
    # The store's later snapshot of an absorbed order changes nothing.
    _apply(db, a, _order(minutes=9, state=OrderState.CANCELLED, A=3))
    assert _rows(db) == {"A": (3, True, "absorbed")}


def test_reservations_nothing_ended_expire(
    db: sessionmaker[Session], sites: tuple[int, int, int]
) -> None:
    a, b, source = sites
    _apply(db, a, _order(A=3, B=1))
    with transaction(db) as session:
        session.execute(
            update(Reservation)
            .where(Reservation.sku == "A")
            .values(created_at=datetime.now(UTC) - timedelta(hours=73))
        )
    with transaction(db) as session:
        assert end_expired(session, 72) == {source: ["A"]}
    assert _rows(db) == {"A": (3, True, "expired"), "B": (1, True, None)}
    assert _held(db, b, source, datetime.now(UTC)) == {"B": 1}
