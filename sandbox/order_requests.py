"""The request bodies of the sandboxes' `/_sandbox/orders` control routes.

A mistake in the caller (a test or the demo) is a 400 `{"error"}`, or `{"unknown":
[...]}` for SKUs the store does not sell, and nothing changes; each platform's control
blueprint registers `bad_request` for `BadOrderRequest`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar

from flask import Response, jsonify, request

Order = TypeVar("Order")


class BadOrderRequest(Exception):
    """The control request is not one the sandbox can play; answered 400 with `body`."""

    def __init__(self, body: dict[str, Any]) -> None:
        super().__init__(str(body))
        self.body = body


def bad_request(error: BadOrderRequest) -> tuple[Response, int]:
    return jsonify(error.body), 400


def body() -> dict[str, Any]:
    """The request's JSON object (an empty body is an empty object)."""
    found = request.get_json(force=True, silent=True) if request.get_data() else {}
    if not isinstance(found, dict):
        raise BadOrderRequest({"error": "expected a JSON object"})
    return found


def lines(found: dict[str, Any], *extra: str) -> list[dict[str, Any]]:
    """`lines`: a non-empty list of objects with a string `sku`, an integer `quantity`
    of at least 1, and the string fields `extra` names."""
    rows = found.get("lines")
    if not isinstance(rows, list) or not rows:
        raise BadOrderRequest({"error": "lines must be a non-empty list"})
    for row in rows:
        if not isinstance(row, dict) or not all(
            isinstance(row.get(name), str) for name in ("sku", *extra)
        ):
            raise BadOrderRequest({"error": f"each line needs {', '.join(('sku', *extra))}"})
        quantity = row.get("quantity")
        if not isinstance(quantity, int) or isinstance(quantity, bool) or quantity < 1:
            raise BadOrderRequest({"error": "quantity must be an integer of at least 1"})
    return rows


def known_order(orders: Mapping[int, Order], order_id: int) -> Order:
    """The order the route names; one the store never had is the caller's mistake."""
    order = orders.get(order_id)
    if order is None:
        raise BadOrderRequest({"error": f"no order {order_id}"})
    return order
