"""The Flask app factory: `create_app(settings=None)` (STYLE.md rule 4)."""

from __future__ import annotations

from datetime import timedelta

from flask import Flask

from api import admin
from api.admin.auth import OperatorSessions, session_secret
from api.dashboard import dashboard
from api.health import health
from api.metrics import init_metrics
from api.receiver import receiver
from api.resources import Resources
from api.unified import unified
from embedded.runtime import resolve
from logconfig import configure_logging
from settings import Settings, load_settings


def create_app(settings: Settings | None = None) -> Flask:
    """Build the WSGI app. Without settings, read the environment and resolve services."""
    settings = resolve(settings or load_settings())
    configure_logging("web", settings.log_level)
    app = Flask(__name__)
    app.config["MAX_CONTENT_LENGTH"] = settings.max_webhook_body_bytes
    # The dashboard's session cookie: signed with a key derived from the encryption key
    # (api/admin/auth.py), never readable by scripts nor sent by other sites' pages.
    app.config.update(
        SECRET_KEY=session_secret(settings.encryption_keys[0]),
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Strict",
        PERMANENT_SESSION_LIFETIME=timedelta(hours=12),
    )
    app.session_interface = OperatorSessions()
    res = app.extensions["stocksync"] = Resources.build(settings)
    app.register_blueprint(health)
    app.register_blueprint(unified)
    app.register_blueprint(receiver)
    admin.register(app)
    app.register_blueprint(dashboard)
    init_metrics(app, res)
    return app
