"""WSGI entry for gunicorn (`gunicorn api.wsgi:app`): the one module-level Flask app.

An entry point, so it may resolve the services: with DATABASE_URL or REDIS_URL unset,
embedded servers under STOCKSYNC_HOME (embedded/runtime.py).
"""

from __future__ import annotations

import sys

from api.app import create_app
from embedded.runtime import resolve
from settings import SettingsError, load_settings

try:
    app = create_app(resolve(load_settings()))
except SettingsError as error:
    sys.exit(f"stocksync: {error}")
