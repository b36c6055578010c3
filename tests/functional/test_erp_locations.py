"""ERP locations end to end (issue 20): a Zoho sandbox with three warehouses, two
WooCommerce stores at the platform's default quota, real workers, real PostgreSQL and
Redis. The first store has buffer 2, floor 3, one opted-out SKU and a mapping of two of
the three warehouses; the second sells the primary warehouse's available-for-sale
stock. After a full sync of 2,000 SKUs each store's numbers equal a reference computed
here from the warehouses' figures, and the opted-out SKU was never written."""

from __future__ import annotations

import math
from collections.abc import Collection

import pytest
from sqlalchemy.orm import Session, sessionmaker

from models import RunStatus
from models.crypto import Vault
from sandbox.zoho.state import ZohoState
from sandbox.zoho.stock import LOCATIONS
from settings import Settings
from sync.stock_policy import set_policy, set_rule
from tests.support.sellable_reference import erp_quantities, reference
from tests.support.stack import (
    FAST,
    finished,
    installed_context,
    run_row,
    sandbox_stack,
    sibling_store,
    wait_for,
    workers,
)
from workers.app import make_celery
from workers.context import get_context

ITEMS = 2_000
BUFFER, FLOOR = 2, 3
#: What the store keeps for the opted-out SKU: no number the policy gives it.
UNTOUCHED = 777
#: WooCommerce's default quota (sync/limits.py) on the store sandbox, and sites without
#: their own (NULL: the platform's default), not the tests' generous one.
STORE = {"rate_limit": (300, 60.0)}
SITE = {"rate_limit_requests": None, "rate_limit_window_seconds": None}
PRIMARY, EAST, DEPOT = (place["location_id"] for place in LOCATIONS)


def _summed(erp: ZohoState, ids: Collection[str], field: str) -> dict[str, int]:
    """Per active stocked SKU, Zoho's `field` summed over the warehouses `ids` (a
    shortfall at one nets against another; a negative sum is nothing to sell)."""
    with erp.lock:
        return {
            item["sku"]: max(
                0,
                sum(
                    math.floor(place[f"location_{field}"])
                    for place in item["locations"]
                    if place["location_id"] in ids
                ),
            )
            for item in erp.items
            if item["status"] == "active" and "locations" in item
        }


@pytest.mark.slow
def test_mapped_warehouses_buffer_floor_and_opt_out_over_two_thousand_skus(
    db: sessionmaker[Session], vault: Vault, settings: Settings, redis_client: object
) -> None:
    app = make_celery(settings)
    with (
        sandbox_stack(
            db, vault, "woocommerce", items=ITEMS, erp="zoho", store=STORE, site=SITE
        ) as stack,
        sibling_store(
            db,
            vault,
            stack.source_id,
            "woocommerce",
            name="shop-primary",
            site=SITE,
            items=ITEMS,
            drift=0.1,
            **STORE,
        ) as (primary_store, primary_site),
        installed_context(settings, **FAST),
    ):
        erp = stack.erp
        assert isinstance(erp, ZohoState)
        skus = sorted(stack.store_stock())
        opted = skus[10]
        stack.store.set_stock({opted: UNTOUCHED})
        # Small quantities around the buffer and the floor (taken from the primary
        # warehouse first), and sales orders committing stock at each warehouse.
        erp.set_stock({sku: n % 8 for n, sku in enumerate(skus[:400])})
        for n, location in enumerate((PRIMARY, EAST, DEPOT)):
            lines = {sku: 1 + k % 3 for k, sku in enumerate(skus[500 + 100 * n : 600 + 100 * n])}
            erp.sales_orders.raise_order(lines, "", "confirmed", location)
        ctx = get_context(app)
        # No worker yet: the runs wait in the queue, and the opt-out set after the first
        # change leaves its run alone; the run applies it when the workers start.
        mapped = set_policy(
            ctx,
            stack.site_id,
            {"stock_buffer": BUFFER, "stock_floor": FLOOR, "erp_location_ids": [PRIMARY, DEPOT]},
        )
        set_rule(ctx, stack.site_id, opted, opt_out=True)
        for_sale = set_policy(
            ctx, primary_site, {"stock_basis": "available_for_sale", "erp_location_ids": [PRIMARY]}
        )
        runs = [mapped["resync"]["run_id"], for_sale["resync"]["run_id"]]

        with workers(app, concurrency=2):
            for run_id in runs:
                wait_for(lambda run_id=run_id: finished(db, run_id), what=f"run {run_id}")

        two_of_three = _summed(erp, {PRIMARY, DEPOT}, "stock_on_hand")
        primary_for_sale = _summed(erp, {PRIMARY}, "available_for_sale_stock")
        # The mapping matters: many SKUs have stock in the warehouse left out.
        assert sum(two_of_three[sku] != erp.stock()[sku] for sku in skus) > ITEMS // 2
        expected = {sku: reference(two_of_three[sku], BUFFER, FLOOR) for sku in skus}
        assert stack.store_stock() == expected | {opted: UNTOUCHED}
        assert primary_store.stock() == {sku: primary_for_sale[sku] for sku in skus}
        for run_id in runs:
            run = run_row(db, run_id)
            assert run.status == RunStatus.COMPLETED, run.error
            assert (run.total, run.failed) == (ITEMS, 0)
        assert run_row(db, runs[0]).opted_out == 1
        # Each number is explained by the summed figure it came from; the opted-out SKU
        # was never written, so it has none.
        recorded = erp_quantities(db, stack.site_id)
        assert recorded == {sku: two_of_three[sku] for sku in skus} | {opted: None}
        assert erp_quantities(db, primary_site) == primary_for_sale
