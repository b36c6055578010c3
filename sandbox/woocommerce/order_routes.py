"""The WooCommerce sandbox's order routes: the REST v3 reads a connector makes, and the
`/_sandbox/orders` knobs a test or the demo uses to play a shopper or the merchant.

Control routes (never behind faults or auth, like every `/_sandbox/*` route):

- `POST /_sandbox/orders` `{"lines": [{"sku", "quantity"}], "status": "processing"}`
  -> 201 `{"id", "number"}`;
- `POST /_sandbox/orders/<id>/status` `{"status"}`;
- `POST /_sandbox/orders/<id>/refunds` `{"lines": [{"sku", "quantity"}], "restock": true}`
  (`restock` defaults to true, as `api_restock` does on `/wc/v3/orders/<id>/refunds`).

A mistake in the caller is a 400 and changes nothing (`sandbox.order_requests`).
"""

from __future__ import annotations

from flask import Blueprint, Response, jsonify, request

from sandbox.base import current_state
from sandbox.control import CONTROL_PREFIX
from sandbox.order_requests import BadOrderRequest, bad_request, body, known_order, lines
from sandbox.woocommerce.errors import WcError
from sandbox.woocommerce.orders import Line, Order, order_json, refund_json
from sandbox.woocommerce.paging import paged, paging
from sandbox.woocommerce.state import API, WooCommerceState

api = Blueprint("woocommerce_orders", __name__, url_prefix=API)
control = Blueprint("woocommerce_order_control", __name__, url_prefix=CONTROL_PREFIX)


control.register_error_handler(BadOrderRequest, bad_request)


def _state() -> WooCommerceState:
    return current_state(WooCommerceState)


@api.before_request
def authenticate() -> Response | None:
    """Orders are read with the same keys as products (section 2)."""
    if _state().auth.authenticate(request):
        return None
    message = "Sorry, you cannot view this resource."
    return WcError("woocommerce_rest_cannot_view", message, 401).response()


@api.get("/orders/<int:order_id>")
def get_order(order_id: int) -> Response:
    state = _state()
    with state.lock:
        return jsonify(order_json(_order(state, order_id)))


@api.get("/orders/<int:order_id>/refunds")
def list_refunds(order_id: int) -> Response:
    """Newest first, WordPress's default order, paged like every collection."""
    state, (page, per_page, descending) = _state(), paging()
    with state.lock:
        refunds = list(_order(state, order_id).refunds)
        if descending:
            refunds.reverse()
        rows = [refund_json(r) for r in refunds[(page - 1) * per_page : page * per_page]]
    return paged(rows, len(refunds), page, per_page)


@control.post("/orders")
def post_order() -> tuple[Response, int]:
    state, found = _state(), body()
    status = _status(found.get("status", "processing"))
    pairs = [(row["sku"], row["quantity"]) for row in lines(found)]
    with state.lock:
        products = [(state.catalog.sellable_by_sku(sku), quantity) for sku, quantity in pairs]
        wanted = [(product, quantity) for product, quantity in products if product is not None]
        if len(wanted) < len(products):
            skus = {sku for sku, _ in pairs}
            raise BadOrderRequest({"unknown": sorted(skus - state.known(skus))})
    order = state.place_order(wanted, status)
    return jsonify({"id": order.id, "number": str(order.id)}), 201


@control.post("/orders/<int:order_id>/status")
def post_status(order_id: int) -> Response:
    state, found = _state(), body()
    status = _status(found.get("status"))
    with state.lock:
        order = known_order(state.orders.orders, order_id)
    state.set_order_status(order, status)
    return jsonify({"id": order.id, "status": status})


@control.post("/orders/<int:order_id>/refunds")
def post_refund(order_id: int) -> tuple[Response, int]:
    """Refund units of the order's lines, at most what each has left to refund."""
    state, found = _state(), body()
    restock = found.get("restock", True)
    if not isinstance(restock, bool):
        raise BadOrderRequest({"error": "restock must be a boolean"})
    with state.lock:
        order = known_order(state.orders.orders, order_id)
        by_sku = {line.product.sku: line for line in order.lines}
        refunded: list[tuple[Line, int]] = []
        for row in lines(found):
            sku, quantity = row["sku"], row["quantity"]
            line = by_sku.get(sku)
            if line is None:
                raise BadOrderRequest({"unknown": [sku]})
            asked = quantity + sum(q for ln, q in refunded if ln is line)
            if order.refunded(line) + asked > line.quantity:
                raise BadOrderRequest({"error": f"{sku}: more units than the order has left"})
            refunded.append((line, quantity))
    state.refund_order(order, refunded, restock)
    return jsonify({"id": order.refunds[-1].id}), 201


def _order(state: WooCommerceState, order_id: int) -> Order:
    order = state.orders.orders.get(order_id)
    if order is None:
        raise WcError("woocommerce_rest_shop_order_invalid_id", "Invalid ID.", 404)
    return order


def _status(status: object) -> str:
    """Any non-empty status: plugins add their own, which move no stock (section 1)."""
    if not isinstance(status, str) or not status:
        raise BadOrderRequest({"error": "status must be a non-empty string"})
    return status
