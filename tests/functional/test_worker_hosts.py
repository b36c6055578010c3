"""Two worker hosts on one Redis and one PostgreSQL (issue 22, item 6).

Each "host" is a real `celery worker` process with its own node name and its own
`STOCKSYNC_HOME`, one of them with a wall clock 90 s ahead (as a host whose clock
drifted). Nothing host-local may break the sync: the store's budget is shared through
Redis, so the sandbox enforcing it never answers 429; the run's counts are kept in its
rows, so they are exact whoever did which batch; readings are dated by the database's
clock, so the skewed host writes no reading from the future.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from models import Item, RunStatus
from models.crypto import Vault
from settings import Settings
from sync.runs import start_run
from tests.support.stack import finished, run_row, sandbox_stack, wait_for
from tests.support.worker_process import worker_process
from workers.app import make_celery
from workers.batches import PROCESS_BATCH
from workers.context import client_context

ITEMS = 3000
#: BigCommerce's 150 requests per 30 s, shrunk so that the budget is waited for.
QUOTA = (10, 2)
SKEW_SECONDS = 90.0
#: Batches of 100: 30 batch tasks, enough for both hosts to take some.
SMALL = {"BATCH_SIZE": "100"}


@pytest.mark.slow
def test_two_hosts_share_the_stores_budget_the_counts_and_one_clock(
    db: sessionmaker[Session], vault: Vault, settings: Settings, tmp_path: Path
) -> None:
    key = settings.encryption_keys[0]
    limit = {
        "rate_limit_requests": QUOTA[0],
        "rate_limit_window_seconds": QUOTA[1],
        "rate_limit_concurrency": 4,
    }
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    with (
        client_context(settings) as ctx,
        sandbox_stack(
            db,
            vault,
            "bigcommerce",
            items=ITEMS,
            drift=0.3,
            store={"rate_limit": QUOTA, "latency_ms": 20},
            site=limit,
        ) as stack,
        worker_process(settings, key, tmp_path / "a" / "worker.log", name="host-a", env=SMALL),
        worker_process(
            settings,
            key,
            tmp_path / "b" / "worker.log",
            name="host-b",
            clock_skew=SKEW_SECONDS,
            env=SMALL,
        ),
    ):
        drifted = stack.differing()
        run_id = start_run(ctx, stack.site_id)
        wait_for(lambda: finished(db, run_id), timeout=300, what="the run")

        stats = make_celery(settings).control.inspect(timeout=5).stats() or {}
        assert stack.store.rejected_429 == 0
        assert stack.store.calls >= 2 * QUOTA[0]  # the budget had to be waited for
        assert stack.differing() == set()
        with db() as session:
            latest, now = session.execute(
                select(func.max(Item.erp_read_at), func.now()).where(Item.site_id == stack.site_id)
            ).one()

    run = run_row(db, run_id)
    assert (run.status, run.synced, run.total) == (RunStatus.COMPLETED, len(drifted), ITEMS)
    batches = {
        host.split("@")[0]: stat["total"].get(PROCESS_BATCH, 0) for host, stat in stats.items()
    }
    assert batches.get("host-a", 0) > 0 and batches.get("host-b", 0) > 0, batches
    assert latest <= now  # no reading dated by the skewed host's clock
