"""Beat's poll of every ERP's stock-movement feed (sync/change_feed.py). Its name is the
string schedules/beat.py uses."""

from __future__ import annotations

import logging

from celery import shared_task
from celery.app.task import Task

from sync.change_feed import poll_all
from workers import presets
from workers.context import get_context

log = logging.getLogger(__name__)

POLL_FEEDS = "workers.feed.poll"


@shared_task(name=POLL_FEEDS, bind=True, **presets.MAINTENANCE)
def poll_task(self: Task) -> dict[str, int]:
    """Poll each source's feed once; what moved goes out as events."""
    summary = poll_all(get_context(self.app))
    if summary["skus"] or summary["failed"]:
        log.info("feed.polled", extra=summary)
    return summary
