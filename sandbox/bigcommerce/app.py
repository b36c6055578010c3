"""The BigCommerce sandbox's app: its V3 routes, quota headers and problem-shaped errors.

Routes live under `/stores/<store_hash>/v3/` (`sandbox.bigcommerce.routes`, and the
hooks in `sandbox.bigcommerce.hook_routes`), with the V2 order reads and the
`/_sandbox/orders` knobs in `sandbox.bigcommerce.order_routes`; the world they act on is
`sandbox.bigcommerce.state.BigCommerceState`.
"""

from __future__ import annotations

from flask import Flask, Response, request

from sandbox.app import make_app
from sandbox.base import SandboxConfig, SandboxState, current_state
from sandbox.bigcommerce.hook_routes import hooks
from sandbox.bigcommerce.order_routes import control as order_control
from sandbox.bigcommerce.order_routes import v2
from sandbox.bigcommerce.problems import Problem, problem_response, set_quota_headers
from sandbox.bigcommerce.routes import blueprint
from sandbox.bigcommerce.state import BigCommerceState
from sandbox.control import CONTROL_PREFIX


def too_many(state: SandboxState, reset: float) -> Response:
    """The 429: with the quota headers when the store's quota is spent; bare when it
    stands for platform-wide load, which clients must back off longer from (section 4)."""
    response = problem_response(429, "Too many requests")
    if state.limiter is not None:
        set_quota_headers(response, state.limiter, left=0, reset=reset)
    return response


def quota_headers(response: Response) -> Response:
    """Every platform response reports the quota (section 4). make_app's hook took this
    request's token already, so this reads the window without taking another."""
    limiter = current_state(BigCommerceState).limiter
    if (
        limiter is None
        or request.path.startswith(CONTROL_PREFIX)
        or "X-Rate-Limit-Requests-Left" in response.headers
    ):
        return response
    left, reset = limiter.peek()
    set_quota_headers(response, limiter, left=left, reset=reset)
    return response


def on_problem(exc: Problem) -> Response:
    return problem_response(exc.status, exc.title, exc.errors)


def on_not_found(_exc: Exception) -> Response:
    return problem_response(404, "The requested resource was not found")


def on_bad_method(_exc: Exception) -> Response:
    return problem_response(405, "Method not allowed")


def create_app(config: SandboxConfig) -> Flask:
    """The BigCommerce sandbox; its state is `app.config["SANDBOX_STATE"]`."""
    app = make_app(
        "bigcommerce", BigCommerceState(config), too_many=too_many, error=problem_response
    )
    # App-wide, not the blueprint's: unknown paths and injected faults answer like
    # BigCommerce too, quota headers included.
    app.after_request(quota_headers)
    app.register_error_handler(Problem, on_problem)
    app.register_error_handler(404, on_not_found)
    app.register_error_handler(405, on_bad_method)
    app.register_blueprint(blueprint)
    app.register_blueprint(hooks)
    app.register_blueprint(v2)
    app.register_blueprint(order_control)
    return app
