"""The Business Central sandbox's own control routes: import and ship sales orders, post
item journals and purchase receipts.

Under `/_sandbox/`, so never behind faults or the bearer check.

- `POST /_sandbox/salesorders` with `{"externalDocumentNumber": "<n>", "lines":
  {"<item number>": units}}`: an `Open` sales order; 201 `{"salesOrder": {...}}`, 400
  `{"unknown": [...]}` for item numbers the company lacks, 400 `{"error": ...}` for
  a malformed body.
- `POST /_sandbox/salesorders/<id>/ship`: post its whole shipment; 201
  `{"salesShipment": {...}}`, 404 for an unknown id, 409 once fully shipped
  (`sandbox.businesscentral.sales`).
- `POST /_sandbox/itemjournal?document=<n>` with `{"<item number>": units}`: post an
  item journal that sets those items' stock with adjustment ledger entries and notifies
  no one (`BusinessCentralState.post_journal`); 200 `{"changed": n}`, 400 as
  `/_sandbox/stock` answers.
- `POST /_sandbox/purchasereceipts?document=<n>` with `{"<item number>": units}`
  (units above 0): post a purchase receipt, `Purchase` ledger entries raising stock,
  notifying no one (`BusinessCentralState.receive`); 200 `{"changed": n}`, 400 as
  `/_sandbox/stock` answers or for units not above 0.
- `POST /_sandbox/app` with `{"api_permission": bool, "item_permission": bool}` (either
  or both): what the Entra app may do in BC (`BusinessCentralState.api_permission`).
"""

from __future__ import annotations

from flask import Blueprint, Response, jsonify, request

from sandbox.base import current_state
from sandbox.businesscentral.sales import Refused
from sandbox.businesscentral.state import BusinessCentralState
from sandbox.control import CONTROL_PREFIX, apply_by_sku

blueprint = Blueprint("businesscentral_control", __name__, url_prefix=CONTROL_PREFIX)


@blueprint.post("/salesorders")
def post_sales_order() -> tuple[Response, int]:
    body = request.get_json(force=True, silent=True)
    external = body.get("externalDocumentNumber") if isinstance(body, dict) else None
    lines = body.get("lines") if isinstance(body, dict) else None
    if (
        not isinstance(external, str)
        or not isinstance(lines, dict)
        or not all(isinstance(v, int) and not isinstance(v, bool) for v in lines.values())
    ):
        message = 'expected {"externalDocumentNumber": "..", "lines": {"<item number>": units}}'
        return jsonify({"error": message}), 400
    state = current_state(BusinessCentralState)
    with state.lock:
        unknown = sorted(set(lines) - state.known(lines))
        if unknown:
            return jsonify({"unknown": unknown}), 400
        return jsonify({"salesOrder": state.sales.import_order(external, lines)}), 201


@blueprint.post("/salesorders/<order_id>/ship")
def post_shipment(order_id: str) -> tuple[Response, int]:
    try:
        shipment = current_state(BusinessCentralState).sales.ship(order_id)
    except KeyError:
        return jsonify({"error": f"no sales order {order_id}"}), 404
    except Refused as exc:
        return jsonify({"error": str(exc)}), 409
    return jsonify({"salesShipment": shipment}), 201


@blueprint.post("/itemjournal")
def post_item_journal() -> Response | tuple[Response, int]:
    state = current_state(BusinessCentralState)
    document = request.args.get("document", "JOURNAL")
    return apply_by_sku(state, lambda changes: state.post_journal(changes, document))


@blueprint.post("/purchasereceipts")
def post_purchase_receipt() -> Response | tuple[Response, int]:
    state = current_state(BusinessCentralState)
    document = request.args.get("document", "RECEIPT")
    body = request.get_json(force=True, silent=True)
    if isinstance(body, dict) and any(isinstance(v, int) and v <= 0 for v in body.values()):
        return jsonify({"error": "a receipt's units are above 0"}), 400
    return apply_by_sku(state, lambda lines: state.receive(lines, document))


@blueprint.post("/app")
def post_app_permissions() -> tuple[Response, int]:
    body = request.get_json(force=True, silent=True)
    keys = ("api_permission", "item_permission")
    if (
        not isinstance(body, dict)
        or not body
        or not all(key in keys and isinstance(value, bool) for key, value in body.items())
    ):
        return jsonify({"error": f"expected a JSON object of {' and/or '.join(keys)}: bool"}), 400
    state = current_state(BusinessCentralState)
    with state.lock:
        for key, value in body.items():
            setattr(state, key, value)
        return jsonify({key: getattr(state, key) for key in keys}), 200
