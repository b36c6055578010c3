"""The Entra ID token endpoint the Business Central sandbox serves on its own host.

The client-credentials grant for the BC API scope (docs/platforms.md section 7), answered
with Entra's error shape and `AADSTS` codes; a connector reaches it through the
`token_url` of its stored credentials (`sandbox.accounts`).
"""

from __future__ import annotations

from flask import Blueprint, Response, jsonify, request

from sandbox.base import current_state
from sandbox.businesscentral.state import BusinessCentralState

SCOPE = "https://api.businesscentral.dynamics.com/.default"

blueprint = Blueprint("businesscentral_entra", __name__)


@blueprint.post("/<tenant>/oauth2/v2.0/token")
def token(tenant: str) -> tuple[Response, int] | Response:
    state = current_state(BusinessCentralState)
    form = request.form
    if form.get("grant_type") != "client_credentials":
        return _entra_error(400, "unsupported_grant_type", 70003)
    if form.get("client_id") != state.client_id:
        return _entra_error(400, "unauthorized_client", 700016)
    if form.get("client_secret") != state.client_secret:
        return _entra_error(401, "invalid_client", 7000215)
    if form.get("scope") != SCOPE:
        return _entra_error(400, "invalid_scope", 70011)
    return jsonify(
        token_type="Bearer",
        expires_in=3599,
        ext_expires_in=3599,
        access_token=state.tokens.mint(),
    )


def _entra_error(status: int, error: str, code: int) -> tuple[Response, int]:
    description = f"AADSTS{code}: {error.replace('_', ' ')}."
    return jsonify(error=error, error_description=description, error_codes=[code]), status
