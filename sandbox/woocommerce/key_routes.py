"""`POST /_sandbox/api-keys`: the merchant adds a REST API key, as under WooCommerce >
Settings > Advanced > REST API, with WC's permissions (`read`, `write`, `read_write`).

Body `{"consumer_key", "consumer_secret", "permissions"}` and, optionally,
`"manages_woocommerce": false` for a key of a user who is no administrator or shop
manager; answers 201 with the key and its permissions (never the secret). A test uses
it to try a read-only key (`sandbox.woocommerce.auth`). Like every `/_sandbox/*`
route, never behind faults or auth.
"""

from __future__ import annotations

from flask import Blueprint, Response, jsonify, request

from sandbox.base import current_state
from sandbox.control import CONTROL_PREFIX
from sandbox.woocommerce.auth import PERMISSIONS
from sandbox.woocommerce.state import WooCommerceState

blueprint = Blueprint("woocommerce_keys", __name__, url_prefix=CONTROL_PREFIX)


@blueprint.post("/api-keys")
def add_key() -> tuple[Response, int]:
    body = request.get_json(force=True, silent=True)
    fields = ("consumer_key", "consumer_secret", "permissions")
    if not isinstance(body, dict) or not all(isinstance(body.get(f), str) for f in fields):
        return jsonify({"error": f"expected strings {', '.join(fields)}"}), 400
    if body["permissions"] not in PERMISSIONS:
        return jsonify({"error": f"permissions must be one of {', '.join(PERMISSIONS)}"}), 400
    manager = body.get("manages_woocommerce", True)
    if not isinstance(manager, bool):
        return jsonify({"error": "manages_woocommerce must be a boolean"}), 400
    state = current_state(WooCommerceState)
    with state.lock:
        state.auth.add_key(
            body["consumer_key"], body["consumer_secret"], body["permissions"], manager=manager
        )
    return jsonify({"consumer_key": body["consumer_key"], "permissions": body["permissions"]}), 201
