"""WSGI entry for gunicorn (`gunicorn api.wsgi:app`): the one module-level Flask app."""

from __future__ import annotations

import sys

from api.app import create_app
from settings import SettingsError

try:
    app = create_app()
except SettingsError as error:
    sys.exit(f"stocksync: {error}")
