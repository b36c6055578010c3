"""The sandbox prices Shopify queries by the documented rules and throttles by its plan's
cost bucket (sandbox.shopify.cost)."""

from __future__ import annotations

from typing import Any

import pytest
from graphql import parse
from graphql.language import FragmentDefinitionNode, OperationDefinitionNode

from connectors.shopify import (
    CATALOG_COST,
    CATALOG_QUERY,
    LOCATION_COST,
    LOCATION_QUERY,
    PRODUCT_COST,
    PRODUCT_QUERY,
    SET_QUANTITIES_MUTATION,
)
from connectors.shopify_bulk import (
    COUNT_COST,
    COUNT_QUERY,
    CURRENT_QUERY,
    POLL_COST,
    POLL_QUERY,
    RUN_COST,
    RUN_MUTATION,
)
from connectors.shopify_cost import MUTATION_COST
from sandbox.base import SandboxConfig
from sandbox.shopify.cost import MAX_QUERY_COST, requested_cost
from sandbox.shopify.graphql import execute
from sandbox.shopify.state import ShopifyState


def price(query: str, variables: dict[str, Any] | None = None) -> int:
    document = parse(query)
    operation = next(d for d in document.definitions if isinstance(d, OperationDefinitionNode))
    fragments = {
        d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)
    }
    return requested_cost(operation, fragments, variables or {})


@pytest.mark.parametrize(
    ("query", "variables", "cost"),
    [
        # Scalars only under an object: the object's 1.
        ("{ shop { id name } }", None, 1),
        # Nested objects: 1 each.
        ("{ product(id: 1) { id featuredImage { url } } }", None, 2),
        # Connection: 2 + first x one node (an object inside: 1).
        ("{ products(first: 10) { nodes { id seo { title } } } }", None, 12),
        # `first` from a variable, edges { node } read like nodes.
        (
            "query ($n: Int) { products(first: $n) { edges { node { id seo { title } } } } }",
            {"n": 5},
            7,
        ),
        # Named fragments count where they are spread.
        (
            "{ products(first: 3) { nodes { ...F } } } fragment F on Product { seo { title } }",
            None,
            5,
        ),
        # A mutation's root field: 10.
        ('mutation { tagsAdd(id: 1, tags: ["a"]) { userErrors { field } } }', None, 10),
    ],
)
def test_shapes_are_priced_by_the_documented_rules(
    query: str, variables: dict[str, Any] | None, cost: int
) -> None:
    assert price(query, variables) == cost


def test_the_connector_queries_prices() -> None:
    """The prices the connector pays from the shop's budget before each call
    (connectors/shopify_cost.py) are what the sandbox charges for it."""
    # One variant node: product 1 + inventoryItem 1 + inventoryLevel 1 + quantities 1.
    assert price(CATALOG_QUERY, {"location": "L"}) == CATALOG_COST == 2 + 200 * 4
    assert price(PRODUCT_QUERY, {"id": "P", "location": "L"}) == PRODUCT_COST == 1 + 2 + 200 * 4
    assert price(LOCATION_QUERY) == LOCATION_COST == 2
    assert price(SET_QUANTITIES_MUTATION, {"input": {}, "key": "k"}) == MUTATION_COST == 10
    # A bulk listing (connectors/shopify_bulk.py): the count, the run, each poll.
    assert price(COUNT_QUERY) == COUNT_COST == 1
    assert price(RUN_MUTATION, {"query": "{ x }"}) == RUN_COST == 10
    assert price(POLL_QUERY, {"id": "B"}) == price(CURRENT_QUERY) == POLL_COST == 1


def test_the_connector_pages_fit_shopifys_single_query_limit() -> None:
    """Pages of 250 variants asked for 1,002 points, more than Shopify runs at all (fails
    on a434c4d)."""
    assert price(CATALOG_QUERY, {"location": "L"}) <= MAX_QUERY_COST
    assert price(PRODUCT_QUERY, {"id": "P", "location": "L"}) <= MAX_QUERY_COST


def test_a_standard_shop_answers_its_bucket_and_throttles_what_does_not_fit() -> None:
    state = ShopifyState(SandboxConfig(items=10, plan="standard"))
    query = "{ productVariants(first: 10) { nodes { id product { id } } } }"
    first = execute(state, {"query": query})
    cost = first["extensions"]["cost"]
    assert cost["requestedQueryCost"] == cost["actualQueryCost"] == 2 + 10 * 1
    assert cost["throttleStatus"]["maximumAvailable"] == 1000
    assert cost["throttleStatus"]["restoreRate"] == 100
    assert 1000 - 12 <= cost["throttleStatus"]["currentlyAvailable"] < 1000
    big = "{ productVariants(first: 249) { nodes { id product { id } inventoryItem { id } } } }"
    assert "data" in execute(state, {"query": big})  # 2 + 249 x 2 = 500
    refused = execute(state, {"query": big})  # about 488 left
    assert refused["errors"][0]["extensions"]["code"] == "THROTTLED"
    assert refused["extensions"]["cost"]["requestedQueryCost"] == 500
    assert refused["extensions"]["cost"]["actualQueryCost"] is None
    state.clock.advance(1.0)  # 100 points restored
    assert "data" in execute(state, {"query": big})
