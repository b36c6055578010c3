"""The Flask side every sandbox shares: fault injection and the `/_sandbox/*` routes.

A platform package calls `make_app(name, state, too_many, error)` and registers its own
blueprint. Faults apply to platform routes only, never to `/_sandbox/*`, so a test can
always read back the truth and change the settings of a sandbox it has made unhealthy.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable

from flask import Flask, Response, current_app, jsonify, request

from sandbox.base import SandboxState, current_state
from sandbox.control import CONTROL_PREFIX, blueprint

#: The platform's 429: (state, seconds until the quota resets) -> response.
TooMany = Callable[[SandboxState, float], Response]
#: The platform's error response for a status and a message, in its own error shape.
ErrorResponse = Callable[[int, str], Response]


def default_too_many(state: SandboxState, reset: float) -> Response:
    response = jsonify({"message": "Too Many Requests"})
    response.status_code = 429
    response.headers["Retry-After"] = str(max(1, round(reset)))
    return response


def default_error(status: int, message: str) -> Response:
    return Response(json.dumps({"message": message}), status, mimetype="application/json")


def make_app(
    name: str,
    state: SandboxState,
    too_many: TooMany = default_too_many,
    error: ErrorResponse = default_error,
) -> Flask:
    """A Flask app with the shared fault injection and `/_sandbox/*` control routes.

    `too_many` answers the quota's and injected 429s; `error` answers injected 5xx and
    outages, so a connector parses its platform's real error shape in every fault.
    Fault injection is the app's first `before_request` hook: a platform's own hooks
    (authentication) run after it, as a platform's edge answers before its API does.
    """
    app = Flask(f"sandbox.{name}")
    app.config["SANDBOX_STATE"] = state
    app.config["SANDBOX_TOO_MANY"] = too_many
    app.config["SANDBOX_ERROR"] = error
    #: Path prefixes served by another service than the platform's API (Shopify's bulk
    #: files, on signed storage URLs): counted, but outside its quota and faults.
    app.config["SANDBOX_UNMETERED"] = ()
    app.before_request(inject_faults)
    app.register_blueprint(blueprint)
    return app


def inject_faults() -> Response | None:
    """Latency, outage, the quota and the configured shares of 429s and 5xx."""
    if request.path.startswith(CONTROL_PREFIX):
        return None
    state = current_state(SandboxState)
    too_many: TooMany = current_app.config["SANDBOX_TOO_MANY"]
    error: ErrorResponse = current_app.config["SANDBOX_ERROR"]
    config = state.config
    rule = request.url_rule.rule if request.url_rule is not None else "(no route)"
    with state.lock:
        state.calls += 1
        state.route_calls[f"{request.method} {rule}"] += 1
        roll = state.random.random()
    if request.path.startswith(current_app.config["SANDBOX_UNMETERED"]):
        return None
    if config.latency_ms:
        time.sleep(config.latency_ms / 1000)
    if config.outage:
        return error(503, "sandbox outage")
    if state.limiter is not None:
        allowed, _left, reset = state.limiter.take()
        if not allowed:
            with state.lock:
                state.rejected_429 += 1
            return too_many(state, reset)
    if roll < config.share_429:
        with state.lock:
            state.rejected_429 += 1
        return too_many(state, 1.0)
    if roll < config.share_429 + config.share_5xx:
        return error(503, "injected server error")
    return None
