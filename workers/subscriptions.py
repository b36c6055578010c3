"""The keeper's beat task (sync/subscriptions.py): every site's and source's webhook
subscriptions checked, mended, and what they missed reconciled. Its name is the string
schedules/beat.py uses."""

from __future__ import annotations

import logging

from celery import shared_task
from celery.app.task import Task

from sync.subscriptions import keep_all
from workers import presets
from workers.context import get_context

log = logging.getLogger(__name__)

KEEP_SUBSCRIPTIONS = "workers.subscriptions.keep"


@shared_task(name=KEEP_SUBSCRIPTIONS, bind=True, **presets.MAINTENANCE)
def keep_task(self: Task) -> dict[str, int]:
    """One keeper pass over every owner; failures are on their rows and logged."""
    summary = keep_all(get_context(self.app))
    log.info("subscriptions.kept_all", extra=summary)
    return summary
