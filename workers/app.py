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
    "workers.reservations",
    "workers.subscriptions",
    "workers.feed",
    "workers.lifecycle",
    "workers.outages",
]


class StocksyncCelery(Celery):
    """The Celery app, holding the settings its tasks build their context from.

    They live on the app object, never in `app.conf`: Flower renders the worker's
    configuration (`celery inspect conf`), and Celery masks only the keys whose names
    look secret, so settings there would show the admin token, the encryption keys and
    the database URL (issue 19; docs/style.md rule 17). Set after construction, so
    the app keeps Celery's constructor (which its pickling calls)."""

    stocksync_settings: Settings


def settings_of(app: Celery) -> Settings:
    """The settings `make_celery` built `app` from."""
    if not isinstance(app, StocksyncCelery):
        raise TypeError(f"{app!r} was not built by make_celery")
    return app.stocksync_settings


def make_celery(settings: Settings) -> StocksyncCelery:
    """Build the app from resolved settings (service URLs filled in)."""
    if not settings.redis_url:
        raise ValueError("make_celery needs resolved settings (redis_url is None)")
    install_celery_logging()
    app = StocksyncCelery("stocksync", include=TASK_MODULES)
    app.stocksync_settings = settings
    app.conf.update(celeryconfig.build(settings))
    app.steps["consumer"].add(RepublishAfterLoss)
    app.steps["consumer"].add(MigrateSeparator)
    app.steps["consumer"].add(Heartbeat)
    return app
