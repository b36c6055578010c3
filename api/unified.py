"""`POST /api/sync/webhook`: the store plugin pushes orders, products, customers and
categories (sync/unified.py writes them).

Guards in order of cost: the API key's header, its lookup, the body's size, the body's
checks (api/unified_schema.py), then the write. Every refusal has the one error shape
and its own log event; our outage is a 503 so the plugin retries, our bug a 500.

The records always go to the key's site: nothing in the body can name another one.
"""

from __future__ import annotations

import logging
from typing import Any

from flask import Blueprint, Response, jsonify, request
from sqlalchemy.exc import DataError, DBAPIError, InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeoutError
from werkzeug.exceptions import InternalServerError

from api.bearer import bearer_token
from api.request_body import read_body
from api.resources import context
from api.unified_doc import FRAGMENT
from api.unified_schema import Invalid, parse_body
from sync.api_keys import find_key_owner
from sync.unified import record

log = logging.getLogger(__name__)
unified = Blueprint("unified", __name__)


def _refuse(status: int, code: str, message: str, event: str, **extra: Any) -> Response:
    """The one error shape, logged under its own event name."""
    log.warning(event, extra={"status": status, "code": code, "detail": message, **extra})
    response = jsonify({"success": False, "error": {"code": code, "message": message}})
    response.status_code = status
    if status == 401:
        response.headers["WWW-Authenticate"] = 'Bearer realm="stocksync"'
    return response


@unified.post("/api/sync/webhook")
def sync_webhook() -> Response:
    ctx = context()
    key = bearer_token(request.headers.get("Authorization"))
    if key is None:
        return _refuse(
            401, "UNAUTHORIZED", "send Authorization: Bearer <api key>", "unified.no_key"
        )
    # A short session of its own: no connection is held while the body arrives.
    with ctx.sessions() as session:
        owner = find_key_owner(session, key)
    if owner is None:
        return _refuse(401, "UNAUTHORIZED", "unknown API key", "unified.unknown_key")
    if not owner.active:
        return _refuse(
            403, "FORBIDDEN", "the site is inactive", "unified.site_inactive", site_id=owner.site_id
        )
    limit = ctx.settings.max_webhook_body_bytes
    raw = read_body(request.environ, limit)
    if raw is None:
        message = f"the body is larger than {limit} bytes"
        return _refuse(
            413, "PAYLOAD_TOO_LARGE", message, "unified.too_large", site_id=owner.site_id
        )
    try:
        body = parse_body(raw)
    except Invalid as error:
        return _refuse(
            400, "VALIDATION_ERROR", str(error), "unified.invalid", site_id=owner.site_id
        )
    data = record(ctx, owner.site_id, body.resource, body.entries)
    return jsonify({"success": True, "data": data})


sync_webhook.openapi_fragment = FRAGMENT  # type: ignore[attr-defined]


@unified.errorhandler(DBAPIError)
@unified.errorhandler(PoolTimeoutError)
def database_error(error: Exception) -> Response:
    """Our outage is 503, so the plugin retries; a value PostgreSQL refuses that the
    schema let through is still the sender's, 400. Anything else is our bug: re-raise."""
    if isinstance(error, DataError):
        message, cause = "a value cannot be stored", type(error.orig).__name__
        return _refuse(400, "VALIDATION_ERROR", message, "unified.data_error", cause=cause)
    outage = isinstance(error, OperationalError | InterfaceError | PoolTimeoutError)
    if outage or (isinstance(error, DBAPIError) and error.connection_invalidated):
        return _refuse(503, "UNAVAILABLE", "the database is unavailable", "unified.db_unavailable")
    raise error


@unified.errorhandler(InternalServerError)
def internal_error(error: InternalServerError) -> Response:
    """Our bug, in the one shape, so the plugin can read it (Flask has logged the
    exception already); nothing of it is in the answer."""
    response = jsonify(
        {"success": False, "error": {"code": "INTERNAL_ERROR", "message": "an internal error"}}
    )
    response.status_code = 500
    return response
