"""`GET /api/openapi.json`: the admin API's OpenAPI 3.1 document, built from the routes.

Each admin view carries its operation (api/admin/http.py `endpoint`), so the document is
assembled by walking the app's URL map: a route cannot be served without being
documented, nor documented without being served. Served without authentication: it
describes the API and holds no data.
"""

from __future__ import annotations

import re
from typing import Any

from flask import Blueprint, Flask, Response, current_app, jsonify

from api.admin.http import Doc, openapi_path
from api.admin.schemas import COMPONENTS, ID, ref, text

openapi = Blueprint("admin_openapi", __name__)

_ERRORS = {
    400: "The request cannot be read (not JSON, a query value of the wrong type).",
    401: "No or wrong admin token.",
    403: "Cookie session without the X-CSRF-Token header.",
    404: "No such row.",
    409: "The row's state does not allow this.",
    413: "The body is larger than the limit (MAX_WEBHOOK_BODY_BYTES).",
    422: "A value is not acceptable; the message names the field.",
    429: "Too many wrong admin tokens from this address (or from all): see Retry-After.",
    503: "ADMIN_TOKEN is not set (code admin_disabled), or PostgreSQL is down.",
}


#: Path parameters that are not row ids (`<id:...>`), by name.
_PATH_SCHEMAS = {
    "sku": text(100, 1, pattern=r"\S"),
    "log_id": {"type": "string", "format": "uuid"},
}


def _error(status: int) -> dict[str, Any]:
    return {
        "description": _ERRORS[status],
        "content": {"application/json": {"schema": ref("Error")}},
    }


def operation(method: str, rule: str, doc: Doc) -> tuple[str, dict[str, Any]]:
    """The OpenAPI path and operation object of one route."""
    path, names = openapi_path(rule)
    parameters: list[dict[str, Any]] = [
        {"name": name, "in": "path", "required": True, "schema": _PATH_SCHEMAS.get(name, ID)}
        for name in names
    ]
    parameters += [
        {
            "name": p.name,
            "in": "query",
            "required": False,
            "schema": dict(p.schema),
            "description": p.description,
        }
        for p in doc.query
    ]
    statuses = {401, 403, 429, 503, *doc.errors}
    if doc.query or doc.body is not None:
        statuses |= {400, 422}
    if doc.body is not None:
        statuses.add(413)
    if names:
        statuses.add(404)
    responses: dict[str, Any] = {str(status): _error(status) for status in sorted(statuses)}
    if doc.status == 204:
        responses["204"] = {"description": "Done."}
    else:
        success: dict[str, Any] = {"description": "OK."}
        if doc.response is not None:
            success["content"] = {"application/json": {"schema": doc.response}}
        responses[str(doc.status)] = success
    op: dict[str, Any] = {
        "operationId": method.lower() + re.sub(r"[^a-z0-9]+", "_", path.lower()).rstrip("_"),
        "summary": doc.summary,
        "tags": [doc.tag],
        "parameters": parameters,
        "responses": responses,
    }
    if doc.description:
        op["description"] = doc.description
    if doc.body is not None:
        required = bool(doc.body.get("required"))
        op["requestBody"] = {
            "required": required,
            "content": {"application/json": {"schema": doc.body}},
        }
    return path, op


def build_document(app: Flask) -> dict[str, Any]:
    """The admin routes' operations, and the whole entries of routes that are not the
    admin API's (the plugin endpoint: its own key, its own answers), which carry them
    as `openapi_fragment` (api/unified_doc.py)."""
    paths: dict[str, dict[str, Any]] = {}
    schemas = dict(COMPONENTS)
    schemes: dict[str, Any] = {"adminToken": {"type": "http", "scheme": "bearer"}}
    for rule in app.url_map.iter_rules():
        view = app.view_functions[rule.endpoint]
        fragment = getattr(view, "openapi_fragment", None)
        if fragment is not None:
            for path, ops in fragment["paths"].items():
                paths.setdefault(path, {}).update(ops)
            schemas |= fragment["components"]["schemas"]
            schemes |= fragment["components"]["securitySchemes"]
        spec = getattr(view, "openapi", None)
        if spec is None:
            continue
        method, rule_text, doc = spec
        path, op = operation(method, rule_text, doc)
        paths.setdefault(path, {})[method.lower()] = op
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "stocksync admin API and plugin endpoint",
            "version": "1",
            "description": "Runs, sites, sources, the webhook log, stats and lifecycle "
            "event subscriptions. Authenticate with `Authorization: Bearer <ADMIN_TOKEN>`. "
            "Errors are `{error: {code, message}}`. The store plugin's endpoint "
            "(`POST /api/sync/webhook`, tag `plugin`) takes the site's API key instead and "
            "answers `{success, data}` or `{success: false, error: {code, message}}`.",
        },
        "servers": [{"url": "/"}],
        "security": [{"adminToken": []}],
        "paths": dict(sorted(paths.items())),
        "components": {"schemas": schemas, "securitySchemes": schemes},
    }


@openapi.get("/api/openapi.json")
def document() -> Response:
    return jsonify(build_document(current_app))
