"""The beat schedule: what runs periodically, how often, and why that often.

Times are UTC (`celeryconfig`: `timezone = "UTC"`); the nightly syncs follow each
site's own zone through `schedules.due`, not through beat's clock. Every entry
expires after its period, so a backlog built while workers were down does not run a
sweep twenty times in a row when they return.

Tasks are named by string: beat needs only their names, and `schedules/` never
imports the workers that define them (docs/architecture.md, layers). A test checks
that every name here is a registered task with the maintenance preset.
"""

from __future__ import annotations

from typing import Any

from celery.schedules import crontab

from sync.change_feed import BEAT_SECONDS
from sync.subscriptions import KEEPER_INTERVAL

#: How often beat asks which sites are due: a run starts at most this late.
DUE_CHECK_SECONDS = 300.0
#: How often batches whose lease lapsed are returned (sync/recovery.py): a dead worker's
#: batch is back at most this long after its lease (BATCH_LEASE_SECONDS, 60) lapsed.
#: Half a lease: the sweep is one indexed UPDATE, cheap enough to run this often.
LEASE_SWEEP_SECONDS = 30.0
#: How often each ERP is asked how far it took the store orders open on it: a
#: reservation stops counting at most this long after the ERP absorbed its order (ERP
#: change notices and full syncs ask too, before they read the ERP). One call per open
#: order (connectors' `order_progress`).
ORDER_HANDOVER_SECONDS = 120.0
#: The maintenance queue and its priority (workers/presets.py MAINTENANCE).
QUEUE = "maintenance"
PRIORITY = 5


def _every(task: str, seconds: float) -> dict[str, Any]:
    return {"task": task, "schedule": seconds, "options": _options(expires=seconds)}


def _options(expires: float) -> dict[str, Any]:
    return {"queue": QUEUE, "priority": PRIORITY, "expires": expires}


def beat_schedule() -> dict[str, dict[str, Any]]:
    return {
        "full-sync-due-sites": _every("workers.maintenance.start_due_syncs", DUE_CHECK_SECONDS),
        "return-stuck-batches": _every(
            "workers.maintenance.return_stuck_batches", LEASE_SWEEP_SECONDS
        ),
        "fail-stuck-runs": _every("workers.maintenance.fail_stuck_runs", 300.0),
        # Republishes webhook rows stranded without a message (sync/outbox.py).
        "outbox-sweep": _every("workers.maintenance.outbox_sweep", 60.0),
        "settle-store-orders": _every("workers.reservations.settle_orders", ORDER_HANDOVER_SECONDS),
        "expire-reservations": _every("workers.reservations.expire", 900.0),
        "lifecycle-event-sweep": _every("workers.lifecycle.sweep", 60.0),
        "poll-erp-feeds": _every("workers.feed.poll", BEAT_SECONDS),
        "keep-subscriptions": _every("workers.subscriptions.keep", KEEPER_INTERVAL.total_seconds()),
        "purge-webhook-log": {
            "task": "workers.maintenance.purge_webhook_log",
            "schedule": crontab(hour=3, minute=0),
            "options": _options(expires=3600.0),
        },
    }
