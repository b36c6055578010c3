"""The Shopify sandbox's GraphQL endpoint: only the operations the connector sends.

Not a GraphQL engine. `graphql-core` parses the document, and the one root field of its
one operation picks a resolver from a table; arguments are read from literals or
`variables`. Every resolver answers a fixed shape whatever the selection asks for.

Behaviour modelled on API 2026-04 (../shared/platforms.md section 5), whatever version
the path names:
- `inventorySetQuantities` needs the `@idempotent(key:)` field directive and
  `changeFromQuantity` on each quantity (null skips the compare). The error texts are
  those third-party code reports from live shops (UNCONFIRMED, not in section 5).
- A mutation with any `userErrors` saves nothing; a replayed key answers the first
  payload without applying again, and the key with other parameters is an error.
- Connections take `first` from 1 to 250 (Shopify's maximum, UNCONFIRMED in section 5).
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from collections.abc import Callable, Mapping
from typing import Any

from flask import request
from graphql import GraphQLError, Undefined, parse
from graphql.language import DirectiveNode, FieldNode, OperationDefinitionNode, OperationType
from graphql.utilities import value_from_ast_untyped

from sandbox.shopify_state import LOCATION_GID, ShopifyState

MAX_PAGE_SIZE = 250

Resolver = Callable[[ShopifyState, FieldNode, dict[str, Any]], Any]


def execute(state: ShopifyState, body: Any) -> dict[str, Any]:
    """Answer one request body with `{"data": ...}` or `{"errors": [...]}`."""
    if not isinstance(body, dict) or not isinstance(body.get("query"), str):
        return {"errors": [{"message": "Request body must be a JSON object with a query"}]}
    variables = body.get("variables") or {}
    if not isinstance(variables, dict):
        return {"errors": [{"message": "variables must be a JSON object"}]}
    try:
        document = parse(body["query"])
        operations = [d for d in document.definitions if isinstance(d, OperationDefinitionNode)]
        if len(operations) != 1:
            raise GraphQLError("The sandbox answers documents with exactly one operation")
        operation = operations[0]
        fields = [s for s in operation.selection_set.selections if isinstance(s, FieldNode)]
        if len(fields) != 1:
            raise GraphQLError("The sandbox answers operations with exactly one root field")
        field = fields[0]
        resolver = RESOLVERS.get((operation.operation, field.name.value))
        if resolver is None:
            root = "Mutation" if operation.operation is OperationType.MUTATION else "QueryRoot"
            raise GraphQLError(
                f"Field '{field.name.value}' doesn't exist on type '{root}'",
                extensions={"code": "undefinedField"},
            )
        value = resolver(state, field, variables)
    except GraphQLError as exc:  # syntax errors included: GraphQLSyntaxError is one
        return {"errors": [exc.formatted]}
    name = field.alias.value if field.alias else field.name.value
    return {"data": {name: value}}


def _arguments(node: FieldNode | DirectiveNode, variables: dict[str, Any]) -> dict[str, Any]:
    """Argument values of a field or directive; a missing variable reads as None."""
    arguments = node.arguments or ()
    values = {a.name.value: value_from_ast_untyped(a.value, variables) for a in arguments}
    return {k: None if v is Undefined else v for k, v in values.items()}


def _child(field: FieldNode, name: str) -> FieldNode | None:
    """The sub-field `name` selected under `field`, if any."""
    selections = field.selection_set.selections if field.selection_set else ()
    return next((s for s in selections if isinstance(s, FieldNode) and s.name.value == name), None)


def _first(args: Mapping[str, Any]) -> int:
    """A connection's page size; Shopify refuses more than 250 (UNCONFIRMED wording)."""
    first = args.get("first")
    if not isinstance(first, int) or not 1 <= first <= MAX_PAGE_SIZE:
        raise GraphQLError(
            f"Connections need `first` between 1 and {MAX_PAGE_SIZE}, got {first!r}",
            extensions={"code": "MAX_PAGE_SIZE_EXCEEDED"},
        )
    return first


def _page(state: ShopifyState, args: Mapping[str, Any], lo: int, hi: int) -> dict[str, Any]:
    """One page of variant indices in [lo, hi): the cursor is the next index, encoded."""
    first = _first(args)
    start = lo if args.get("after") is None else _decode_cursor(args["after"])
    start = max(lo, start)
    end = min(hi, start + first)
    with state.lock:
        nodes = [state.variant_node(i) for i in range(start, end)]
    return {
        "nodes": nodes,
        "pageInfo": {
            "hasNextPage": end < hi,
            "endCursor": _encode_cursor(end) if nodes else None,
        },
    }


def _encode_cursor(index: int) -> str:
    return base64.urlsafe_b64encode(f"next:{index}".encode()).decode()


def _decode_cursor(cursor: Any) -> int:
    """The index a cursor points at; a cursor we did not make is a GraphQL error."""
    try:
        kind, _, index = base64.urlsafe_b64decode(str(cursor)).decode().partition(":")
        if kind != "next":
            raise ValueError(kind)
        return int(index)
    except (binascii.Error, UnicodeDecodeError, ValueError) as exc:
        raise GraphQLError(f"Invalid cursor {cursor!r}") from exc


def product_variants(
    state: ShopifyState, field: FieldNode, variables: dict[str, Any]
) -> dict[str, Any]:
    """Every variant of the shop, in catalog order, a page at a time."""
    return _page(state, _arguments(field, variables), 0, len(state.skus))


def locations(state: ShopifyState, field: FieldNode, variables: dict[str, Any]) -> Any:
    """The shop's one location (whatever `first` asks, once it is valid)."""
    _first(_arguments(field, variables))
    return {"nodes": [{"id": LOCATION_GID, "name": "Sandbox warehouse"}]}


def product(state: ShopifyState, field: FieldNode, variables: dict[str, Any]) -> Any:
    """`product(id:)` with its `variants` connection, or null for an unknown id."""
    product_id = str(_arguments(field, variables).get("id"))
    match = re.fullmatch(r"gid://shopify/Product/(\d+)", product_id)
    number = int(match.group(1)) if match else 0
    if not 1 <= number <= state.products:
        return None
    variants = _child(field, "variants")
    result: dict[str, Any] = {"id": f"gid://shopify/Product/{number}"}
    if variants is not None:
        span = state.variant_range(number)
        result["variants"] = _page(state, _arguments(variants, variables), span.start, span.stop)
    return result


def inventory_set_quantities(
    state: ShopifyState, field: FieldNode, variables: dict[str, Any]
) -> dict[str, Any]:
    """Set `available` for many inventory items at once, all or nothing."""
    key = _idempotency_key(field, variables)
    payload_input = _arguments(field, variables).get("input")
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
    key = _arguments(directives[0], variables).get("key") if directives else None
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


RESOLVERS: dict[tuple[OperationType, str], Resolver] = {
    (OperationType.QUERY, "productVariants"): product_variants,
    (OperationType.QUERY, "locations"): locations,
    (OperationType.QUERY, "product"): product,
    (OperationType.MUTATION, "inventorySetQuantities"): inventory_set_quantities,
}
