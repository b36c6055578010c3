"""The one Celery app factory. It never imports `api/` nor builds a Flask app."""

from __future__ import annotations

from celery import Celery

import celeryconfig
from logconfig import install_celery_logging
from settings import Settings
from workers.heartbeat import Heartbeat
from workers.reconnect import RepublishAfterLoss
from workers.transport import MigrateSeparator

#: Modules whose tasks the worker registers.
TASK_MODULES: list[str] = [
    "workers.events",
    "workers.runs",
    "workers.batches",
    "workers.maintenance",
    "workers.lifecycle",
    "workers.outages",
]


def make_celery(settings: Settings) -> Celery:
    """Build the app from resolved settings (service URLs filled in)."""
    if not settings.redis_url:
        raise ValueError("make_celery needs resolved settings (redis_url is None)")
    install_celery_logging()
    app = Celery("stocksync", include=TASK_MODULES)
    app.conf.update(celeryconfig.build(settings))
    app.steps["consumer"].add(RepublishAfterLoss)
    app.steps["consumer"].add(MigrateSeparator)
    app.steps["consumer"].add(Heartbeat)
    app.conf.stocksync_settings = settings
    return app
