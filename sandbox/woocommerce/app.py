"""The WooCommerce sandbox's app: its product, order and webhook routes, the API-key knob,
and WordPress's answers to faults.

Errors everywhere take WordPress's REST shape (`sandbox.woocommerce.errors`), including
an unknown route under the API and the host's 429s and 5xx.
"""

from __future__ import annotations

import math

from flask import Flask, Response, request
from werkzeug.exceptions import HTTPException

from sandbox.app import make_app
from sandbox.base import SandboxConfig, SandboxState
from sandbox.woocommerce import key_routes, order_routes, webhook_routes
from sandbox.woocommerce.errors import WcError
from sandbox.woocommerce.products import blueprint
from sandbox.woocommerce.state import API, WooCommerceState


def server_error(status: int, message: str) -> Response:
    """An injected 5xx or outage in WordPress's REST error shape.

    The code is the one WordPress's fatal-error handler answers REST requests with
    (UNCONFIRMED, not in docs/platforms.md); a real host may answer an HTML page instead.
    """
    return WcError("internal_server_error", message, status).response()


def too_many(state: SandboxState, reset: float) -> Response:
    """WC core has no rate limit (section 2, UNCONFIRMED); hosts answer 429 like this."""
    error = WcError(
        "woocommerce_rest_too_many_requests", "Too many requests. Please wait and retry.", 429
    )
    response = error.response()
    response.headers["Retry-After"] = str(max(1, math.ceil(reset)))
    return response


def wc_error(error: WcError) -> Response:
    return error.response()


def no_route(error: HTTPException) -> Response | HTTPException:
    """WordPress's `rest_no_route` for a path or method under the API it does not serve."""
    if not request.path.startswith(API) or error.code not in (404, 405):
        return error
    message = "No route was found matching the URL and request method."
    return WcError("rest_no_route", message, 404).response()


def create_app(config: SandboxConfig) -> Flask:
    """The store's Flask app; its state is `app.config["SANDBOX_STATE"]`."""
    app = make_app("woocommerce", WooCommerceState(config), too_many, server_error)
    app.register_error_handler(WcError, wc_error)
    app.register_error_handler(HTTPException, no_route)
    app.register_blueprint(blueprint)
    app.register_blueprint(order_routes.api)
    app.register_blueprint(order_routes.control)
    app.register_blueprint(webhook_routes.blueprint)
    app.register_blueprint(key_routes.blueprint)
    return app
