"""`/wp-json/wc/v3/webhooks`: list, create, read, update and delete webhooks as WC does.

The REST controller `class-wc-rest-webhooks-v1-controller.php` (v3 = v2's view with
`date_*_gmt`) behind WordPress's dispatch (docs/platforms.md section 1;
`sandbox.woocommerce.hook_rules` for the webhook's own rules). The order of the checks is
WordPress's: the key (wrong secret, or a read-only key writing: 401, before anything
else), then the route's arguments (missing or ill-typed: 400), then the route's
permission (not logged in: 401; a user who may not manage WooCommerce: 403), then the
controller's own checks. WC's quirks kept:

- create ignores `status` (always `active`), sends the ping and ignores its answer;
- an unknown id is 400 `ID is invalid.` on GET and PUT, 404 `Invalid ID.` on DELETE;
- DELETE without `force=true` is 501 `woocommerce_rest_trash_not_supported`;
- the secret is never shown.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, g, jsonify, request

from sandbox.base import current_state
from sandbox.hooks import Hook
from sandbox.woocommerce import hook_rules
from sandbox.woocommerce.auth import ApiKey
from sandbox.woocommerce.errors import WcError, invalid_param
from sandbox.woocommerce.paging import int_arg, paged
from sandbox.woocommerce.state import API, WooCommerceState

blueprint = Blueprint("woocommerce_webhooks", __name__, url_prefix=API)

_INVALID_ID = ("woocommerce_rest_shop_webhook_invalid_id", "ID is invalid.", 400)
_INVALID_TOPIC = "woocommerce_rest_shop_webhook_invalid_topic"
_INVALID_URL = (
    "woocommerce_rest_shop_webhook_invalid_delivery_url",
    "Webhook delivery URL must be a valid URL starting with http:// or https://.",
    400,
)
_ORDERBY = ("date", "id", "title")
_STATUS_FILTER = ("all", *hook_rules.STATUSES)
_STRINGS = ("name", "status", "topic", "delivery_url", "secret")


def _state() -> WooCommerceState:
    return current_state(WooCommerceState)


def _api_root() -> str:
    return request.host_url.rstrip("/") + API


@blueprint.before_request
def authenticate() -> None:
    """The key first: a wrong secret or a key without the permission raises its 401."""
    g.wc_key = _state().auth.authenticate(request)


def _permit(code: str, message: str) -> None:
    """The route's permission callback, after its arguments were validated:
    `manage_woocommerce` needed; `rest_authorization_required_code()` is 401 for a
    caller not logged in, 403 for a user without the capability."""
    key: ApiKey | None = g.wc_key
    if key is None:
        raise WcError(code, message, 401)
    if not key.manager:
        raise WcError(code, message, 403)


def _params() -> dict[str, Any]:
    """WordPress's merged parameters: the JSON body over the query string."""
    params: dict[str, Any] = dict(request.args.items())
    if request.get_data():
        body = request.get_json(silent=True)
        if not isinstance(body, dict):
            raise WcError("rest_invalid_json", "Invalid JSON body passed.", 400)
        params.update(body)
    for name in _STRINGS:
        if name in params and not isinstance(params[name], str):
            raise invalid_param(name, f"{name} is not of type string.")
    status = params.get("status")
    if status is not None and status not in hook_rules.STATUSES:
        raise invalid_param("status", "status is not one of active, paused, and disabled.")
    return params


def _hook(state: WooCommerceState, webhook_id: int, error: tuple[str, str, int]) -> Hook:
    hook = state.hooks.get(str(webhook_id))
    if hook is None:
        raise WcError(*error)
    return hook


@blueprint.get("/webhooks")
def list_webhooks() -> Response:
    """Paged like every collection; newest first by default; `status` filters."""
    per_page = int_arg("per_page", 10, 1, 100)
    page = int_arg("page", 1, 1)
    order = request.args.get("order", "desc")
    if order not in ("asc", "desc"):
        raise invalid_param("order", "order is not one of asc and desc.")
    orderby = request.args.get("orderby", "date")
    if orderby not in _ORDERBY:
        raise invalid_param("orderby", "orderby is not one of date, id, and title.")
    status = request.args.get("status", "all")
    if status not in _STATUS_FILTER:
        raise invalid_param("status", "status is not one of all, active, paused, and disabled.")
    _permit("woocommerce_rest_cannot_view", "Sorry, you cannot list resources.")
    state = _state()
    with state.lock:
        hooks = [
            h for h in state.hooks.all() if status == "all" or hook_rules.status_of(h) == status
        ]

        def key(hook: Hook) -> Any:
            if orderby == "title":
                return (str(hook.extra["name"]), int(hook.id))
            if orderby == "date":
                return (hook.created_at, int(hook.id))
            return int(hook.id)

        hooks.sort(key=key, reverse=order == "desc")
        found = hooks[(page - 1) * per_page : page * per_page]
        rows = [hook_rules.webhook_json(h, _api_root()) for h in found]
    return paged(rows, len(hooks), page, per_page)


@blueprint.post("/webhooks")
def create_webhook() -> tuple[Response, int, dict[str, str]]:
    params = _params()
    missing = [name for name in ("topic", "delivery_url") if params.get(name) is None]
    if missing:
        raise WcError(
            "rest_missing_callback_param",
            f"Missing parameter(s): {', '.join(missing)}",
            400,
            params=missing,
        )
    _permit("woocommerce_rest_cannot_create", "Sorry, you are not allowed to create resources.")
    if params.get("id"):
        raise WcError(
            "woocommerce_rest_shop_webhook_exists", "Cannot create existing shop_webhook.", 400
        )
    topic, url = params["topic"], params["delivery_url"]
    if not topic or not hook_rules.valid_topic(topic):
        raise WcError(_INVALID_TOPIC, "Webhook topic is required and must be valid.", 400)
    if not url or not hook_rules.valid_url(url):
        raise WcError(*_INVALID_URL)
    state = _state()
    with state.lock:
        hook = state.hooks.add(
            topic,
            url,
            params.get("secret") or hook_rules.generated_secret(),
            hook_id=str(next(state.hook_ids)),
            name=params.get("name") or hook_rules.default_name(state.clock.now()),
            status="active",
            pending_delivery=True,
            modified=None,
        )
        hook_rules.set_status(hook, "active")
        body = hook_rules.webhook_json(hook, _api_root())
    # The answer is built before the ping, which WC sends and whose outcome it ignores.
    state.ping(hook)
    return jsonify(body), 201, {"Location": f"{_api_root()}/webhooks/{hook.id}"}


@blueprint.get("/webhooks/<int:webhook_id>")
def get_webhook(webhook_id: int) -> Response:
    _permit("woocommerce_rest_cannot_view", "Sorry, you cannot view this resource.")
    state = _state()
    with state.lock:
        return jsonify(hook_rules.webhook_json(_hook(state, webhook_id, _INVALID_ID), _api_root()))


@blueprint.route("/webhooks/<int:webhook_id>", methods=["POST", "PUT", "PATCH"])
def update_webhook(webhook_id: int) -> Response:
    """`update_item()`: each field given replaces the stored one; then one save, which
    pings when the webhook is active and its URL changed or its ping is pending."""
    params = _params()
    _permit("woocommerce_rest_cannot_edit", "Sorry, you are not allowed to edit this resource.")
    state = _state()
    with state.lock:
        hook = _hook(state, webhook_id, _INVALID_ID)
        topic, url = params.get("topic"), params.get("delivery_url")
        if topic and not hook_rules.valid_topic(topic):
            raise WcError(_INVALID_TOPIC, "Webhook topic must be valid.", 400)
        if url and not hook_rules.valid_url(url):
            raise WcError(*_INVALID_URL)
        moved = bool(url) and url != hook.url
        if topic:
            hook.topic = topic
        if url:
            hook.url = url
        if params.get("secret"):
            hook.secret = params["secret"]
        if params.get("status"):
            hook_rules.set_status(hook, params["status"])
        if params.get("name"):
            hook.extra["name"] = params["name"]
        hook.extra["modified"] = state.clock.now()
        state.hooks.touch(hook)
        ping = hook.active and (moved or bool(hook.extra["pending_delivery"]))
    if ping:
        state.ping(hook)
    with state.lock:
        return jsonify(hook_rules.webhook_json(hook, _api_root()))


@blueprint.delete("/webhooks/<int:webhook_id>")
def delete_webhook(webhook_id: int) -> Response:
    raw = request.args.get("force", "false")
    if raw not in ("true", "false", "1", "0", ""):
        raise invalid_param("force", "force is not of type boolean.")
    _permit("woocommerce_rest_cannot_delete", "Sorry, you are not allowed to delete this resource.")
    if raw not in ("true", "1"):
        raise WcError(
            "woocommerce_rest_trash_not_supported", "Webhooks do not support trashing.", 501
        )
    state = _state()
    with state.lock:
        hook = _hook(
            state, webhook_id, ("woocommerce_rest_shop_webhook_invalid_id", "Invalid ID.", 404)
        )
        body = hook_rules.webhook_json(hook, _api_root())
        state.hooks.remove(hook.id)
    return jsonify(body)
