"""The Flask app factory: `create_app(settings=None)` (docs/style.md rule 4)."""

from __future__ import annotations

from datetime import timedelta

from flask import Flask, Response
from werkzeug.middleware.proxy_fix import ProxyFix

from api import admin
from api.admin.auth import OperatorSessions, session_secret
from api.dashboard import dashboard
from api.health import health
from api.metrics import init_metrics
from api.receiver import receiver
from api.resources import Resources
from api.unified import unified
from logconfig import configure_logging
from settings import Settings, SettingsError, check_admin_token, load_settings


def create_app(settings: Settings | None = None) -> Flask:
    """Build the WSGI app on resolved settings (service URLs and keys filled in); without
    settings, on the environment's. Starting embedded servers is the entry point's
    business (api/wsgi.py), not the factory's."""
    settings = settings or load_settings()
    if not (settings.database_url and settings.redis_url and settings.encryption_keys):
        raise SettingsError(
            "DATABASE_URL, REDIS_URL and STOCKSYNC_ENCRYPTION_KEY must be set "
            "(or run the stack with `stocksync up`, which starts embedded servers)"
        )
    check_admin_token(settings.admin_token)
    configure_logging("web", settings.log_level)
    app = Flask(__name__)
    if settings.trusted_proxies:
        # The client's address (login throttle) and scheme (the cookie's Secure flag)
        # as the trusted proxies saw them; from anyone else the headers are ignored.
        n = settings.trusted_proxies
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=n, x_proto=n)  # type: ignore[method-assign]
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
    app.after_request(_no_sniffing)
    return app


def _no_sniffing(response: Response) -> Response:
    """Every answer is read as the type it declares: Business Central's handshake echoes
    `validationToken`, any text, as its text/plain body, which a browser sniffing
    content could otherwise run as HTML."""
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response
