"""Entry point of `celery -A workers worker|beat|flower`: the one module-level Celery app.

Celery finds `workers.celery.app`. Everything else builds apps with `make_celery`.
"""

from __future__ import annotations

import sys

from embedded.runtime import resolve
from schedules.beat import beat_schedule
from settings import SettingsError, load_settings
from workers.app import make_celery

try:
    app = make_celery(resolve(load_settings()))
except SettingsError as error:
    sys.exit(f"stocksync: {error}")
app.conf.beat_schedule = beat_schedule()
