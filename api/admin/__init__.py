"""The admin REST API: one blueprint per resource, all behind ADMIN_TOKEN.

`register(app)` is what the factory calls. Routes declare themselves with
`api.admin.http.endpoint`, which also documents them in `/api/openapi.json`.
"""

from __future__ import annotations

from flask import Flask, Response, request
from werkzeug.exceptions import HTTPException

from api.admin.connections import connections
from api.admin.http import IdConverter, error_response
from api.admin.openapi import openapi
from api.admin.overview import overview
from api.admin.runs import runs
from api.admin.sites import sites
from api.admin.sources import sources
from api.admin.stats import stats
from api.admin.subscriptions import subscriptions
from api.admin.webhook_log import webhook_log

BLUEPRINTS = (
    openapi,
    runs,
    sites,
    sources,
    connections,
    stats,
    subscriptions,
    webhook_log,
    overview,
)


def _http_error(error: HTTPException) -> HTTPException | tuple[Response, int]:
    """Routing errors (no such URL, wrong method) under /api/ answer in the API's shape."""
    if not request.path.startswith("/api/"):
        return error
    code = (error.name or "error").lower().replace(" ", "_")
    return error_response(error.code or 500, code, f"{error.name}: {request.method} {request.path}")


def register(app: Flask) -> None:
    # Before the blueprints: rules are compiled against the converters when registered.
    app.url_map.converters["id"] = IdConverter
    for blueprint in BLUEPRINTS:
        app.register_blueprint(blueprint)
    for status in (404, 405, 413):
        app.register_error_handler(status, _http_error)
