"""The BigCommerce sandbox's order routes: the V2 reads and the `/_sandbox/orders` knobs.

V2 (`/stores/<store_hash>/v2/`, `reference/orders.v2.oas2.yml`, docs/platforms.md
section 4): `GET /orders` (for a scope check), `GET /orders/{id}` and
`GET /orders/{id}/products`, behind the same authentication, faults and quota as the V3
routes. V2 answers bare JSON arrays and
objects, not V3's `{data, meta}`, and its errors are `[{"status", "message"}]`.
Modelled (UNCONFIRMED): a page of products past the last answers 204 with no body, as
V2 collections are widely reported to; `limit` over 250 is refused with 422 as V3 does.

Control (never behind auth, faults or quota, like every `/_sandbox/*` route):

- `POST /_sandbox/orders` `{"lines": [{"sku", "quantity"}], "status_id": 11}` -> 201
  `{"id", "status_id"}` (`status_id` defaults to 11 Awaiting Fulfillment);
- `POST /_sandbox/orders/<id>/status` `{"status_id"}` -> 200 `{"id", "status_id"}`;
- `POST /_sandbox/orders/<id>/refunds` `{"lines": [{"sku", "quantity"}]}` -> 201
  `{"id", "status_id"}`.

A malformed body or unknown SKU is 400 `{"error"}`, an unknown order 404 `{"error"}`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeGuard

from flask import Blueprint, Response, jsonify, request

from sandbox.base import current_state, pages
from sandbox.bigcommerce.order_desk import OrderRefused, UnknownOrder
from sandbox.bigcommerce.orders import STATUS_NAMES, Order, line_json, order_json
from sandbox.bigcommerce.routes import DEFAULT_LIMIT, MAX_LIMIT, authenticate, int_arg
from sandbox.bigcommerce.state import BigCommerceState
from sandbox.control import CONTROL_PREFIX

#: The status a control-route order gets when the request names none.
DEFAULT_STATUS = 11

v2 = Blueprint("bigcommerce_v2", __name__, url_prefix="/stores/<store_hash>/v2")
v2.before_request(authenticate)
control = Blueprint("bigcommerce_orders", __name__, url_prefix=f"{CONTROL_PREFIX}/orders")


def _state() -> BigCommerceState:
    return current_state(BigCommerceState)


def _v2_error(status: int, message: str) -> Response:
    response = jsonify([{"status": status, "message": message}])
    response.status_code = status
    return response


@v2.get("/orders")
def list_orders(store_hash: str) -> Response:
    """Orders by id, paged like the products of an order (204 past the last)."""
    state = _state()
    page = int_arg("page", 1, low=1)
    limit = int_arg("limit", DEFAULT_LIMIT, low=1)
    if limit > MAX_LIMIT:
        return _v2_error(422, f"The limit must be between 1 and {MAX_LIMIT}")
    with state.lock:
        ordered = [state.orders.by_id[key] for key in sorted(state.orders.by_id)]
        rows = [order_json(order) for order in pages(ordered, page, limit)]
    if not rows:
        return Response(status=204)
    return jsonify(rows)


@v2.get("/orders/<int:order_id>")
def get_order(store_hash: str, order_id: int) -> Response:
    state = _state()
    with state.lock:
        order = state.orders.get(order_id)
        if order is None:
            return _v2_error(404, "The requested resource was not found.")
        return jsonify(order_json(order))


@v2.get("/orders/<int:order_id>/products")
def get_order_products(store_hash: str, order_id: int) -> Response:
    state = _state()
    page = int_arg("page", 1, low=1)
    limit = int_arg("limit", DEFAULT_LIMIT, low=1)
    if limit > MAX_LIMIT:
        return _v2_error(422, f"The limit must be between 1 and {MAX_LIMIT}")
    with state.lock:
        order = state.orders.get(order_id)
        if order is None:
            return _v2_error(404, "The requested resource was not found.")
        rows = [line_json(order, line) for line in pages(order.lines, page, limit)]
    if not rows:
        return Response(status=204)
    return jsonify(rows)


@control.post("")
def post_order() -> tuple[Response, int]:
    body = _body()
    status_id = body.get("status_id", DEFAULT_STATUS)
    if not _is_status(status_id):
        return _bad(f"status_id must be one of {sorted(STATUS_NAMES)}")
    lines = _lines(body)
    if isinstance(lines, str):
        return _bad(lines)
    return _answer(lambda: _state().orders.place(lines, status_id), 201)


@control.post("/<int:order_id>/status")
def post_status(order_id: int) -> tuple[Response, int]:
    status_id = _body().get("status_id")
    if not _is_status(status_id):
        return _bad(f"status_id must be one of {sorted(STATUS_NAMES)}")
    new_status: int = status_id
    return _answer(lambda: _state().orders.set_status(order_id, new_status), 200)


@control.post("/<int:order_id>/refunds")
def post_refund(order_id: int) -> tuple[Response, int]:
    lines = _lines(_body())
    if isinstance(lines, str):
        return _bad(lines)
    return _answer(lambda: _state().orders.refund(order_id, lines), 201)


def _answer(change: Callable[[], Order], status: int) -> tuple[Response, int]:
    """Run `change`; an unknown order is 404, anything else it refuses 400."""
    try:
        order = change()
    except UnknownOrder as exc:
        return jsonify({"error": str(exc)}), 404
    except OrderRefused as exc:
        return _bad(str(exc))
    return jsonify({"id": order.id, "status_id": order.status_id}), status


def _is_status(value: object) -> TypeGuard[int]:
    return isinstance(value, int) and not isinstance(value, bool) and value in STATUS_NAMES


def _body() -> dict[str, Any]:
    body = request.get_json(force=True, silent=True)
    return body if isinstance(body, dict) else {}


def _lines(body: dict[str, Any]) -> list[tuple[str, int]] | str:
    """`[{"sku", "quantity"}]` as (SKU, quantity) pairs, or what is wrong with it."""
    raw = body.get("lines")
    if not isinstance(raw, list) or not raw:
        return "lines must be a non-empty list"
    lines = []
    for line in raw:
        sku = line.get("sku") if isinstance(line, dict) else None
        quantity = line.get("quantity") if isinstance(line, dict) else None
        if not isinstance(sku, str) or not isinstance(quantity, int) or isinstance(quantity, bool):
            return "each line needs a sku string and an integer quantity"
        if quantity < 1:
            return "quantities must be at least 1"
        lines.append((sku, quantity))
    return lines


def _bad(error: str) -> tuple[Response, int]:
    return jsonify({"error": error}), 400
