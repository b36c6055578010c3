"""The Shopify sandbox's order control routes (never behind faults or the token):

- `POST /_sandbox/orders` `{"lines": [{"sku", "quantity"}]}` -> 201 `{"id", "name",
  "admin_graphql_api_id"}`;
- `POST /_sandbox/orders/<id>/cancel` `{"restock": bool}` (default false, as
  `orderCancel` requires the caller to choose);
- `POST /_sandbox/orders/<id>/refunds` `{"lines": [{"sku", "quantity",
  "restock_type"}]}` (`cancel`, `return` or `no_restock`) -> 201 `{"id"}`;
- `POST /_sandbox/orders/<id>/fulfil`: ships every unfulfilled unit;
- `GET /_sandbox/levels`: `{SKU: {"available", "committed", "on_hand"}}`.

A request the sandbox cannot play is a 400 and changes nothing
(`sandbox.order_requests`): unknown SKUs, more units than a line has left for that
restock type, a cancelled order cancelled or fulfilled again.
"""

from __future__ import annotations

from flask import Blueprint, Response, jsonify

from sandbox.base import current_state
from sandbox.control import CONTROL_PREFIX
from sandbox.order_requests import BadOrderRequest, bad_request, body, known_order, lines
from sandbox.shopify import order_flow
from sandbox.shopify.orders import RESTOCK_TYPES, Line, Order
from sandbox.shopify.state import ShopifyState

blueprint = Blueprint("shopify_order_control", __name__, url_prefix=CONTROL_PREFIX)
blueprint.register_error_handler(BadOrderRequest, bad_request)


def _state() -> ShopifyState:
    return current_state(ShopifyState)


@blueprint.get("/levels")
def get_levels() -> Response:
    return jsonify(_state().levels())


@blueprint.post("/orders")
def post_order() -> tuple[Response, int]:
    state = _state()
    rows = lines(body())
    with state.lock:
        found = [(state.index_of(row["sku"]), row["quantity"]) for row in rows]
        wanted = [(index, units) for index, units in found if index is not None]
        if len(wanted) < len(found):
            skus = {row["sku"] for row in rows}
            raise BadOrderRequest({"unknown": sorted(skus - state.known(skus))})
        order = order_flow.place(state, wanted)
    answer = {"id": order.id, "name": order.name}
    return jsonify(answer | {"admin_graphql_api_id": f"gid://shopify/Order/{order.id}"}), 201


@blueprint.post("/orders/<int:order_id>/cancel")
def post_cancel(order_id: int) -> Response:
    state, restock = _state(), body().get("restock", False)
    if not isinstance(restock, bool):
        raise BadOrderRequest({"error": "restock must be a boolean"})
    with state.lock:
        order_flow.cancel(state, _open_order(state, order_id), restock)
    return jsonify({"id": order_id})


@blueprint.post("/orders/<int:order_id>/refunds")
def post_refund(order_id: int) -> tuple[Response, int]:
    state, rows = _state(), lines(body(), "restock_type")
    with state.lock:
        order = known_order(state.orders.orders, order_id)
        refunded: list[tuple[Line, int, str]] = []
        for row in rows:
            line = order.line_for(row["sku"])
            if line is None or any(line is seen for seen, _, _ in refunded):
                raise BadOrderRequest({"error": f"{row['sku']}: not a line, or named twice"})
            if row["restock_type"] not in RESTOCK_TYPES:
                raise BadOrderRequest({"error": f"restock_type is one of {sorted(RESTOCK_TYPES)}"})
            if row["quantity"] > _refundable(order, line, row["restock_type"]):
                raise BadOrderRequest({"error": f"{row['sku']}: more units than the line has left"})
            refunded.append((line, row["quantity"], row["restock_type"]))
        order_flow.refund(state, order, refunded)
    return jsonify({"id": order.refunds[-1].id}), 201


@blueprint.post("/orders/<int:order_id>/fulfil")
def post_fulfil(order_id: int) -> Response:
    state = _state()
    with state.lock:
        order_flow.fulfil(state, _open_order(state, order_id))
    return jsonify({"id": order_id})


def _refundable(order: Order, line: Line, restock_type: str) -> int:
    """Units a refund of this type may take: `cancel` only unfulfilled ones, `return`
    only fulfilled ones not yet returned, any type no more than the line has left."""
    left = line.quantity - order.refunded(line)
    if restock_type == "cancel":
        return min(left, line.fulfillable)
    if restock_type == "return":
        returned = sum(
            r.quantity
            for refund in order.refunds
            for r in refund.lines
            if r.line is line and r.restock_type == "return"
        )
        return min(left, line.quantity - line.fulfillable - returned)
    return left


def _open_order(state: ShopifyState, order_id: int) -> Order:
    order = known_order(state.orders.orders, order_id)
    if order.cancelled_at:
        raise BadOrderRequest({"error": f"order {order_id} is cancelled"})
    return order
