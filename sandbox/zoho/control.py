"""The Zoho sandbox's own control routes: commit stock as a confirmed sales order does.

Under `/_sandbox/`, so never behind faults, the token or the organization check.
"""

from __future__ import annotations

from flask import Blueprint, Response, jsonify

from sandbox.base import current_state
from sandbox.control import CONTROL_PREFIX, apply_by_sku
from sandbox.zoho.state import ZohoState

blueprint = Blueprint("zoho_control", __name__, url_prefix=CONTROL_PREFIX)


@blueprint.post("/salesorders")
def post_sales_order() -> Response | tuple[Response, int]:
    """`{SKU: units}`: commit them (`ZohoState.commit`); an unknown SKU sets nothing."""
    state = current_state(ZohoState)
    return apply_by_sku(state, state.commit)


@blueprint.get("/available-for-sale")
def get_available_for_sale() -> Response:
    return jsonify(current_state(ZohoState).available_for_sale())
