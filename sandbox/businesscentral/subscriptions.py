"""The Business Central sandbox's webhook subscriptions (docs/platforms.md section 7).

Create and renew both run the validation handshake against `notificationUrl`; a
subscription lasts 3 days, renewal needs `If-Match`, and `clientState` is echoed in
every notification (`BusinessCentralState.set_stock` sends them).
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from typing import Any

import requests
from flask import Blueprint, Response, jsonify, request

from sandbox.base import current_state
from sandbox.businesscentral.odata import API, context, etag, odata_error, timestamp
from sandbox.businesscentral.state import SUBSCRIPTION_LIFETIME, BusinessCentralState

blueprint = Blueprint("businesscentral_subscriptions", __name__, url_prefix=API)


@blueprint.post("/subscriptions")
def create_subscription(tenant: str, environment: str) -> Response:
    state = current_state(BusinessCentralState)
    body = request.get_json(silent=True) or {}
    resource = str(body.get("resource", "")).lstrip("/")
    if resource != f"api/v2.0/companies({state.company_id})/items":
        return odata_error(400, "BadRequest", f"The resource {resource!r} is not supported.")
    new = {"subscriptionId": uuid.uuid4().hex, "resource": f"/{resource}", "clientState": ""}
    response = _save_subscription(state, new, body)
    if response.status_code == 200:
        response.status_code = 201
    return response


@blueprint.get("/subscriptions")
def list_subscriptions(tenant: str, environment: str) -> Response:
    state = current_state(BusinessCentralState)
    with state.lock:
        value = [_with_etag(sub) for sub in state.subscriptions.values()]
    return jsonify({"@odata.context": context("subscriptions"), "value": value})


@blueprint.patch("/subscriptions('<sub_id>')")
def renew_subscription(tenant: str, environment: str, sub_id: str) -> Response:
    state = current_state(BusinessCentralState)
    with state.lock:
        current = state.subscriptions.get(sub_id)
    if current is None:
        return odata_error(404, "BadRequest_NotFound", "The subscription does not exist.")
    # Section 7 says renewal needs If-Match; the status for a missing or stale one is
    # UNCONFIRMED (400 and 412 here, the usual OData answers).
    if_match = request.headers.get("If-Match")
    if not if_match:
        return odata_error(400, "BadRequest", "The If-Match header is required.")
    if if_match not in ("*", etag(current)):
        return odata_error(412, "PreconditionFailed", "The subscription was changed.")
    return _save_subscription(state, current, request.get_json(silent=True) or {})


@blueprint.delete("/subscriptions('<sub_id>')")
def delete_subscription(tenant: str, environment: str, sub_id: str) -> Response:
    state = current_state(BusinessCentralState)
    with state.lock:
        removed = state.subscriptions.pop(sub_id, None)
    if removed is None:
        return odata_error(404, "BadRequest_NotFound", "The subscription does not exist.")
    return Response(status=204)


def _handshake(url: str) -> bool:
    """BC's validation call: the receiver must echo the token as a plain-text 200 (7)."""
    token = uuid.uuid4().hex
    separator = "&" if "?" in url else "?"
    try:
        answer = requests.post(f"{url}{separator}validationToken={token}", timeout=10)
    except requests.RequestException:
        # An unreachable receiver fails validation, exactly like a wrong answer.
        return False
    return answer.status_code == 200 and answer.text == token


def _save_subscription(
    state: BusinessCentralState, current: Mapping[str, Any], changes: Mapping[str, Any]
) -> Response:
    """Create or renew: both repeat the handshake, and a failed one changes nothing (7)."""
    url = str(changes.get("notificationUrl", current.get("notificationUrl", "")))
    if not _handshake(url):
        return odata_error(400, "BadRequest", f"Validation of notificationUrl {url!r} failed.")
    sub = {
        **current,
        "notificationUrl": url,
        "clientState": str(changes.get("clientState", current["clientState"])),
        "lastModifiedDateTime": timestamp(),
        "expirationDateTime": timestamp(SUBSCRIPTION_LIFETIME),
    }
    with state.lock:
        state.subscriptions[sub["subscriptionId"]] = sub
    return jsonify(_with_etag(sub))


def _with_etag(sub: Mapping[str, Any]) -> dict[str, Any]:
    return {"@odata.etag": etag(sub), **sub}
