"""Real-time events have a worker of their own: `stocksync up` as an operator runs it,
its main worker busy with one site's full sync, another site's ERP change still reaches
its store in the window's time (docs/architecture.md, "Priorities")."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy.orm import Session, sessionmaker

from models import BatchStatus
from models.crypto import Vault
from settings import Settings
from sync.runs import start_run
from tests.support.stack import batch_rows, installed_context, mirror, sandbox_stack, wait_for
from tests.support.stack_up import no_nightly_run_today, stack_up

#: How long the busy store takes to apply one batch write: far longer than an event
#: needs (the 5 s window and a second), so the event's store write landing while the
#: busy site's batch is still writing shows it did not wait for the main worker.
SLOW_WRITE_MS = 25_000


@pytest.mark.slow
def test_an_event_is_written_while_every_main_worker_process_writes_a_slow_batch(
    settings: Settings,
    db: sessionmaker[Session],
    vault: Vault,
    redis_client: object,
    tmp_path: Path,
) -> None:
    with (
        sandbox_stack(db, vault, "woocommerce", items=40, drift=1.0, name="busy") as busy,
        sandbox_stack(db, vault, "woocommerce", items=10, drift=0.0, name="quiet") as quiet,
        installed_context(settings) as ctx,
    ):
        mirror(ctx, quiet.site_id)
        for site_id in (busy.site_id, quiet.site_id):
            no_nightly_run_today(db, site_id)
        busy.store.set_faults(write_latency_ms=SLOW_WRITE_MS)
        # One main worker process: the busy site's batch holds it for the whole write.
        environ = {"WORKER_CONCURRENCY": "1", "EVENTS_CONCURRENCY": "1"}
        with stack_up(settings, tmp_path / "up.log", environ=environ) as base:
            run_id = start_run(ctx, busy.site_id)
            wait_for(lambda: bool(busy.store.writes), 60, "the busy site's batch writing")

            quiet.erp.set_faults(webhook_url=f"{base}/webhooks/businesscentral/{quiet.source_id}")
            sku = sorted(quiet.erp_stock())[0]
            new = quiet.erp_stock()[sku] + 9
            quiet.erp.set_stock({sku: new})
            wait_for(lambda: quiet.store_stock()[sku] == new, 20, "the quiet store written")

            assert [b.status for b in batch_rows(db, run_id)] == [BatchStatus.PROCESSING]
            busy.store.set_faults(write_latency_ms=0)
