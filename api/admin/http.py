"""How an admin route is declared: one decorator gives its path, checks and OpenAPI entry.

`endpoint(...)` registers the view and attaches its OpenAPI operation to it, so the
document (api/admin/openapi.py) is built from the routes themselves and cannot list a
route that does not exist, nor miss one. The same JSON Schemas check the request:
query values are converted by their declared type, bodies validated with `jsonschema`,
and anything PostgreSQL could not store (NUL characters, lone surrogates) refused up
front, since a database error on operator input would otherwise be a 500.
"""

from __future__ import annotations

import functools
import logging
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from flask import Blueprint, Response, jsonify, request
from jsonschema import Draft202012Validator
from jsonschema.exceptions import best_match
from werkzeug.routing import BaseConverter

from api import json_body
from api.admin.auth import require_admin
from api.admin.errors import BadRequest, HttpRefusal, TooLarge, status_of
from api.admin.messages import refusal
from api.request_body import read_body
from sync.encoding import dumps
from sync.errors import OUTAGES, Invalid, ServiceError

log = logging.getLogger(__name__)
_PATH_PARAM = re.compile(r"<(?:(\w+):)?(\w+)>")
#: A query integer: ASCII digits, optionally negative.
_INTEGER = re.compile(r"-?[0-9]+")


class IdConverter(BaseConverter):
    """`<id:name>`: a positive integer of at most 18 digits, so no path parameter can
    overflow a bigint in a query (2^63-1 has 19).

    Bounded by the pattern, not in `to_python`: a converter that refuses a value after
    its pattern matched made werkzeug answer 405 for a method whose rule refused it
    while another method's rule shares the path (DELETE on a 19-digit id, issue 21)."""

    regex = r"[1-9][0-9]{0,17}"

    def to_python(self, value: str) -> int:
        return int(value)

    def to_url(self, value: Any) -> str:
        return str(int(value))


@dataclass(frozen=True)
class Param:
    """A query parameter: its JSON Schema (type, bounds, enum) and what it means."""

    name: str
    schema: Mapping[str, Any]
    description: str = ""


@dataclass(frozen=True)
class Doc:
    """What the OpenAPI operation says beyond the path: filled in by `endpoint`."""

    summary: str
    tag: str
    query: Sequence[Param] = ()
    body: Mapping[str, Any] | None = None
    status: int = 200
    response: Mapping[str, Any] | None = None
    errors: Sequence[int] = ()
    description: str = ""


def error_response(status: int, code: str, message: str) -> tuple[Response, int]:
    """The one error shape of the admin API: `{"error": {"code", "message"}}`."""
    response = jsonify({"error": {"code": code, "message": message}})
    if status == 401:
        response.headers["WWW-Authenticate"] = 'Bearer realm="stocksync admin"'
    return response, status


def _refusal(error: HttpRefusal) -> tuple[Response, int]:
    response, status = error_response(error.status, error.code, error.message)
    response.headers.update(error.headers())
    return response, status


def _service_refusal(error: ServiceError) -> tuple[Response, int]:
    status, code = status_of(error)
    if status >= 500:
        # Our outage (the broker), logged as a database or Redis outage is.
        log.error("admin.service_unavailable", extra={"error": error.message})
    return error_response(status, code, error.message)


def _outage(error: Exception) -> tuple[Response, int]:
    log.error("admin.service_unavailable", extra={"error": type(error).__name__})
    return error_response(503, "unavailable", "PostgreSQL or Redis is unavailable")


def admin_blueprint(name: str) -> Blueprint:
    """A blueprint whose every route requires the admin token (or the dashboard session)
    and answers refusals and outages in the admin API's error shape."""
    blueprint = Blueprint(f"admin_{name}", __name__)
    blueprint.before_request(require_admin)
    blueprint.register_error_handler(HttpRefusal, _refusal)
    blueprint.register_error_handler(ServiceError, _service_refusal)
    for outage in OUTAGES:
        blueprint.register_error_handler(outage, _outage)
    return blueprint


def endpoint(
    blueprint: Blueprint,
    method: str,
    rule: str,
    doc: Doc,
    name: str | None = None,
) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Register `view` at `rule`; it gets path values, `query=` and `body=` if declared.

    The view returns a JSON-able value (answered with `doc.status`), None (204), or a
    `Response`. `name` is the endpoint name when one function serves several rules.
    """
    validator = Draft202012Validator(doc.body) if doc.body is not None else None
    optional = doc.body is not None and not doc.body.get("required")

    def decorate(view: Callable[..., Any]) -> Callable[..., Any]:
        @functools.wraps(view)
        def handle(**path: Any) -> Any:
            kwargs = dict(path)
            query = parse_query(doc.query)
            if doc.query:
                kwargs["query"] = query
            if validator is not None:
                kwargs["body"] = parse_body(validator, optional)
            result = view(**kwargs)
            if isinstance(result, Response):
                return result
            if result is None:
                return Response(status=204)
            return Response(dumps(result), status=doc.status, mimetype="application/json")

        handle.openapi = (method, rule, doc)  # type: ignore[attr-defined]
        blueprint.add_url_rule(rule, name or view.__name__, view_func=handle, methods=[method])
        return handle

    return decorate


def openapi_path(rule: str) -> tuple[str, list[str]]:
    """`/api/sites/<id:site_id>` -> (`/api/sites/{site_id}`, [`site_id`])."""
    names = [m.group(2) for m in _PATH_PARAM.finditer(rule)]
    return _PATH_PARAM.sub(lambda m: "{" + m.group(2) + "}", rule), names


def check_storable(value: Any, path: str = "body") -> None:
    """Refuse what PostgreSQL cannot store in text or JSONB: NUL and lone surrogates."""
    if isinstance(value, str):
        if "\x00" in value:
            raise Invalid(f"{path}: must not contain NUL characters")
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            raise Invalid(f"{path}: must be valid Unicode (no lone surrogates)") from None
    elif isinstance(value, dict):
        for key, item in value.items():
            check_storable(key, path)
            check_storable(item, f"{path}.{key}")
    elif isinstance(value, list):
        for index, item in enumerate(value):
            check_storable(item, f"{path}[{index}]")


def _convert(param: Param, raw: str) -> Any:
    kind = param.schema.get("type")
    if kind == "integer":
        # int() also reads " 5", "1_0", "+5" and other scripts' digits ("\u0661" is 1);
        # and refuses over 4,300 digits.
        if _INTEGER.fullmatch(raw) is None or len(raw) > 20:
            raise BadRequest(f"{param.name}: expected an integer, got {raw[:40]!r}")
        return int(raw)
    if kind == "boolean":
        if raw.lower() not in ("true", "false", "1", "0"):
            raise BadRequest(f"{param.name}: expected true or false")
        return raw.lower() in ("true", "1")
    if param.schema.get("format") == "date-time":
        try:
            moment = datetime.fromisoformat(raw)
            # In UTC: PostgreSQL refuses offsets past +-15:59, which ISO 8601 allows.
            return moment.astimezone(UTC) if moment.tzinfo else moment.replace(tzinfo=UTC)
        except (ValueError, OverflowError):
            raise BadRequest(f"{param.name}: expected an ISO 8601 date-time") from None
    check_storable(raw, param.name)
    return raw


def parse_query(params: Sequence[Param]) -> dict[str, Any]:
    """The declared query parameters, converted and checked; absent ones get defaults.

    An unknown parameter is refused rather than ignored: `?state=failed` for
    `?status=failed` would otherwise quietly list everything.
    """
    unknown = sorted(set(request.args) - {param.name for param in params})
    if unknown:
        raise BadRequest(f"unknown query parameter {unknown[0][:40]!r}")
    values: dict[str, Any] = {}
    for param in params:
        raw = request.args.get(param.name)
        if raw is None or raw == "":
            values[param.name] = param.schema.get("default")
            continue
        value = _convert(param, raw)
        if isinstance(value, datetime):  # checked by parsing it
            values[param.name] = value
            continue
        error = best_match(Draft202012Validator(param.schema).iter_errors(value))
        if error is not None:
            raise Invalid(f"{param.name}: {error.message[:300]}")
        values[param.name] = value
    return values


def parse_body(validator: Draft202012Validator, optional: bool) -> dict[str, Any]:
    """The JSON object body, checked; an empty body stands for `{}` if `optional`."""
    limit = request.max_content_length or 0
    raw = read_body(request.environ, limit)
    if raw is None:
        raise TooLarge(f"the body is larger than {limit} bytes")
    if optional and not raw:
        return {}
    if not request.is_json:
        raise BadRequest("expected a JSON object body (Content-Type: application/json)")
    try:
        body = json_body.load(raw)
    except json_body.NotJson as exc:
        raise BadRequest(str(exc)) from None
    if not isinstance(body, dict):
        raise BadRequest("expected a JSON object body (Content-Type: application/json)")
    check_storable(body)
    error = best_match(validator.iter_errors(body))
    if error is not None:
        raise Invalid(refusal(error, validator.schema))
    return body


def page_params(default_limit: int = 50, max_limit: int = 200) -> list[Param]:
    """`limit` and `offset`, shared by every list route."""
    return [
        Param(
            "limit",
            {"type": "integer", "minimum": 1, "maximum": max_limit, "default": default_limit},
            "Rows per page.",
        ),
        Param(
            "offset",
            {"type": "integer", "minimum": 0, "maximum": 1_000_000, "default": 0},
            "Rows to skip.",
        ),
    ]
