"""The Business Central sandbox's webhook subscriptions (docs/platforms.md section 7;
`dynamics-subscriptions.md` and `api/dynamics_subscriptions_*.md` of
MicrosoftDocs/dynamics365smb-devitpro-pb).

- `POST subscriptions` `{notificationUrl, resource, clientState}`: the validation
  handshake first, then 201 with the subscription; at most `MAX_SUBSCRIPTIONS`.
- `GET subscriptions`: every subscription, each with `@odata.etag` and
  `expirationDateTime`.
- `PATCH subscriptions('<id>')` with `If-Match`: renews (3 days from now on the
  sandbox's clock, INFERRED from "valid for 3 days unless it is updated") after
  repeating the handshake; may change `notificationUrl` and `clientState`.
- `DELETE subscriptions('<id>')` with `If-Match`: 204.

A subscription lives on the sandbox's clock (`state.clock`); the handshake and every
notification go where `state.reach` maps the URL. What BC answers for a missing or stale
`If-Match`, for the 201st subscription or for a change of `resource` is UNCONFIRMED:
400 and 412 here, OData's usual answers.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from typing import Any

import requests
from flask import Blueprint, Response, jsonify, request

from sandbox.base import current_state
from sandbox.businesscentral.odata import API, context, etag, odata_error
from sandbox.businesscentral.state import (
    MAX_SUBSCRIPTIONS,
    SUBSCRIPTION_LIFETIME,
    BusinessCentralState,
    instant,
)
from sandbox.hooks import Hook

#: Seconds the subscriber has to answer the validation call: BC on-premises'
#: `ApiSubscriptionNotificationUrlTimeout` default, 5,000 ms (server-instance-settings.md).
HANDSHAKE_TIMEOUT = 5.0
#: Shown as every subscription's `userId`: the app's own user in BC.
_APP_USER = "00000000-0000-0000-0000-000000000001"

blueprint = Blueprint("businesscentral_subscriptions", __name__, url_prefix=API)


@blueprint.post("/subscriptions")
def create_subscription(tenant: str, environment: str) -> Response:
    state = current_state(BusinessCentralState)
    body = request.get_json(silent=True) or {}
    resource = str(body.get("resource", ""))
    if resource.lstrip("/") != state.items_resource:
        return odata_error(400, "BadRequest", f"The resource {resource!r} is not supported.")
    if len(state.hooks.all()) >= MAX_SUBSCRIPTIONS:
        message = f"The maximum number of subscriptions ({MAX_SUBSCRIPTIONS}) was reached."
        return odata_error(400, "BadRequest", message)
    url = str(body.get("notificationUrl", ""))
    if not _handshake(state, url):
        return _validation_failed(url)
    hook = state.hooks.add(
        state.items_resource,
        url,
        str(body.get("clientState", "")),
        hook_id=uuid.uuid4().hex,
        expires_at=state.clock.now() + SUBSCRIPTION_LIFETIME,
        resource=resource,
    )
    response = jsonify(_entity(hook))
    response.status_code = 201
    return response


@blueprint.get("/subscriptions")
def list_subscriptions(tenant: str, environment: str) -> Response:
    state = current_state(BusinessCentralState)
    value = [_entity(hook) for hook in state.hooks.all()]
    return jsonify({"@odata.context": context("subscriptions"), "value": value})


@blueprint.patch("/subscriptions('<sub_id>')")
def renew_subscription(tenant: str, environment: str, sub_id: str) -> Response:
    state = current_state(BusinessCentralState)
    hook = state.hooks.get(sub_id)
    if hook is None:
        return _not_found()
    refused = _precondition(hook)
    if refused is not None:
        return refused
    changes: Mapping[str, Any] = request.get_json(silent=True) or {}
    resource = changes.get("resource")
    if resource is not None and str(resource).lstrip("/") != hook.topic:
        return odata_error(400, "BadRequest", "The resource of a subscription cannot change.")
    url = str(changes.get("notificationUrl", hook.url))
    # The handshake runs outside every lock: it waits on the subscriber.
    if not _handshake(state, url):
        return _validation_failed(url)
    with state.lock:
        if state.hooks.get(sub_id) is not hook:
            return _not_found()  # deleted or expired while the handshake ran
        hook.url = url
        hook.secret = str(changes.get("clientState", hook.secret))
        hook.expires_at = state.clock.now() + SUBSCRIPTION_LIFETIME
        # A subscriber that just answered the handshake is reachable again: the sandbox
        # starts counting failures anew (its model; BC's docs say nothing either way).
        hook.failures, hook.failing_since = 0, None
        state.hooks.touch(hook)
        return jsonify(_entity(hook))


@blueprint.delete("/subscriptions('<sub_id>')")
def delete_subscription(tenant: str, environment: str, sub_id: str) -> Response:
    state = current_state(BusinessCentralState)
    hook = state.hooks.get(sub_id)
    if hook is None:
        return _not_found()
    refused = _precondition(hook)
    if refused is not None:
        return refused
    state.hooks.remove(sub_id)
    return Response(status=204)


def _precondition(hook: Hook) -> Response | None:
    """`If-Match` is required on PATCH and DELETE (the update and delete pages)."""
    if_match = request.headers.get("If-Match")
    if not if_match:
        return odata_error(400, "BadRequest", "The If-Match header is required.")
    if if_match not in ("*", etag(_fields(hook))):
        return odata_error(412, "PreconditionFailed", "The subscription was changed.")
    return None


def _handshake(state: BusinessCentralState, url: str) -> bool:
    """BC's validation call: the receiver must echo the token as a plain-text 200 (7).
    POST is the sandbox's choice: which method BC uses is UNCONFIRMED (section 7)."""
    token = uuid.uuid4().hex
    separator = "&" if "?" in url else "?"
    try:
        answer = requests.post(
            f"{state.reach(url)}{separator}validationToken={token}", timeout=HANDSHAKE_TIMEOUT
        )
    except requests.RequestException:
        # An unreachable receiver fails validation, exactly like a wrong answer.
        return False
    return answer.status_code == 200 and answer.text == token


def _validation_failed(url: str) -> Response:
    return odata_error(400, "BadRequest", f"Validation of notificationUrl {url!r} failed.")


def _not_found() -> Response:
    return odata_error(404, "BadRequest_NotFound", "The subscription does not exist.")


def _fields(hook: Hook) -> dict[str, Any]:
    """A subscription as BC lists it (the get page's fields, less the system ones)."""
    return {
        "subscriptionId": hook.id,
        "notificationUrl": hook.url,
        "resource": hook.extra.get("resource", f"/{hook.topic}"),
        "userId": _APP_USER,
        "lastModifiedDateTime": instant(hook.updated_at),
        "clientState": hook.secret or "",
        "expirationDateTime": instant(hook.expires_at),
    }


def _entity(hook: Hook) -> dict[str, Any]:
    fields = _fields(hook)
    return {"@odata.etag": etag(fields), **fields}
