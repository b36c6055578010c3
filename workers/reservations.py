"""Beat tasks that end reservations on their own (sync/store_orders.py): the ERP's
handover of store orders, and expiry. Names are the strings schedules/beat.py uses."""

from __future__ import annotations

import logging

from celery import shared_task
from celery.app.task import Task

from sync.store_orders import end_expired_everywhere, settle_all
from workers import presets
from workers.context import get_context

log = logging.getLogger(__name__)

SETTLE_ORDERS = "workers.reservations.settle_orders"
EXPIRE_RESERVATIONS = "workers.reservations.expire"


@shared_task(name=SETTLE_ORDERS, bind=True, **presets.MAINTENANCE)
def settle_orders_task(self: Task) -> int:
    """Ask each ERP how far it took the store orders open on it; push what it absorbed."""
    outcomes = settle_all(get_context(self.app))
    for source_id, summary in outcomes.items():
        log.info("reservations.settled", extra={"source": source_id, "summary": summary})
    return len(outcomes)


@shared_task(name=EXPIRE_RESERVATIONS, bind=True, **presets.MAINTENANCE)
def expire_task(self: Task) -> int:
    """End reservations past RESERVATION_HOURS and push their SKUs."""
    released = end_expired_everywhere(get_context(self.app))
    if released:
        log.warning("reservations.expired", extra={"skus": released})
    return released
