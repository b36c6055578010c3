"""The Shopify sandbox's query resolvers: variants, locations, one product's variants.

Connections page by variant index: the cursor is the next index, encoded, so a cursor
the sandbox did not make is a GraphQL error as on Shopify.
"""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Mapping
from typing import Any

from graphql import GraphQLError
from graphql.language import FieldNode

from sandbox.shopify.arguments import arguments, child, page_size
from sandbox.shopify.state import LOCATION_GID, ShopifyState


def _page(
    state: ShopifyState,
    args: Mapping[str, Any],
    lo: int,
    hi: int,
    level: FieldNode | None = None,
    variables: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """One page of variant indices in [lo, hi); each variant's inventory item carries
    its level at the location `level` (an `inventoryLevel(locationId:)` selection)
    names: the sandbox's one location, or null for any other, as for an item not
    stocked there."""
    first = page_size(args)
    here = level is not None and arguments(level, variables or {}).get("locationId") == LOCATION_GID
    start = lo if args.get("after") is None else _decode_cursor(args["after"])
    start = max(lo, start)
    end = min(hi, start + first)
    with state.lock:
        nodes = [state.variant_node(i, here) for i in range(start, end) if state.live(i)]
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


#: Cursor pagination stops at this many objects per query (shopify.dev API limits,
#: "Pagination limits"; docs/platforms.md section 5): a page starting past it is an
#: error. The error's wording and code are the sandbox's (UNCONFIRMED).
PAGINATION_CAP = 25_000
#: `productVariantsCount` counts up to this unless `limit` says otherwise (reference).
COUNT_LIMIT = 10_000


def product_variants(
    state: ShopifyState, field: FieldNode, variables: dict[str, Any]
) -> dict[str, Any]:
    """Every variant of the shop, in catalog order, a page at a time, up to the
    pagination cap: larger catalogs are read with a bulk operation (`sandbox.shopify.bulk`)."""
    args = arguments(field, variables)
    if args.get("after") is not None and _decode_cursor(args["after"]) >= PAGINATION_CAP:
        raise GraphQLError(
            f"Pagination limit reached: cursor pagination stops at {PAGINATION_CAP:,} "
            "objects; use a bulk operation to read more",
            extensions={"code": "PAGINATION_LIMIT_EXCEEDED"},
        )
    return _page(state, args, 0, len(state.skus), _level_field(field), variables)


def product_variants_count(state: ShopifyState, field: FieldNode, variables: dict[str, Any]) -> Any:
    """`productVariantsCount(limit:)`: live variants, capped at `limit` (null: none)."""
    args = arguments(field, variables)
    limit = args["limit"] if "limit" in args else COUNT_LIMIT
    with state.lock:
        count = sum(1 for i in range(len(state.skus)) if state.live(i))
    if limit is not None and count > limit:
        return {"count": limit, "precision": "AT_LEAST"}
    return {"count": count, "precision": "EXACT"}


def _level_field(connection: FieldNode) -> FieldNode | None:
    """The `nodes { inventoryItem { inventoryLevel(...) } }` selection of a variant
    connection, if the query asks for it."""
    nodes = child(connection, "nodes")
    item = child(nodes, "inventoryItem") if nodes is not None else None
    return child(item, "inventoryLevel") if item is not None else None


def locations(state: ShopifyState, field: FieldNode, variables: dict[str, Any]) -> Any:
    """The shop's one location (whatever `first` asks, once it is valid)."""
    page_size(arguments(field, variables))
    return {"nodes": [{"id": LOCATION_GID, "name": "Sandbox warehouse"}]}


def product(state: ShopifyState, field: FieldNode, variables: dict[str, Any]) -> Any:
    """`product(id:)` with its `variants` connection, or null for an unknown or deleted
    product.

    An id that is no Product GID (a webhook's REST id, `"5"`) is an error, not null, as
    on Shopify: its exact wording is UNCONFIRMED (docs/platforms.md section 5, "Ids").
    A sandbox answering null there would let a caller take a live product for deleted.
    """
    product_id = str(arguments(field, variables).get("id"))
    match = re.fullmatch(r"gid://shopify/Product/(\d+)", product_id)
    if match is None:
        raise GraphQLError(
            f"Invalid global id '{product_id}'", extensions={"code": "argumentLiteralsIncompatible"}
        )
    number = int(match.group(1))
    if not 1 <= number <= state.products or number in state.deleted:
        return None
    variants = child(field, "variants")
    result: dict[str, Any] = {"id": f"gid://shopify/Product/{number}"}
    if variants is not None:
        span = state.variant_range(number)
        result["variants"] = _page(
            state,
            arguments(variants, variables),
            span.start,
            span.stop,
            _level_field(variants),
            variables,
        )
    return result
