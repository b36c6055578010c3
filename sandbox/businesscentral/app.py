"""The Business Central sandbox's app: Entra ID tokens, the v2.0 API (items, item
ledger entries, sales documents, subscriptions), OData errors, and its control routes.

Every `/v2.0/` call needs a live bearer token from the sandbox's own token endpoint
(`entra`); faults answer in OData's error shape with BC's codes (docs/platforms.md section 7).
"""

from __future__ import annotations

from flask import Flask, Response, request

from sandbox.app import make_app
from sandbox.base import SandboxConfig, SandboxState, current_state
from sandbox.businesscentral import (
    control,
    entra,
    items,
    ledger_api,
    sales_api,
    subscriptions,
)
from sandbox.businesscentral.odata import odata_error
from sandbox.businesscentral.state import BusinessCentralState


def _fault(status: int, message: str) -> Response:
    return odata_error(status, "ServiceUnavailable", message)


def _too_many(state: SandboxState, reset: float) -> Response:
    response = odata_error(429, "Application_TooManyRequests", "Too many requests.")
    response.headers["Retry-After"] = str(max(1, round(reset)))
    return response


def require_bearer() -> Response | None:
    """App-wide, not per blueprint: any `/v2.0/` path, served or not, needs a token."""
    api_call = request.path.startswith("/v2.0/")
    state = current_state(BusinessCentralState)
    accepted = state.tokens.accepts(request.headers.get("Authorization", ""))
    # An app without the API permission gets tokens from Entra that BC then refuses with
    # the same answer as a bad token (`Authentication_InvalidCredentials`; the S2S page).
    if not api_call or (accepted and state.api_permission):
        return None
    response = odata_error(
        401,
        "Authentication_InvalidCredentials",
        "The server has rejected the client credentials.",
    )
    response.headers["WWW-Authenticate"] = 'Bearer realm="", error="invalid_token"'
    return response


def create_app(config: SandboxConfig) -> Flask:
    """The Business Central sandbox; its state is `app.config["SANDBOX_STATE"]`."""
    app = make_app("businesscentral", BusinessCentralState(config), _too_many, _fault)
    app.before_request(require_bearer)
    for module in (entra, items, ledger_api, sales_api, subscriptions, control):
        app.register_blueprint(module.blueprint)
    return app
