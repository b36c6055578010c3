"""The Zoho sandbox's own control routes: sales orders and the stock they move, and
inventory adjustments.

Under `/_sandbox/`, so never behind faults, the token or the organization check.

- `POST /_sandbox/salesorders?reference_number=<n>&status=draft|confirmed&location_id=`
  with `{SKU: units}`: raise a sales order (default `confirmed`, no reference number,
  the primary warehouse); 201 `{"salesorder": {...}}`, 400 `{"unknown": [...]}` for
  SKUs the sandbox lacks, 400 `{"error": ...}` for an unknown location.
- `POST /_sandbox/inventoryadjustments` with `{SKU: units}`: an inventory adjustment
  setting stock on hand, with no webhook (`ZohoState.post_adjustment`); 200
  `{"changed": n}`, 400 as `/_sandbox/stock` answers.
- `POST /_sandbox/workflows` with `{"stock_moved": [module, ...]}` (`invoices`,
  `shipments`, `inventoryadjustments`): workflow rules on those modules whose webhook
  tells stocksync stock moved (`ZohoState.document_saved`); `[]` removes them.
- `POST /_sandbox/salesorders/<salesorder_id>/<step>`, step `confirm`, `void`,
  `invoice` or `ship`: 200 `{"salesorder": {...}}`, 404 for an unknown id, 409
  `{"error": ...}` for a step the order cannot take (`sandbox.zoho.salesorders`).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask import Blueprint, Response, jsonify, request

from sandbox.base import current_state
from sandbox.control import CONTROL_PREFIX, apply_by_sku
from sandbox.zoho.salesorders import Refused, SalesOrders
from sandbox.zoho.state import ZohoState
from sandbox.zoho.stock import PRIMARY

blueprint = Blueprint("zoho_control", __name__, url_prefix=CONTROL_PREFIX)

#: The steps of a sales order's life a test or the demo can take.
STEPS: dict[str, Callable[[SalesOrders, str], dict[str, Any]]] = {
    "confirm": SalesOrders.confirm,
    "void": SalesOrders.void,
    "invoice": SalesOrders.invoice,
    "ship": SalesOrders.ship,
}


@blueprint.post("/salesorders")
def post_sales_order() -> Response | tuple[Response, int]:
    """`{SKU: units}` as a new sales order; an unknown SKU raises nothing."""
    state = current_state(ZohoState)
    reference = request.args.get("reference_number", "")
    status = request.args.get("status", "confirmed")
    location_id = request.args.get("location_id", PRIMARY)
    raised: list[dict[str, Any]] = []

    def raise_order(lines: dict[str, int]) -> None:
        raised.append(state.sales_orders.raise_order(lines, reference, status, location_id))

    try:
        answer = apply_by_sku(state, raise_order)
    except Refused as exc:
        return jsonify({"error": str(exc)}), 400
    return (jsonify({"salesorder": raised[0]}), 201) if raised else answer


@blueprint.post("/inventoryadjustments")
def post_inventory_adjustment() -> Response | tuple[Response, int]:
    state = current_state(ZohoState)
    return apply_by_sku(state, state.post_adjustment)


#: The modules `/_sandbox/workflows` takes: those whose documents move stock.
STOCK_MODULES = frozenset({"invoices", "shipments", "inventoryadjustments"})


@blueprint.post("/workflows")
def post_workflows() -> Response | tuple[Response, int]:
    body = request.get_json(force=True, silent=True)
    modules = body.get("stock_moved") if isinstance(body, dict) else None
    if not isinstance(modules, list) or not all(
        isinstance(m, str) and m in STOCK_MODULES for m in modules
    ):
        return jsonify(
            {"error": f"expected {{'stock_moved': [some of {sorted(STOCK_MODULES)}]}}"}
        ), 400
    state = current_state(ZohoState)
    with state.lock:
        state.stock_rules = frozenset(modules)
    return jsonify({"stock_moved": sorted(state.stock_rules)})


@blueprint.post("/salesorders/<salesorder_id>/<step>")
def post_step(salesorder_id: str, step: str) -> Response | tuple[Response, int]:
    take = STEPS.get(step)
    if take is None:
        return jsonify({"error": f"no step {step!r}; one of {sorted(STEPS)}"}), 404
    try:
        order = take(current_state(ZohoState).sales_orders, salesorder_id)
    except KeyError:
        return jsonify({"error": f"no sales order {salesorder_id}"}), 404
    except Refused as exc:
        return jsonify({"error": str(exc)}), 409
    return jsonify({"salesorder": order})


@blueprint.get("/available-for-sale")
def get_available_for_sale() -> Response:
    return jsonify(current_state(ZohoState).available_for_sale())
