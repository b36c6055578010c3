"""The Zoho Inventory sandbox's app: the accounts token endpoint, items, locations and
sales orders.

Every `/inventory/` call needs a live `Zoho-oauthtoken` and the organization's
`organization_id` (docs/platforms.md section 6); faults answer in Zoho's error shape.
"""

from __future__ import annotations

from flask import Flask, Response, request

from sandbox.app import make_app
from sandbox.base import SandboxConfig, SandboxState, current_state
from sandbox.zoho import control, items, location_api, oauth, salesorder_api
from sandbox.zoho.errors import zoho_error
from sandbox.zoho.state import ZohoState


def _fault(status: int, message: str) -> Response:
    return zoho_error(status, status, message)


def _too_many(state: SandboxState, reset: float) -> Response:
    # Whether Zoho sends Retry-After is UNCONFIRMED; the sandbox does, to exercise it.
    response = zoho_error(429, 429, "You have made too many requests. Try again later.")
    response.headers["Retry-After"] = str(max(1, round(reset)))
    return response


def require_token_and_organization() -> Response | None:
    """App-wide, not per blueprint: any `/inventory/` path, served or not, is checked."""
    if not request.path.startswith("/inventory/"):
        return None
    state = current_state(ZohoState)
    if not state.tokens.accepts(request.headers.get("Authorization", "")):
        return zoho_error(401, 57, "You are not authorized to perform this operation")
    if request.args.get("organization_id") != state.organization_id:
        return zoho_error(400, 6041, "This user is not associated with the organization.")
    return None


def create_app(config: SandboxConfig) -> Flask:
    """The Zoho sandbox; its state is `app.config["SANDBOX_STATE"]`."""
    app = make_app("zoho", ZohoState(config), _too_many, _fault)
    app.before_request(require_token_and_organization)
    app.register_blueprint(oauth.blueprint)
    app.register_blueprint(items.blueprint)
    app.register_blueprint(location_api.blueprint)
    app.register_blueprint(salesorder_api.blueprint)
    app.register_blueprint(control.blueprint)
    return app
