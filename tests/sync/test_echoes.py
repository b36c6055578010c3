"""Telling our writes' echoes apart (sync/echoes.py), on real PostgreSQL rows: a body
that says exactly what we last wrote is an echo; every mismatch goes the normal way."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy.orm import Session, sessionmaker

from models import EventKind, Item, WebhookStatus
from models.crypto import Vault
from models.db import transaction
from sync.echoes import is_echo
from tests.factories import add_row, make_site, make_source
from tests.factories.webhook_log import log_row

WRITTEN = datetime(2026, 12, 4, tzinfo=UTC)


@pytest.fixture
def site_id(db: sessionmaker[Session], vault: Vault) -> int:
    """A site whose mirror holds a simple product (101), a variable one (200) with two
    variations (201, 202), a Shopify-style inventory item and a BigCommerce variant,
    each with a number we wrote, and one row (SKU-NEVER) we never wrote."""
    with transaction(db) as session:
        site = make_site(session, vault, make_source(session, vault))
        rows = [
            ("SKU-1", "101", None, 5),
            ("SKU-2", "200", "201", 7),
            ("SKU-3", "200", "202", 9),
            ("SKU-4", "gid://shopify/Product/1", "gid://shopify/InventoryItem/41", 4),
            ("SKU-5", "300", "301", 6),
            ("SKU-6", "400", None, 8),
        ]
        for sku, product, variant, quantity in rows:
            add_row(session, Item, _item(site.id, sku, product, variant, quantity, WRITTEN))
        add_row(session, Item, _item(site.id, "SKU-NEVER", "500", None, 3, None))
        return site.id


def _item(
    site_id: int, sku: str, product: str, variant: str | None, quantity: int, at: datetime | None
) -> dict[str, Any]:
    return {
        "site_id": site_id,
        "sku": sku,
        "product_id": product,
        "variant_id": variant,
        "quantity": quantity,
        "last_synced_at": at,
    }


def _woo(post_id: int, sku: str, quantity: int | None, parent: int = 0, **extra: Any) -> Any:
    """A v3 product body as sandbox/woocommerce/catalog.py `to_json` builds it."""
    body = {
        "id": post_id,
        "type": "variation" if parent else "simple",
        "status": "publish",
        "sku": sku,
        "parent_id": parent,
        "date_modified_gmt": "2026-12-04T10:00:00",
        "manage_stock": True,
        "stock_quantity": quantity,
        "variations": [],
    }
    return body | extra


def _parent(variations: list[int], **extra: Any) -> Any:
    fields = {"type": "variable", "manage_stock": False, "variations": variations}
    return _woo(200, "PARENT-1", None, **fields | extra)


def echo(db: sessionmaker[Session], site_id: int, *bodies: Any, **fields: Any) -> bool:
    """Log `bodies` as one window (the first queued, the rest coalesced) and judge it."""
    with transaction(db) as session:
        rows = [
            log_row(
                session,
                site_id=site_id,
                status=WebhookStatus.QUEUED if i == 0 else WebhookStatus.DUPLICATE,
                payload=body,
                **fields,
            )
            for i, body in enumerate(bodies)
        ]
        return is_echo(session, rows[0])


def test_a_simple_product_or_a_variation_showing_what_we_wrote_is_an_echo(
    db: sessionmaker[Session], site_id: int
) -> None:
    assert echo(db, site_id, _woo(101, "sku-1", 5), entity="101")
    assert echo(db, site_id, _woo(201, "SKU-2", 7, parent=200), entity="200")
    # Two variations of one product, coalesced into one window.
    assert echo(db, site_id, _woo(201, "SKU-2", 7, 200), _woo(202, "SKU-3", 9, 200), entity="200")


@pytest.mark.parametrize(
    "body",
    [
        _woo(101, "SKU-1", 4),  # a quantity we did not write
        _woo(101, "SKU-1-NEW", 5),  # a renamed SKU
        _woo(101, "", 5),  # no usable SKU
        _woo(102, "SKU-1", 5),  # the SKU on another product
        _woo(101, "SKU-1", 5, manage_stock=False),  # stock management switched off
        _woo(101, "SKU-1", 5, status="trash"),
        _woo(101, "SKU-1", 5, type="grouped"),
        _woo(101, "SKU-1", None),
        _woo(101, "SKU-1", True),
        _woo(203, "SKU-2", 7, parent=200),  # a new variation holding the SKU
        _woo(201, "SKU-2", 7, parent=0, type="variation"),
        _woo(201, "SKU-2", 7, parent=300),  # moved to another product
        _woo(500, "SKU-NEVER", 3),  # a row we never wrote
        {"id": 101},  # a body we cannot interpret
        ["not", "a", "product"],
    ],
)
def test_anything_else_goes_the_normal_way(
    db: sessionmaker[Session], site_id: int, body: Any
) -> None:
    assert not echo(db, site_id, body, entity="101")


def test_one_body_not_ours_in_the_window_sends_the_whole_row_the_normal_way(
    db: sessionmaker[Session], site_id: int
) -> None:
    ours, new = _woo(201, "SKU-2", 7, parent=200), _woo(203, "SKU-9", 1, parent=200)
    assert not echo(db, site_id, ours, new, entity="200")


def test_a_row_processed_apart_is_not_part_of_the_window(
    db: sessionmaker[Session], site_id: int
) -> None:
    with transaction(db) as session:
        log_row(session, site_id=site_id, entity="101", payload=_woo(101, "SKU-1", 2))
    assert echo(db, site_id, _woo(101, "SKU-1", 5), entity="101")


def test_a_variable_parent_counts_only_unchanged_and_beside_a_variations_echo(
    db: sessionmaker[Session], site_id: int
) -> None:
    variation = _woo(201, "SKU-2", 7, parent=200)
    assert echo(db, site_id, variation, _parent([201, 202]), entity="200")
    # Alone, it is a merchant's edit as far as we can tell: re-read.
    assert not echo(db, site_id, _parent([201, 202]), entity="200")
    # A variation added or removed, or the parent now managing stock.
    assert not echo(db, site_id, variation, _parent([201, 202, 203]), entity="200")
    assert not echo(db, site_id, variation, _parent([201]), entity="200")
    assert not echo(db, site_id, variation, _parent([201, 202], manage_stock=True), entity="200")


def _shopify(available: Any, item: Any = 41) -> Any:
    return {"inventory_item_id": item, "location_id": 7, "available": available}


def test_a_shopify_level_is_an_echo_when_it_is_what_we_wrote(
    db: sessionmaker[Session], site_id: int
) -> None:
    fields = {"provider": "shopify", "kind": EventKind.STORE_STOCK, "entity": "item 41"}
    assert echo(db, site_id, _shopify(4), **fields)
    assert not echo(db, site_id, _shopify(3), **fields)
    assert not echo(db, site_id, _shopify(4, item=42), **fields)
    assert not echo(db, site_id, _shopify("4"), **fields)


def _bigcommerce(value: Any, variant: Any = 301, method: str = "absolute") -> Any:
    inventory = {"product_id": 300, "method": method, "value": value, "variant_id": variant}
    return {"scope": "store/sku/inventory/updated", "data": {"type": "sku", "inventory": inventory}}


def test_a_bigcommerce_level_is_an_echo_when_it_is_what_we_wrote_absolutely(
    db: sessionmaker[Session], site_id: int
) -> None:
    fields = {"provider": "bigcommerce", "kind": EventKind.STORE_STOCK, "entity": "300"}
    assert echo(db, site_id, _bigcommerce(6), **fields)
    product_level = {"data": {"inventory": {"product_id": 400, "method": "absolute", "value": 8}}}
    assert echo(db, site_id, product_level, **fields)
    assert not echo(db, site_id, _bigcommerce(5), **fields)
    assert not echo(db, site_id, _bigcommerce(6, variant=302), **fields)
    assert not echo(db, site_id, _bigcommerce(6, variant=None), **fields)
    assert not echo(db, site_id, _bigcommerce(6, method="relative"), **fields)


def test_a_provider_or_kind_without_a_judge_is_never_an_echo(
    db: sessionmaker[Session], site_id: int
) -> None:
    assert not echo(db, site_id, _woo(101, "SKU-1", 5), provider="test", entity="101")
    assert not echo(db, site_id, _shopify(4), provider="shopify", entity="1")


def test_rows_of_other_sites_kinds_and_entities_are_not_in_the_window(
    db: sessionmaker[Session], site_id: int
) -> None:
    with transaction(db) as session:
        log_row(session, site_id=site_id, entity="999", status=WebhookStatus.DUPLICATE, payload={})
    assert echo(db, site_id, _woo(101, "SKU-1", 5), entity="101")
