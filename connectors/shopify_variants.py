"""Reading Shopify variants: the fields we ask for, the page size, and the variant nodes
of a page (or of a bulk operation's file) turned into `StoreProduct`s
(docs/platforms.md section 5, "Reading"). Split from connectors/shopify.py, which sends
these queries.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from typing import Any

from connectors.errors import PermanentError
from connectors.types import StoreProduct
from models.skus import try_normalize_sku

#: Variants per catalog or product page. Connections take up to 250, but one variant
#: node costs 4 points here (product, inventoryItem, inventoryLevel, quantities: 1 each,
#: docs/platforms.md section 5), so 250 would ask for 1,002 points, over the 1,000 a
#: single query may request; 200 asks for 802 (803 under `product`).
PAGE_SIZE = 200
#: A variant's level is read at the location we write to: `inventoryQuantity` sums
#: `available` over every location, so in a shop with several it is not the number our
#: write replaces, and a compare-and-set against it would always be stale.
VARIANT_FIELDS = """id sku product { id }
  inventoryItem { id tracked
    inventoryLevel(locationId: $location) { quantities(names: ["available"]) { name quantity } }
  }"""

CATALOG_QUERY = f"""
query StocksyncCatalog($cursor: String, $location: ID!) {{
  productVariants(first: {PAGE_SIZE}, after: $cursor) {{
    nodes {{ {VARIANT_FIELDS} }}
    pageInfo {{ hasNextPage endCursor }}
  }}
}}
"""

PRODUCT_QUERY = f"""
query StocksyncProduct($id: ID!, $cursor: String, $location: ID!) {{
  product(id: $id) {{
    id
    variants(first: {PAGE_SIZE}, after: $cursor) {{
      nodes {{ {VARIANT_FIELDS} }}
      pageInfo {{ hasNextPage endCursor }}
    }}
  }}
}}
"""


def page_of(container: Mapping[str, Any], name: str) -> tuple[list[dict[str, Any]], str | None]:
    """(nodes, cursor of the next page or None) of a connection field."""
    try:
        connection = container[name]
        info = connection["pageInfo"]
        nodes = list(connection["nodes"])
        cursor = str(info["endCursor"]) if info["hasNextPage"] else None
    except (KeyError, TypeError) as exc:
        raise PermanentError(f"shopify: unexpected {name} page shape") from exc
    return nodes, cursor


def products_of(nodes: Sequence[Mapping[str, Any]]) -> Iterator[StoreProduct]:
    """StoreProducts of variant nodes; variants without a usable SKU cannot be matched."""
    for node in nodes:
        sku = try_normalize_sku(node.get("sku"))
        if sku is None:
            continue
        try:
            product_id, item = str(node["product"]["id"]), node["inventoryItem"]
            variant_id, tracked = str(item["id"]), bool(item.get("tracked"))
        except (KeyError, TypeError) as exc:
            raise PermanentError(f"shopify: unexpected variant shape for {sku}") from exc
        yield StoreProduct(sku, product_id, variant_id, _available(item), tracked)


def _available(item: Mapping[str, Any]) -> int | None:
    """The item's `available` at our location; None if it is not stocked there."""
    level = item.get("inventoryLevel")
    if not isinstance(level, dict):
        return None
    for quantity in level.get("quantities") or ():
        if isinstance(quantity, dict) and quantity.get("name") == "available":
            value = quantity.get("quantity")
            return value if isinstance(value, int) and not isinstance(value, bool) else None
    return None
