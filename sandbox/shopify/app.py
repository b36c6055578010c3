"""The Shopify sandbox's app: the GraphQL Admin endpoint, token check, cost throttling.

`POST /admin/api/<version>/graphql.json` with `X-Shopify-Access-Token` answers the
operations in `sandbox.shopify.graphql`; the world lives in `sandbox.shopify.state`,
and its webhooks are signed by `sandbox.shopify.webhooks`. The expected token is the
account's `access_token` (`sandbox.accounts`).
"""

from __future__ import annotations

import hmac

from flask import Blueprint, Flask, Response, jsonify, request

from sandbox.accounts import credentials_for
from sandbox.app import make_app
from sandbox.base import SandboxConfig, SandboxState, current_state
from sandbox.shopify import order_routes
from sandbox.shopify.bulk import FILES_PREFIX
from sandbox.shopify.graphql import execute
from sandbox.shopify.state import ShopifyState

#: What one query costs under the request-count quota (`rate_limit`). A shop with a
#: `plan` prices each query instead (`sandbox.shopify.cost`).
QUERY_COST = 100.0

INVALID_TOKEN = "[API] Invalid API key or access token (unrecognized login or wrong password)"


def throttled(state: SandboxState, reset: float) -> Response:
    """Shopify's GraphQL throttle: 200, a THROTTLED error and the cost bucket's state.

    The shape (200, `extensions.cost` at the top level, `actualQueryCost` null) follows
    Shopify community answers; it is not in docs/platforms.md §5 (UNCONFIRMED). The bucket
    refills one query's cost per rate-limit window, so `(requested - available) /
    restoreRate` is exactly the `reset` seconds the limiter reports.
    """
    limit, window = state.config.rate_limit or (1, 1.0)
    restore_rate = QUERY_COST / window
    return jsonify(
        {
            "errors": [{"message": "Throttled", "extensions": {"code": "THROTTLED"}}],
            "extensions": {
                "cost": {
                    "requestedQueryCost": QUERY_COST,
                    "actualQueryCost": None,
                    "throttleStatus": {
                        "maximumAvailable": QUERY_COST * limit,
                        "currentlyAvailable": max(0.0, QUERY_COST - reset * restore_rate),
                        "restoreRate": restore_rate,
                    },
                }
            },
        }
    )


def server_error(status: int, message: str) -> Response:
    """Shopify's REST-style error body, `{"errors": "..."}`, which its HTTP-level
    failures use too (the 401 below; docs/platforms.md §5 records no 5xx body, UNCONFIRMED)."""
    response = jsonify({"errors": message})
    response.status_code = status
    return response


blueprint = Blueprint("shopify", __name__)


@blueprint.post("/admin/api/<version>/graphql.json")
def graphql(version: str) -> Response:
    # Every version gets 2026-04 behaviour (see sandbox.shopify.graphql).
    state = current_state(ShopifyState)
    expected = credentials_for("shopify", state.config.credentials)["access_token"]
    token = request.headers.get("X-Shopify-Access-Token", "")
    if not hmac.compare_digest(token.encode(), expected.encode()):
        return server_error(401, INVALID_TOKEN)
    return jsonify(execute(state, request.get_json(silent=True)))


@blueprint.get(f"{FILES_PREFIX}<token>.jsonl")
def bulk_file(token: str) -> Response:
    """A bulk operation's JSONL file, streamed: no access token, as Shopify's signed
    storage URL needs none; 403 once expired (the storage's exact answer UNCONFIRMED)."""
    state = current_state(ShopifyState)
    lines = state.bulk.file(state, token, state.clock.now())
    if lines is None:
        return Response(
            "<Error><Code>AccessDenied</Code><Message>Request has expired</Message></Error>",
            403,
            mimetype="application/xml",
        )
    return Response(lines, mimetype="application/jsonl")


def create_app(config: SandboxConfig) -> Flask:
    """The Shopify sandbox app; its state is `app.config["SANDBOX_STATE"]`."""
    app = make_app("shopify", ShopifyState(config), too_many=throttled, error=server_error)
    app.config["SANDBOX_UNMETERED"] = (FILES_PREFIX,)
    app.register_blueprint(blueprint)
    app.register_blueprint(order_routes.blueprint)
    return app
