"""The Zoho accounts server's token endpoint, served by the sandbox on its own host.

The refresh-token grant only; a connector reaches it through the `accounts_url` of its
stored credentials (`sandbox.accounts`). Bad credentials get HTTP 200 with an `error`,
as Zoho answers them (asciisd/zoho#6); the token limit gets a 400 (section 6).
"""

from __future__ import annotations

from flask import Blueprint, Response, jsonify, request

from sandbox.base import current_state
from sandbox.zoho.state import ZohoState

blueprint = Blueprint("zoho_oauth", __name__)


@blueprint.post("/oauth/v2/token")
def token() -> Response | tuple[Response, int]:
    state = current_state(ZohoState)
    # Zoho documents the parameters in the query string; clients also send a form.
    values = request.values
    if values.get("grant_type") != "refresh_token":
        return jsonify(error="unsupported_grant_type")
    # Zoho answers bad credentials with HTTP 200 and an `error` (asciisd/zoho#6).
    if (values.get("client_id"), values.get("client_secret")) != state.client:
        return jsonify(error="invalid_client")
    if values.get("refresh_token") != state.refresh_token:
        return jsonify(error="invalid_code")
    access_token = state.mint_token()
    if access_token is None:
        description = (
            "You have made too many requests continuously. Please try again after some time."
        )
        return jsonify(error="Access Denied", error_description=description), 400
    return jsonify(
        access_token=access_token,
        api_domain=request.url_root.rstrip("/"),
        token_type="Bearer",
        expires_in=3600,
        scope="ZohoInventory.items.READ",
    )
