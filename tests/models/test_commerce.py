"""The commerce tables' constraints and the shared upsert, on real PostgreSQL."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest
from cryptography.fernet import Fernet
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from models import Category, Customer, Order, OrderLine, Site
from models.commerce import (
    EMAIL_MASK,
    email_hash_key,
    hash_email,
    strip_emails,
    upsert_changed,
)
from models.crypto import Vault
from tests.factories import make_site, make_source

T1 = datetime(2026, 11, 20, 10, tzinfo=UTC)
T2 = datetime(2026, 11, 20, 11, tzinfo=UTC)


@pytest.fixture
def site_ids(db: sessionmaker[Session], vault: Vault) -> tuple[int, int]:
    with db.begin() as session:
        source = make_source(session, vault)
        one = make_site(session, vault, source, name="one")
        two = make_site(session, vault, source, name="two")
        return one.id, two.id


def order_row(site_id: int, external_id: str = "1", **overrides: Any) -> dict[str, Any]:
    row = {
        "site_id": site_id,
        "external_id": external_id,
        "number": None,
        "status": "processing",
        "currency": "EUR",
        "total": Decimal("10"),
        "customer_external_id": None,
        "source_created_at": None,
        "source_updated_at": T1,
        "raw": {"id": external_id},
    }
    return row | overrides


@pytest.mark.parametrize("model", [Order, Customer, Category])
def test_external_ids_are_unique_per_site_not_globally(
    db: sessionmaker[Session], site_ids: tuple[int, int], model: Any
) -> None:
    one, two = site_ids
    fields: dict[str, Any] = {
        Order: {"status": "s", "total": 1, "raw": {}},
        Customer: {"email_hash": "h", "raw": {}},
        Category: {"name": "n"},
    }[model]
    with db() as session:
        session.add_all([model(site_id=site, external_id="9", **fields) for site in (one, two)])
        session.commit()  # the same store id on two sites is fine
        session.add(model(site_id=one, external_id="9", **fields))
        with pytest.raises(IntegrityError, match=f"uq_{model.__tablename__}_site_id_external_id"):
            session.commit()


def test_two_sites_cannot_share_an_api_key_hash(
    db: sessionmaker[Session], site_ids: tuple[int, int]
) -> None:
    with db() as session:
        for site in session.scalars(select(Site)):
            site.api_key_hash = "f" * 64
        with pytest.raises(IntegrityError, match="uq_sites_api_key_hash"):
            session.commit()


def test_lines_go_with_their_order_and_orders_with_their_site(
    db: sessionmaker[Session], site_ids: tuple[int, int]
) -> None:
    one, _ = site_ids
    with db() as session:
        order = Order(**order_row(one))
        session.add(order)
        session.flush()
        line = {"site_id": one, "order_id": order.id, "quantity": 1, "price": 1}
        session.add_all([OrderLine(external_id="a", **line), OrderLine(external_id="b", **line)])
        session.commit()
        session.delete(order)
        session.commit()
        assert session.scalar(select(func.count()).select_from(OrderLine)) == 0
        session.add(Order(**order_row(one)))
        session.commit()
        session.delete(session.get(Site, one))
        session.commit()
        assert session.scalar(select(func.count()).select_from(Order)) == 0


def test_upsert_reports_only_rows_inserted_or_changed(
    db: sessionmaker[Session], site_ids: tuple[int, int]
) -> None:
    one, two = site_ids
    with db.begin() as session:
        first = upsert_changed(
            session,
            Order,
            [order_row(one, "1"), order_row(one, "2")],
            "external_id",
            versioned=True,
        )
        assert set(first) == {"1", "2"}
    with db.begin() as session:
        rows = [order_row(one, "1"), order_row(one, "2", status="completed"), order_row(two, "1")]
        again = upsert_changed(session, Order, rows[:2], "external_id", versioned=True)
        assert set(again) == {"2"} and again["2"] == first["2"]
        assert set(upsert_changed(session, Order, rows[2:], "external_id", versioned=True)) == {"1"}


def test_an_older_row_is_left_alone_and_a_missing_time_keeps_the_stored_one(
    db: sessionmaker[Session], site_ids: tuple[int, int]
) -> None:
    one, _ = site_ids

    def upsert(**overrides: Any) -> dict[str, int]:
        with db.begin() as session:
            return upsert_changed(
                session, Order, [order_row(one, **overrides)], "external_id", versioned=True
            )

    def stored() -> Order:
        with db() as session:
            return session.scalars(select(Order)).one()

    upsert(source_updated_at=T2, status="completed")
    assert upsert(source_updated_at=T1, status="processing") == {}
    assert stored().status == "completed"
    assert upsert(source_updated_at=T2, status="refunded") != {}  # same time: the later wins
    assert upsert(source_updated_at=None, status="cancelled") != {}
    assert (stored().status, stored().source_updated_at) == ("cancelled", T2)


def test_email_hashes_are_keyed_and_ignore_case_and_spaces() -> None:
    key = email_hash_key(Fernet.generate_key().decode())
    assert hash_email(key, " Ann@Example.COM ") == hash_email(key, "ann@example.com")
    assert len(hash_email(key, "ann@example.com")) == 64
    other = email_hash_key(Fernet.generate_key().decode())
    assert hash_email(other, "ann@example.com") != hash_email(key, "ann@example.com")
    fernet_key = Fernet.generate_key().decode()
    assert email_hash_key(fernet_key) == email_hash_key(fernet_key)


def test_every_email_field_is_stripped_at_any_depth() -> None:
    record = {
        "email": "a@b.c",
        "Billing": {"Email": "a@b.c", "city": "Ghent"},
        "meta": [{"key": "x", "billing_email_confirmed": True}, "plain"],
        "first_name": "Ann",
    }
    assert strip_emails(record) == {
        "Billing": {"city": "Ghent"},
        "meta": [{"key": "x"}, "plain"],
        "first_name": "Ann",
    }


def test_an_address_under_any_key_or_in_any_text_is_masked() -> None:
    record = {
        "username": "ann@b.c",
        "E-Mail": "Ann@B.C",
        "meta_data": [{"key": "billing_email", "value": "ann@b.c"}, ["x ann%40b.c y"]],
        "note": "write to <ann@b.c>, thanks",
        "ann@b.c": True,
        "price": "2 @ 5",
        "total": 3,
    }
    assert strip_emails(record) == {
        "username": EMAIL_MASK,
        "E-Mail": EMAIL_MASK,
        "meta_data": [{"key": "billing_email", "value": EMAIL_MASK}, [f"x {EMAIL_MASK} y"]],
        "note": f"write to <{EMAIL_MASK}>, thanks",
        EMAIL_MASK: True,
        "price": "2 @ 5",
        "total": 3,
    }


def test_a_record_nested_as_deep_as_json_allows_is_walked() -> None:
    record = json.loads('{"a":' * 900 + '"ann@b.c"' + "}" * 900)
    assert "ann@b.c" not in json.dumps(strip_emails(record))
