"""The Shopify sandbox's GraphQL endpoint: only the operations the connector sends.

Not a GraphQL engine. `graphql-core` parses the document, and the one root field of its
one operation picks a resolver from a table (`queries`, `inventory`); arguments are read
from literals or `variables` (`arguments`). Every resolver answers a fixed shape
whatever the selection asks for.

Behaviour modelled on API 2026-04 (docs/platforms.md section 5), whatever version
the path names. Connections take `first` from 1 to 250 (Shopify's maximum, UNCONFIRMED
in section 5).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from graphql import GraphQLError, parse
from graphql.language import (
    FieldNode,
    FragmentDefinitionNode,
    OperationDefinitionNode,
    OperationType,
)

from sandbox.shopify.bulk import bulk_operation_run_query, current_bulk_operation, node
from sandbox.shopify.cost import CostBucket, requested_cost
from sandbox.shopify.inventory import inventory_set_quantities
from sandbox.shopify.queries import (
    locations,
    product,
    product_variants,
    product_variants_count,
)
from sandbox.shopify.scopes import require
from sandbox.shopify.selection import project
from sandbox.shopify.state import ShopifyState
from sandbox.shopify.subscriptions import (
    current_app_installation,
    webhook_subscription_create,
    webhook_subscription_delete,
    webhook_subscription_update,
    webhook_subscriptions,
)

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
        require(field, variables, state.access_scopes())
        fragments = {
            d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)
        }
        cost = requested_cost(operation, fragments, variables)
        if not state.bucket.take(cost, state.clock.now()):
            with state.lock:
                # Shopify's refusal by its quota, counted with the other platforms'
                # 429s: a test asserts the budget kept us from every one.
                state.rejected_429 += 1
            return _throttled(state.bucket, cost)
        value = project(resolver(state, field, variables), field.selection_set, fragments)
    except GraphQLError as exc:  # syntax errors included: GraphQLSyntaxError is one
        return {"errors": [exc.formatted]}
    name = field.alias.value if field.alias else field.name.value
    return {"data": {name: value}, "extensions": _cost(state.bucket, cost, cost)}


def _cost(bucket: CostBucket, requested: int, actual: int | None) -> dict[str, Any]:
    return {
        "cost": {
            "requestedQueryCost": requested,
            "actualQueryCost": actual,
            "throttleStatus": bucket.status(),
        }
    }


def _throttled(bucket: CostBucket, requested: int) -> dict[str, Any]:
    """Refused for cost: the THROTTLED shape of `sandbox.shopify.app.throttled`, with the
    bucket's real numbers (a query over `MAX_QUERY_COST` never fits: Shopify answers it
    MAX_COST_EXCEEDED, which the sandbox does not model, UNCONFIRMED)."""
    return {
        "errors": [{"message": "Throttled", "extensions": {"code": "THROTTLED"}}],
        "extensions": _cost(bucket, requested, None),
    }


RESOLVERS: dict[tuple[OperationType, str], Resolver] = {
    (OperationType.QUERY, "productVariants"): product_variants,
    (OperationType.QUERY, "productVariantsCount"): product_variants_count,
    (OperationType.QUERY, "node"): node,
    (OperationType.QUERY, "currentBulkOperation"): current_bulk_operation,
    (OperationType.MUTATION, "bulkOperationRunQuery"): bulk_operation_run_query,
    (OperationType.QUERY, "locations"): locations,
    (OperationType.QUERY, "product"): product,
    (OperationType.QUERY, "webhookSubscriptions"): webhook_subscriptions,
    (OperationType.QUERY, "currentAppInstallation"): current_app_installation,
    (OperationType.MUTATION, "inventorySetQuantities"): inventory_set_quantities,
    (OperationType.MUTATION, "webhookSubscriptionCreate"): webhook_subscription_create,
    (OperationType.MUTATION, "webhookSubscriptionUpdate"): webhook_subscription_update,
    (OperationType.MUTATION, "webhookSubscriptionDelete"): webhook_subscription_delete,
}
