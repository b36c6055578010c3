"""A Zoho Inventory full sync inside Zoho's real budget, through real workers.

Issue 22, item 2: every 500-SKU batch paged Zoho's whole item list (Zoho has no
multi-SKU filter), 20,000 items cost about 4,000 calls, more than a day's quota on
most plans and 40 minutes of its 100 requests a minute. The run now reads the list
once (sync/erp_reads.py). The sandbox enforces Zoho's 100 requests per minute and the
source keeps its default budget (sync/limits.py `SOURCE_QUOTAS`), so the run waits
for the budget like a real one: about a minute.
"""

from __future__ import annotations

import math

import pytest
from sqlalchemy.orm import Session, sessionmaker

from connectors.zoho import PER_PAGE
from models import RunStatus, SourceKind
from models.crypto import Vault
from settings import Settings
from sync.limits import SOURCE_QUOTAS
from tests.support.stack import FAST, installed_context, sandbox_stack, sync_to_end, workers
from workers.app import make_celery

ITEMS = 20_000
ITEM_LIST = "GET /inventory/v1/items"


@pytest.mark.slow
def test_a_zoho_full_sync_of_20000_items_reads_the_item_list_once_within_its_budget(
    db: sessionmaker[Session], vault: Vault, settings: Settings, redis_client: object
) -> None:
    zoho = SOURCE_QUOTAS[SourceKind.ZOHO]
    app = make_celery(settings)
    with (
        sandbox_stack(
            db,
            vault,
            "woocommerce",
            items=ITEMS,
            drift=0.05,
            erp="zoho",
            erp_knobs={"rate_limit": (zoho.requests, zoho.window_seconds)},
            source={"rate_limit_requests": None, "rate_limit_window_seconds": None},
        ) as stack,
        installed_context(settings, **FAST),
        workers(app, concurrency=2),
    ):
        drifted = stack.differing()
        run = sync_to_end(app, db, stack.site_id)

        item_list_calls = stack.erp.route_calls[ITEM_LIST]
        assert stack.erp.rejected_429 == 0
        assert stack.differing() == set()
    assert (run.status, run.synced) == (RunStatus.COMPLETED, len(drifted))
    # Its start task made its plan (sync/plan.py): a first run knows nothing to forecast.
    assert run.plan is not None and run.plan["fits"] and run.plan["erp_calls"] == 0
    # One listing and nothing else of the item list (the bound is 110): the
    # seeded items and the two the sandbox adds (an inactive item, a service).
    assert item_list_calls == math.ceil((ITEMS + 2) / PER_PAGE)
