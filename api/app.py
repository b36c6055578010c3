"""The Flask app factory: `create_app(settings=None)` (STYLE.md rule 4)."""

from __future__ import annotations

from flask import Flask

from api.health import health
from api.receiver import receiver
from api.resources import Resources
from api.unified import unified
from embedded.runtime import resolve
from settings import Settings, load_settings


def create_app(settings: Settings | None = None) -> Flask:
    """Build the WSGI app. Without settings, read the environment and resolve services."""
    settings = resolve(settings or load_settings())
    app = Flask(__name__)
    app.config["MAX_CONTENT_LENGTH"] = settings.max_webhook_body_bytes
    app.extensions["stocksync"] = Resources.build(settings)
    app.register_blueprint(health)
    app.register_blueprint(unified)
    app.register_blueprint(receiver)
    return app
