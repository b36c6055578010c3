"""The `/_sandbox/*` routes: the truth a test or the demo reads back, and the knobs.

Never behind faults, auth or quotas (see `sandbox.app.inject_faults`): a test must be
able to read the stock of, and heal, a sandbox it has made unhealthy.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict

from flask import Blueprint, Response, jsonify, request

from sandbox.base import SandboxState, current_state

CONTROL_PREFIX = "/_sandbox"

blueprint = Blueprint("sandbox_control", __name__, url_prefix=CONTROL_PREFIX)


@blueprint.get("/stock")
def get_stock() -> Response:
    return jsonify(current_state(SandboxState).stock())


@blueprint.post("/stock")
def post_stock() -> Response | tuple[Response, int]:
    """Set stock by SKU, as an order or an admin edit would: all of it or nothing.

    One rule for every sandbox: a SKU it does not hold is a mistake in the caller
    (a test or the demo), answered 400 with `{"unknown": [...]}`, and nothing is set.
    """
    state = current_state(SandboxState)
    return apply_by_sku(state, state.set_stock)


def apply_by_sku(
    state: SandboxState, apply: Callable[[dict[str, int]], None]
) -> Response | tuple[Response, int]:
    """Apply the request's `{SKU: integer}` with `apply`, all or nothing (`post_stock`)."""
    changes = request.get_json(force=True, silent=True)
    if not isinstance(changes, dict) or not all(
        isinstance(v, int) and not isinstance(v, bool) for v in changes.values()
    ):
        return jsonify({"error": "expected a JSON object of SKU: integer"}), 400
    with state.lock:
        # Held across both steps so no SKU can vanish between the check and the write.
        unknown = sorted(set(changes) - state.known(changes))
        if unknown:
            return jsonify({"unknown": unknown}), 400
        apply(changes)
    return jsonify({"changed": len(changes)})


@blueprint.get("/stats")
def get_stats() -> Response:
    state = current_state(SandboxState)
    with state.lock:
        writes = [asdict(w) for w in state.writes]
        return jsonify(
            {
                "calls": state.calls,
                "rejected_429": state.rejected_429,
                "write_calls": len(writes),
                "writes": writes,
                "webhooks_sent": state.webhooks.sent,
                "webhooks_failed": state.webhooks.failed,
                "routes": dict(state.route_calls),
                **state.platform_stats(),
            }
        )


@blueprint.post("/faults")
def post_faults() -> Response:
    state = current_state(SandboxState)
    changes = request.get_json(force=True)
    if "rate_limit" in changes and changes["rate_limit"] is not None:
        changes["rate_limit"] = tuple(changes["rate_limit"])
    state.set_faults(**changes)
    return jsonify(asdict(state.config) | {"credentials": "hidden", "webhook_secret": "hidden"})


@blueprint.post("/reset-stats")
def reset_stats() -> Response:
    state = current_state(SandboxState)
    with state.lock:
        state.writes.clear()
        state.route_calls.clear()
        state.calls = state.rejected_429 = 0
    return jsonify({"ok": True})


@blueprint.post("/clock")
def advance_clock() -> Response | tuple[Response, int]:
    """Move the platform's clock on by `{"advance": seconds}` and run what fell due
    (`SandboxState.clock_advanced`): days of a platform's life in one request."""
    state = current_state(SandboxState)
    body = request.get_json(force=True, silent=True)
    seconds = body.get("advance") if isinstance(body, dict) else None
    if not isinstance(seconds, int | float) or isinstance(seconds, bool) or seconds < 0:
        return jsonify({"error": 'expected {"advance": seconds >= 0}'}), 400
    now = state.clock.advance(seconds)
    with state.lock:
        state.clock_advanced()
    return jsonify({"now": now.isoformat()})
