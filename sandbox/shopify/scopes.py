"""Which access scope each root field the sandbox answers needs, and Shopify's refusal.

A token without the scope gets a top-level `ACCESS_DENIED` error naming the scope
(shopify.dev "API access scopes"; the message's wording is from third-party reports,
UNCONFIRMED, not in docs/platforms.md section 5). Write access to a resource implies
read access. A webhook topic needs read access to its resource (the topic reference
lists `read_products`, `read_inventory`, `read_orders`).
"""

from __future__ import annotations

from collections.abc import Collection
from typing import Any

from graphql import GraphQLError
from graphql.language import FieldNode

from sandbox.shopify.arguments import arguments
from sandbox.shopify.deliveries import TOPICS

#: Root field -> the scope it needs; webhook mutations depend on the topic instead.
FIELD_SCOPES: dict[str, str] = {
    "productVariants": "read_products",
    "productVariantsCount": "read_products",
    "product": "read_products",
    "locations": "read_locations",
    "inventorySetQuantities": "write_inventory",
}

#: Resource of a topic's slash form -> the scope a subscription to it needs.
TOPIC_SCOPES: dict[str, str] = {
    "products": "read_products",
    "inventory_levels": "read_inventory",
    "orders": "read_orders",
    "refunds": "read_orders",
}


def needed(field: FieldNode, variables: dict[str, Any]) -> str | None:
    """The scope `field` needs with its arguments, or None. Only a subscription's
    arguments are read: a stock write's 250 quantities are not parsed twice."""
    if field.name.value == "webhookSubscriptionCreate":
        topic = TOPICS.get(str(arguments(field, variables).get("topic")))
        return TOPIC_SCOPES.get(topic.partition("/")[0]) if topic else None
    return FIELD_SCOPES.get(field.name.value)


def require(field: FieldNode, variables: dict[str, Any], granted: Collection[str]) -> None:
    """Raise Shopify's `ACCESS_DENIED` unless `granted` covers what `field` needs."""
    scope = needed(field, variables)
    if scope is None or scope in granted:
        return
    access, _, resource = scope.partition("_")
    if access == "read" and f"write_{resource}" in granted:
        return
    raise GraphQLError(
        f"Access denied for {field.name.value} field. Required access: `{scope}` access scope.",
        extensions={"code": "ACCESS_DENIED", "requiredAccess": f"`{scope}` access scope."},
        path=[field.name.value],
    )
