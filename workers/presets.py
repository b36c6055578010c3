"""Task option presets: queue, priority, acks, retries and limits, declared once.

Celery silently accepts a misspelt option, so every task takes one of these presets
and a test walks the registered tasks to check it (docs/style.md rule 3).

Priorities: the Redis transport pops priority 0 first. Webhook events beat manual
syncs, which beat nightly syncs; maintenance has its own queue.
"""

from __future__ import annotations

from typing import Any

PRIORITY_EVENT = 0
PRIORITY_MANUAL_SYNC = 4
PRIORITY_NIGHTLY_SYNC = 7
PRIORITY_MAINTENANCE = 5

_COMMON: dict[str, Any] = {
    "acks_late": True,
    "reject_on_worker_lost": True,
    "ignore_result": True,
}

EVENT: dict[str, Any] = _COMMON | {
    "queue": "events",
    "priority": PRIORITY_EVENT,
    "max_retries": 10,
    "soft_time_limit": 100,
    "time_limit": 120,
}

SYNC: dict[str, Any] = _COMMON | {
    "queue": "sync",
    "priority": PRIORITY_NIGHTLY_SYNC,
    "max_retries": 8,
    "soft_time_limit": 840,
    "time_limit": 900,
}

MAINTENANCE: dict[str, Any] = _COMMON | {
    "queue": "maintenance",
    "priority": PRIORITY_MAINTENANCE,
    "max_retries": 0,
    "soft_time_limit": 240,
    "time_limit": 300,
}

PRESETS: dict[str, dict[str, Any]] = {"event": EVENT, "sync": SYNC, "maintenance": MAINTENANCE}
