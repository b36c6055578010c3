"""What of a store order's webhook body is logged: only what reading it needs.

Order bodies carry the customer: e-mail, names, postal addresses, notes. The log keeps
rows for up to 365 days and shows them to operators, and only the order's ids, status,
times, lines and refunds make its reservations (connectors/*_orders.py). So the body
is cut down to those fields before it is logged; the signature was checked on the
whole raw body first.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

#: Keys to keep; a nested spec keeps those keys of each object of a list (or object).
Spec = Mapping[str, "Spec | None"]


def kept(body: Mapping[str, Any], spec: Spec) -> dict[str, Any]:
    """`body` with only the keys `spec` names (module docstring)."""
    return {key: _keep(body[key], inner) for key, inner in spec.items() if key in body}


def _keep(value: Any, spec: Spec | None) -> Any:
    if spec is None:
        return value
    if isinstance(value, list):
        return [kept(item, spec) if isinstance(item, dict) else item for item in value]
    if isinstance(value, dict):
        return kept(value, spec)
    return value


WOOCOMMERCE_ORDER: Spec = {
    "id": None,
    "number": None,
    "status": None,
    "date_created_gmt": None,
    "date_modified_gmt": None,
    "line_items": {
        "id": None,
        "product_id": None,
        "variation_id": None,
        "sku": None,
        "quantity": None,
    },
    "refunds": {"id": None},
}

SHOPIFY_ORDER: Spec = {
    "id": None,
    "admin_graphql_api_id": None,
    "name": None,
    "created_at": None,
    "updated_at": None,
    "cancelled_at": None,
    "financial_status": None,
    "line_items": {
        "id": None,
        "product_id": None,
        "variant_id": None,
        "sku": None,
        "quantity": None,
        "fulfillable_quantity": None,
        "variant_inventory_management": None,
    },
    "refunds": {
        "id": None,
        "refund_line_items": {
            "id": None,
            "line_item_id": None,
            "quantity": None,
            "restock_type": None,
        },
    },
}
