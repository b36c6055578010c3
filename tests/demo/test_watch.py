"""ErpChanges: the demo's and bench.latency's ERP-change-to-store timer, on real rows."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy.orm import Session, sessionmaker

from demo.watch import ErpChanges
from models import Item, Platform
from models.crypto import Vault
from tests.factories import make_site, make_source

CHANGED = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)


def test_counts_only_pairs_holding_the_expected_value_and_times_each(
    db: sessionmaker[Session], vault: Vault
) -> None:
    with db.begin() as session:
        source = make_source(session, vault)
        woo = make_site(session, vault, source, name="woo")
        shop = make_site(session, vault, source, name="shop", platform=Platform.SHOPIFY)
        sites = {"woocommerce": woo.id, "shopify": shop.id}

        def item(site_id: int, sku: str, quantity: int, after: float | None) -> Item:
            synced = CHANGED + timedelta(seconds=after) if after is not None else None
            return Item(
                site_id=site_id, sku=sku, product_id=sku, quantity=quantity, last_synced_at=synced
            )

        session.add_all(
            [
                item(woo.id, "A", 7, 5.25),  # written as expected
                item(shop.id, "A", 3, 5.0),  # same SKU, other site: still the old value
                item(shop.id, "B", 9, 6.5),  # written as expected
                item(woo.id, "B", 9, None),  # the value, but never written by a sync
                item(woo.id, "C", 1, 1.0),  # not expected at all
            ]
        )
    changes = ErpChanges(sites)
    at = CHANGED.timestamp()
    changes.expect("woocommerce", "A", 7, at)
    changes.expect("shopify", "A", 8, at)
    changes.expect("shopify", "B", 9, at)
    changes.expect("woocommerce", "B", 9, at)

    assert changes.written(db) == {(woo.id, "A"): 5.25, (shop.id, "B"): 6.5}
    assert len(changes) == 4
    assert sorted(changes.wait(db, timeout=0.0)) == [5.25, 6.5]
