"""The stock policy end to end: ERP sandbox, store sandbox, real workers, real
PostgreSQL and Redis. A full sync of 2,000 SKUs writes, for every SKU, the number a
reference computation gives; the opted-out SKU is never written; changing the policy
rewrites only the SKUs whose number changed."""

from __future__ import annotations

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from models import Item, RunStatus
from models.crypto import Vault
from settings import Settings
from sync.stock_policy import set_policy, set_rule
from tests.support.sellable_reference import reference
from tests.support.stack import (
    FAST,
    finished,
    installed_context,
    run_row,
    sandbox_stack,
    wait_for,
    workers,
)
from workers.app import make_celery
from workers.context import get_context

ITEMS = 2_000
BUFFER, FLOOR = 2, 3
#: What the store keeps for the opted-out SKU: no number the policy gives it.
UNTOUCHED = 777


@pytest.mark.slow
def test_two_thousand_skus_get_the_reference_numbers_and_the_opt_out_none(
    db: sessionmaker[Session], vault: Vault, settings: Settings, redis_client: object
) -> None:
    app = make_celery(settings)
    with (
        sandbox_stack(db, vault, "bigcommerce", items=ITEMS, drift=0.1) as stack,
        installed_context(settings, **FAST),
    ):
        skus = sorted(stack.store_stock())
        opted, overridden = skus[10], skus[20]
        stack.store.set_stock({opted: UNTOUCHED})
        # Quantities around the buffer and the floor, so both rules are exercised.
        stack.erp.set_stock({sku: n % 8 for n, sku in enumerate(skus[:400])})
        ctx = get_context(app)
        # No worker yet: the first change's run waits in the queue, and the rules set
        # after it leave it alone; it applies them all when the worker starts.
        first = set_policy(ctx, stack.site_id, {"stock_buffer": BUFFER, "stock_floor": FLOOR})
        run_id = first["resync"]["run_id"]
        assert set_rule(ctx, stack.site_id, opted, opt_out=True)["resync"]["run_id"] == run_id
        set_rule(ctx, stack.site_id, overridden, override=5)

        with workers(app, concurrency=2):
            wait_for(lambda: finished(db, run_id), what=f"run {run_id}")
            run = run_row(db, run_id)
            erp, store = stack.erp_stock(), stack.store_stock()
            expected = {sku: reference(erp[sku], BUFFER, FLOOR) for sku in skus}
            expected |= {opted: UNTOUCHED, overridden: 5}
            assert store == expected
            assert run.status == RunStatus.COMPLETED, run.error
            assert (run.total, run.opted_out, run.failed) == (ITEMS, 1, 0)
            assert run.synced + run.unchanged == ITEMS - 1
            with db() as session:
                rows = {row.sku: row for row in session.scalars(select(Item))}
            assert all(rows[sku].erp_quantity == erp[sku] for sku in skus if sku != opted)
            assert (rows[opted].quantity, rows[opted].erp_quantity) == (UNTOUCHED, None)

            # Floor 0 changes only the SKUs left with 1 or 2 after the buffer.
            moved = {
                sku
                for sku in skus
                if sku not in (opted, overridden) and 0 < erp[sku] - BUFFER < FLOOR
            }
            assert moved
            again = set_policy(ctx, stack.site_id, {"stock_floor": 0})["resync"]["run_id"]
            wait_for(lambda: finished(db, again), what=f"run {again}")
            second = run_row(db, again)
            assert (second.synced, second.unchanged, second.opted_out) == (
                len(moved),
                ITEMS - 1 - len(moved),
                1,
            )
            after = stack.store_stock()
            assert {sku for sku in skus if after[sku] != store[sku]} == moved
            assert after[opted] == UNTOUCHED
