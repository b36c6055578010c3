"""The beat schedule: what runs periodically, how often, and why that often.

Times are UTC (`celeryconfig`: `timezone = "UTC"`); the nightly syncs follow each
site's own zone through `schedules.due`, not through beat's clock. Every entry
expires after its period, so a backlog built while workers were down does not run a
sweep twenty times in a row when they return. Tasks are named by string: the outbox
sweeper belongs to the webhook pipeline, and beat needs only its name.
"""

from __future__ import annotations

from typing import Any

from celery.schedules import crontab

from schedules.tasks import START_DUE_SYNCS
from workers import presets
from workers.lifecycle import SWEEP as LIFECYCLE_SWEEP
from workers.maintenance import FAIL_STUCK_RUNS, PURGE_WEBHOOK_LOG, RETURN_STUCK_BATCHES

#: The webhook outbox sweeper (workers/outbox.py): republishes stranded log rows.
OUTBOX_SWEEP = "workers.outbox.sweep"

#: How often beat asks which sites are due: a run starts at most this late.
DUE_CHECK_SECONDS = 300.0


def _every(task: str, seconds: float) -> dict[str, Any]:
    return {"task": task, "schedule": seconds, "options": _options(expires=seconds)}


def _options(expires: float) -> dict[str, Any]:
    return {
        "queue": presets.MAINTENANCE["queue"],
        "priority": presets.PRIORITY_MAINTENANCE,
        "expires": expires,
    }


def beat_schedule() -> dict[str, dict[str, Any]]:
    return {
        "full-sync-due-sites": _every(START_DUE_SYNCS, DUE_CHECK_SECONDS),
        "return-stuck-batches": _every(RETURN_STUCK_BATCHES, 300.0),
        "fail-stuck-runs": _every(FAIL_STUCK_RUNS, 300.0),
        "outbox-sweep": _every(OUTBOX_SWEEP, 60.0),
        "lifecycle-event-sweep": _every(LIFECYCLE_SWEEP, 60.0),
        "purge-webhook-log": {
            "task": PURGE_WEBHOOK_LOG,
            "schedule": crontab(hour=3, minute=0),
            "options": _options(expires=3600.0),
        },
    }
