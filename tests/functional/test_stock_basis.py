"""The stock basis end to end: one Zoho sandbox with stock committed to sales orders on
some SKUs, two stores on it, real workers, real PostgreSQL and Redis. The site on
basis on_hand gets Zoho's stock on hand; the site on available_for_sale gets on hand
less committed (and its buffer), and each records the figure it sold from. Over real
HTTP (`stocksync up`), the admin API refuses available_for_sale for a Business Central
site in one line saying why and where to read more."""

from __future__ import annotations

from pathlib import Path

import pytest
import redis
import requests
from sqlalchemy.orm import Session, sessionmaker

from models import RunStatus
from models.crypto import Vault
from models.db import transaction
from settings import Settings
from sync.runs import start_run
from sync.stock_policy import set_policy
from tests.factories import make_site, make_source
from tests.support.admin_api import TOKEN
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
from tests.support.stack_up import stack_up
from workers.app import make_celery
from workers.context import get_context

ITEMS = 300
BUFFER = 1


@pytest.mark.slow
def test_two_sites_on_one_zoho_source_each_sell_from_their_own_basis(
    db: sessionmaker[Session], vault: Vault, settings: Settings, redis_client: object
) -> None:
    app = make_celery(settings)
    with (
        sandbox_stack(db, vault, "woocommerce", items=ITEMS, drift=0.1, erp="zoho") as stack,
        sibling_store(
            db, vault, stack.source_id, "woocommerce", name="shop-for-sale", items=ITEMS, drift=0.1
        ) as (for_sale_store, for_sale_site),
        installed_context(settings, **FAST),
    ):
        skus = sorted(stack.store_stock())
        # Sales orders confirmed in Zoho, not yet shipped: on hand stays, committed rises.
        stack.erp.commit({sku: 1 + n % 4 for n, sku in enumerate(skus[:60])})
        ctx = get_context(app)
        changed = set_policy(
            ctx, for_sale_site, {"stock_basis": "available_for_sale", "stock_buffer": BUFFER}
        )
        runs = [start_run(ctx, stack.site_id), changed["resync"]["run_id"]]

        with workers(app, concurrency=2):
            for run_id in runs:
                wait_for(lambda run_id=run_id: finished(db, run_id), what=f"run {run_id}")

        for run_id in runs:
            run = run_row(db, run_id)
            assert run.status == RunStatus.COMPLETED, run.error
            assert (run.total, run.failed) == (ITEMS, 0)
        on_hand, for_sale = stack.erp.stock(), stack.erp.available_for_sale()
        assert sum(on_hand[sku] != for_sale[sku] for sku in skus) >= 60
        assert stack.store_stock() == {sku: on_hand[sku] for sku in skus}
        assert for_sale_store.stock() == {
            sku: reference(max(0, for_sale[sku]), BUFFER) for sku in skus
        }
        # Each number is explained by the figure it came from.
        assert erp_quantities(db, stack.site_id) == {sku: on_hand[sku] for sku in skus}
        assert erp_quantities(db, for_sale_site) == {sku: max(0, for_sale[sku]) for sku in skus}


@pytest.mark.slow
def test_available_for_sale_on_business_central_is_a_one_line_422_over_http(
    settings: Settings,
    db: sessionmaker[Session],
    vault: Vault,
    redis_client: redis.Redis,
    tmp_path: Path,
) -> None:
    with transaction(db) as session:
        site_id = make_site(session, vault, make_source(session, vault)).id
    auth = {"Authorization": f"Bearer {TOKEN}"}
    with stack_up(settings, tmp_path / "up.log", environ={"ADMIN_TOKEN": TOKEN}) as base:
        url = f"{base}/api/sites/{site_id}"
        refused = requests.patch(
            url, json={"stock_basis": "available_for_sale"}, headers=auth, timeout=10
        )
        shown = requests.get(url, headers=auth, timeout=10).json()

    assert refused.status_code == 422
    message = refused.json()["error"]["message"]
    assert "\n" not in message
    assert "Business Central reports only stock on hand" in message
    assert "docs/platforms.md section 7" in message
    assert shown["stock_basis"] == "on_hand"
