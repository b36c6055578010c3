"""Store-order fan-out (sync/store_orders.py) for a site mapped to ERP locations: the
numbers are rebuilt from the figure each site last sold from, not refused for lacking
per-location figures."""

from __future__ import annotations

from datetime import UTC, datetime

from connectors.types import SourceItem
from models import Site
from models.db import transaction
from sync.catalog import refresh_catalog
from sync.context import Context
from sync.push import push_readings
from sync.store_orders import push_held
from tests.support.stack import Stack, load_site


def test_a_mapped_site_is_pushed_from_its_recorded_locations_sum(ctx: Context, woo: Stack) -> None:
    site = load_site(ctx.sessions, woo.site_id)
    refresh_catalog(ctx, site, ctx.storefront(site))
    with transaction(ctx.sessions) as session:
        # Set directly: the service refuses a mapping for the stack's ERP (BC).
        session.get_one(Site, woo.site_id).erp_location_ids = ["W1", "W3"]
    site = load_site(ctx.sessions, woo.site_id)
    sku = "SKU-000001"
    reading = SourceItem(
        sku, 57, "id-1", datetime.now(UTC), locations={"W1": (3, 3), "W2": (50, 50), "W3": (4, 4)}
    )
    assert push_readings(ctx, site, [reading], ctx.storefront(site)).synced == 1

    answer = push_held(ctx, woo.source_id, [sku])

    assert answer == f"site {woo.site_id}: 0 pushed, 1 unchanged"
    assert woo.store_stock()[sku] == 7
