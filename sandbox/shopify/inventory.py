"""The Shopify sandbox's one mutation: `inventorySetQuantities`, as in API 2026-04.

It needs the `@idempotent(key:)` field directive and `changeFromQuantity` on each
quantity (null skips the compare); the error texts are those third-party code reports
from live shops (UNCONFIRMED, not in docs/platforms.md section 5). A mutation with any
`userErrors` saves nothing; a replayed key answers the first payload without applying
again, and the key with other parameters is an error.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Any

from flask import request
from graphql import GraphQLError
from graphql.language import FieldNode

from sandbox.shopify.arguments import arguments
from sandbox.shopify.state import LOCATION_GID, ShopifyState


def inventory_set_quantities(
    state: ShopifyState, field: FieldNode, variables: dict[str, Any]
) -> dict[str, Any]:
    """Set `available` for many inventory items at once, all or nothing."""
    key = _idempotency_key(field, variables)
    payload_input = arguments(field, variables).get("input")
    if not isinstance(payload_input, dict) or not isinstance(payload_input.get("quantities"), list):
        raise GraphQLError("InventorySetQuantitiesInput needs name, reason and quantities")
    for quantity in payload_input["quantities"]:
        if not isinstance(quantity, dict) or not isinstance(quantity.get("quantity"), int):
            raise GraphQLError("InventoryQuantityInput needs an Int quantity")
        if "changeFromQuantity" not in quantity:
            raise GraphQLError(
                "InventoryQuantityInput must include the following argument: changeFromQuantity.",
                extensions={"code": "BAD_REQUEST"},
            )
    fingerprint = json.dumps(payload_input, sort_keys=True)
    with state.lock:
        if key in state.idempotent:
            seen, payload = state.idempotent[key]
            if seen != fingerprint:
                raise GraphQLError(
                    "The request with this idempotency key has different parameters than "
                    "the original request.",
                    extensions={"code": "BAD_REQUEST"},
                )
            return payload
        payload = _set_quantities(state, payload_input)
        state.idempotent[key] = (fingerprint, payload)
    return payload


def _idempotency_key(field: FieldNode, variables: dict[str, Any]) -> str:
    """The key of the field's `@idempotent(key:)` directive, which 2026-04 requires."""
    directives = [d for d in field.directives or () if d.name.value == "idempotent"]
    key = arguments(directives[0], variables).get("key") if directives else None
    if not isinstance(key, str) or not key:
        raise GraphQLError(
            "The @idempotent directive is required for this mutation but was not provided.",
            extensions={"code": "BAD_REQUEST"},
            path=[field.name.value],
        )
    return key


def _set_quantities(state: ShopifyState, payload_input: Mapping[str, Any]) -> dict[str, Any]:
    """Validate every quantity; apply them all only if none has a user error."""
    errors: list[dict[str, Any]] = []
    changes: dict[int, int] = {}
    if payload_input.get("name") != "available":
        message = "The sandbox models only the available quantity."
        errors.append({"field": ["input", "name"], "code": "INVALID_NAME", "message": message})
    for position, quantity in enumerate(payload_input["quantities"]):
        resolved = _resolve(state, quantity)
        if isinstance(resolved, int):
            changes[resolved] = quantity["quantity"]
            continue
        name, code, message = resolved
        field = ["input", "quantities", str(position), name]
        errors.append({"field": field, "code": code, "message": message})
    if errors:
        return {"inventoryAdjustmentGroup": None, "userErrors": errors}
    state.apply(changes)
    state.record_write(request.path, len(payload_input["quantities"]))
    state.adjustment_groups += 1
    return {
        "inventoryAdjustmentGroup": {
            "id": f"gid://shopify/InventoryAdjustmentGroup/{state.adjustment_groups}",
            "reason": payload_input.get("reason"),
            "referenceDocumentUri": payload_input.get("referenceDocumentUri"),
        },
        "userErrors": [],
    }


def _resolve(state: ShopifyState, quantity: Mapping[str, Any]) -> int | tuple[str, str, str]:
    """The variant index one quantity sets, or (input field, code, message) of its error."""
    match = re.fullmatch(r"gid://shopify/InventoryItem/(\d+)", str(quantity.get("inventoryItemId")))
    index = state.item_index(int(match.group(1))) if match else None
    if index is None:
        return "inventoryItemId", "INVALID_INVENTORY_ITEM", "The inventory item was not found."
    if quantity.get("locationId") != LOCATION_GID:
        return "locationId", "INVALID_LOCATION", "The location was not found."
    expected = quantity["changeFromQuantity"]
    if expected is not None and expected != state.quantities[index]:
        return (
            "changeFromQuantity",
            "CHANGE_FROM_QUANTITY_STALE",
            "changeFromQuantity argument no longer matches the persisted quantity.",
        )
    return index
