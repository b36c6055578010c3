"""The BigCommerce sandbox's `/stores/<store_hash>/v3/hooks` routes (Webhooks v3).

As `reference/webhooks.v3.yml` has them (docs/platforms.md section 3; rules in
`sandbox.bigcommerce.hook_rules`):

- `GET /hooks` -> `{data: [hook], meta: {pagination}}`, filters `is_active`, `scope`,
  `destination`, paged by `page` and `limit` (50 by default here; the reference gives
  neither a default nor a maximum);
- `POST /hooks` `{scope, destination, is_active, headers}` -> 200 `{data: hook, meta}`;
  `scope` and `destination` are required, the destination HTTPS on port 443;
- `GET /hooks/{id}`, `PUT /hooks/{id}` (at least one field; `is_active: true`
  re-activates a deactivated hook), `DELETE /hooks/{id}` (answers the deleted hook);
  an unknown id answers 404 "Webhook with id [{id}] not found".

Refusals are 422 `{status, title, type, errors: {field: message}}`. Behind the same
authentication, faults and quota as every V3 route; hooks need only the default scope.
"""

from __future__ import annotations

import math
from typing import Any

from flask import Blueprint, Response, jsonify, request

from sandbox.base import current_state, pages
from sandbox.bigcommerce.hook_rules import (
    MAX_PER_SCOPE,
    destination_problem,
    headers_problem,
    hook_json,
    reactivate,
    scope_problem,
)
from sandbox.bigcommerce.problems import Problem
from sandbox.bigcommerce.routes import DEFAULT_LIMIT, authenticate, int_arg
from sandbox.bigcommerce.state import BigCommerceState
from sandbox.hooks import Hook

#: The 422 title of the reference's example (`422_UnprocessableEntity`).
INVALID = "JSON data is missing or invalid"
FIELDS = ("scope", "destination", "is_active", "headers")

hooks = Blueprint("bigcommerce_hooks", __name__, url_prefix="/stores/<store_hash>/v3/hooks")
hooks.before_request(authenticate)


def _state() -> BigCommerceState:
    return current_state(BigCommerceState)


def _json(state: BigCommerceState, hook: Hook) -> dict[str, Any]:
    return hook_json(hook, client_id=state.client_id, store_hash=state.store_hash)


def _one(state: BigCommerceState, hook: Hook) -> Response:
    return jsonify({"data": _json(state, hook), "meta": {}})


@hooks.get("")
def list_hooks(store_hash: str) -> Response:
    state = _state()
    rows = sorted(state.hooks.all(), key=lambda hook: int(hook.id))
    active = request.args.get("is_active")
    if active is not None:
        rows = [hook for hook in rows if hook.active == (active.lower() == "true")]
    if "scope" in request.args:
        rows = [hook for hook in rows if hook.topic == request.args["scope"]]
    if "destination" in request.args:
        rows = [hook for hook in rows if hook.url == request.args["destination"]]
    page = int_arg("page", 1, low=1)
    limit = int_arg("limit", DEFAULT_LIMIT, low=1)
    with state.lock:
        data = [_json(state, hook) for hook in pages(rows, page, limit)]
    pagination = {
        "total": len(rows),
        "count": len(data),
        "per_page": limit,
        "current_page": page,
        "total_pages": math.ceil(len(rows) / limit),
        "links": {"current": f"?limit={limit}&page={page}"},
    }
    return jsonify({"data": data, "meta": {"pagination": pagination}})


@hooks.post("")
def create_hook(store_hash: str) -> Response:
    state = _state()
    body = _body()
    errors = {
        field: problem
        for field, problem in (
            ("scope", scope_problem(body.get("scope"))),
            ("destination", destination_problem(body.get("destination"))),
            ("headers", headers_problem(body.get("headers"))),
            ("is_active", _bool_problem(body.get("is_active", True))),
        )
        if problem is not None
    }
    if errors:
        raise Problem(422, INVALID, errors)
    scope, destination = body["scope"], body["destination"]
    with state.lock:
        same_scope = [hook for hook in state.hooks.all() if hook.topic == scope]
        if any(hook.url == destination for hook in same_scope):
            raise Problem(
                422, INVALID, {"destination": f"A webhook for {scope} to this destination exists"}
            )
        if len(same_scope) >= MAX_PER_SCOPE:
            raise Problem(422, INVALID, {"scope": f"At most {MAX_PER_SCOPE} webhooks per scope"})
        hook = state.hooks.add(scope, destination, None, headers=body.get("headers"))
        hook.active = body.get("is_active", True)
        return _one(state, hook)


@hooks.get("/<int:hook_id>")
def get_hook(store_hash: str, hook_id: int) -> Response:
    state = _state()
    with state.lock:
        return _one(state, _hook(state, hook_id))


@hooks.put("/<int:hook_id>")
def update_hook(store_hash: str, hook_id: int) -> Response:
    """Change the fields the body names; "at least one field is required"."""
    state = _state()
    body = _body()
    given = {field: body[field] for field in FIELDS if field in body}
    if not given:
        raise Problem(422, INVALID, {"body": "At least one field is required"})
    checks = {
        "scope": scope_problem,
        "destination": destination_problem,
        "headers": headers_problem,
        "is_active": _bool_problem,
    }
    errors = {
        field: problem
        for field, value in given.items()
        if (problem := checks[field](value)) is not None
    }
    if errors:
        raise Problem(422, INVALID, errors)
    with state.lock:
        hook = _hook(state, hook_id)
        hook.topic = given.get("scope", hook.topic)
        hook.url = given.get("destination", hook.url)
        if "headers" in given:
            hook.extra["headers"] = given["headers"]
        if given.get("is_active") is True:
            reactivate(hook)
        elif given.get("is_active") is False:
            hook.active = False
        state.hooks.touch(hook)
        return _one(state, hook)


@hooks.delete("/<int:hook_id>")
def delete_hook(store_hash: str, hook_id: int) -> Response:
    state = _state()
    with state.lock:
        hook = _hook(state, hook_id)
        state.hooks.remove(hook.id)
        return _one(state, hook)


def _hook(state: BigCommerceState, hook_id: int) -> Hook:
    hook = state.hooks.get(str(hook_id))
    if hook is None:
        raise Problem(404, f"Webhook with id [{hook_id}] not found")
    return hook


def _body() -> dict[str, Any]:
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        raise Problem(400, "Input is invalid.")
    return body


def _bool_problem(value: Any) -> str | None:
    return None if isinstance(value, bool) else "is_active must be a boolean"
