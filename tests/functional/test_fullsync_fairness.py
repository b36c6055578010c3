"""Sites started together all make progress at once (issue 22, item 4).

Three stores on one ERP, started together as the nightly wave starts them, through a
real worker of one process on real PostgreSQL and Redis. Before, each run published
all its batches as its batches were cut, so the queue served the first site's whole
run, then the second's: a site waited for another's whole run (bench.sites: with 10
sites the last first batch came after the first site had ended). Now each run keeps a
few batches in the queue and queues the next as one finishes, so the sites' batches
take turns.
"""

from __future__ import annotations

from contextlib import ExitStack
from dataclasses import replace

from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from models import RunStatus, SyncBatch, SyncRun
from models.crypto import Vault
from settings import Settings
from sync.runs import start_all
from tests.support.stack import (
    FAST,
    installed_context,
    sandbox_stack,
    sibling_store,
    wait_for,
    workers,
)
from workers.app import make_celery

ITEMS = 300
#: 6 batches a site, more than its window holds.
BATCH_SIZE = 50
#: Shared by the 3 runs: a window of 2 each, as 50 sites share the default 16.
IN_FLIGHT = 6


def test_every_site_has_a_batch_done_before_any_site_s_run_ends(
    db: sessionmaker[Session], vault: Vault, settings: Settings, redis_client: object
) -> None:
    settings = replace(settings, batch_size=BATCH_SIZE, batches_in_flight=IN_FLIGHT)
    app = make_celery(settings)
    with ExitStack() as stack:
        erp = stack.enter_context(sandbox_stack(db, vault, "bigcommerce", items=ITEMS))
        for platform in ("woocommerce", "shopify"):
            stack.enter_context(
                sibling_store(db, vault, erp.source_id, platform, name=platform, items=ITEMS)
            )
        ctx = stack.enter_context(installed_context(settings, **FAST))
        stack.enter_context(workers(app))
        started = start_all(ctx, trigger="test")
        run_ids = [entry["run_id"] for entry in started["started"]]
        assert len(run_ids) == 3

        def all_finished() -> bool:
            with db() as session:
                ends = session.scalars(select(SyncRun.finished_at).where(SyncRun.id.in_(run_ids)))
                return all(end is not None for end in ends)

        wait_for(all_finished, what="the three runs")

    with db() as session:
        runs = session.scalars(select(SyncRun).where(SyncRun.id.in_(run_ids))).all()
        first_batches = dict(
            session.execute(
                select(SyncBatch.run_id, func.min(SyncBatch.finished_at))
                .where(SyncBatch.run_id.in_(run_ids))
                .group_by(SyncBatch.run_id)
            ).all()
        )
    assert {run.status for run in runs} == {RunStatus.COMPLETED}
    assert all(run.batches_total == ITEMS // BATCH_SIZE for run in runs)
    earliest_end = min(run.finished_at for run in runs if run.finished_at)
    latest_first = max(first_batches.values())
    assert latest_first < earliest_end, {
        run.site_id: (first_batches[run.id], run.finished_at) for run in runs
    }
