"""The Shopify sandbox's world: a catalog of variants, their stock, and stock webhooks.

Variant `i` (0-based) has SKU `sandbox.catalog.sku_for(i + 1)`, id
`gid://shopify/ProductVariant/{i + 1}` and inventory item
`gid://shopify/InventoryItem/{ITEM_BASE + i + 1}`: the two id spaces differ on purpose, so
a connector that sends a variant id where an inventory item id belongs fails loudly.
Products hold 1, 2, 3, 1, 2, 3, ... variants, the last one cut so the total is exactly
`config.items`. One location, `gid://shopify/Location/1`, holds all stock.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from typing import Any

from sandbox.accounts import SHOPIFY_LOCATION, credentials_for
from sandbox.base import SandboxConfig, SandboxState
from sandbox.catalog import skus, store_quantity
from sandbox.shopify.webhooks import delivery_headers, now

LOCATION_GID = SHOPIFY_LOCATION
#: The same location as a REST id, the form webhooks carry (docs/platforms.md §5).
LOCATION_NUMBER = int(LOCATION_GID.rpartition("/")[2])
ITEM_BASE = 40_000_000


class ShopifyState(SandboxState):
    """Stock per variant plus what the GraphQL mutation needs (idempotency records)."""

    def __init__(self, config: SandboxConfig) -> None:
        super().__init__(config)
        self.skus = skus(config.items)
        self.quantities = [store_quantity(sku, config.drift, config.seed) for sku in self.skus]
        self._index_of_sku = {sku: i for i, sku in enumerate(self.skus)}
        #: product number (1-based) of each variant, and first variant index of each product
        self.product_of: list[int] = []
        self.product_start: list[int] = [0]  # index 0 unused: product numbers start at 1
        size = 1
        while len(self.product_of) < config.items:
            product = len(self.product_start)
            self.product_start.append(len(self.product_of))
            self.product_of.extend([product] * min(size, config.items - len(self.product_of)))
            size = size % 3 + 1
        self.product_start.append(config.items)  # sentinel: end of the last product
        #: idempotency key -> (request fingerprint, payload first answered)
        self.idempotent: dict[str, tuple[str, dict[str, Any]]] = {}
        self.adjustment_groups = 0

    @property
    def products(self) -> int:
        """How many products the variants are grouped into."""
        return len(self.product_start) - 2

    def variant_range(self, product: int) -> range:
        """Variant indices of product number `product` (1-based)."""
        return range(self.product_start[product], self.product_start[product + 1])

    def variant_node(self, index: int) -> dict[str, Any]:
        """The fields the connector reads of one ProductVariant."""
        return {
            "id": f"gid://shopify/ProductVariant/{index + 1}",
            "sku": self.skus[index],
            "inventoryQuantity": self.quantities[index],
            "product": {"id": f"gid://shopify/Product/{self.product_of[index]}"},
            "inventoryItem": {
                "id": f"gid://shopify/InventoryItem/{ITEM_BASE + index + 1}",
                "tracked": True,
            },
        }

    def item_index(self, number: int) -> int | None:
        """Variant index of inventory item number `number`, or None if unknown."""
        index = number - ITEM_BASE - 1
        return index if 0 <= index < len(self.skus) else None

    def set_sku(self, index: int, sku: str) -> None:
        """Give a variant another SKU.

        Merchants leave SKUs blank or overlong; tests need such variants in the catalog
        to see a connector skip them.
        """
        with self.lock:
            self._index_of_sku.pop(self.skus[index], None)
            self.skus[index] = sku
            self._index_of_sku[sku] = index

    def stock(self) -> dict[str, int]:
        """`available` by SKU, for tests reading back the truth."""
        with self.lock:
            return dict(zip(self.skus, self.quantities, strict=True))

    def known(self, skus: Iterable[str]) -> set[str]:
        with self.lock:
            return {sku for sku in skus if sku in self._index_of_sku}

    def set_stock(self, changes: Mapping[str, int]) -> None:
        """Set `available` by SKU (the control route).

        The control route refuses unknown SKUs first (400); a direct caller naming one
        gets KeyError before anything is set.
        """
        with self.lock:
            self.apply({self._index_of_sku[sku]: qty for sku, qty in changes.items()})

    def apply(self, changes: Mapping[int, int]) -> None:
        """Set `available` by variant index, and announce each level that changed.

        A write of the value already held is not an update, so it sends no webhook
        (a sandbox choice: whether Shopify fires then is UNCONFIRMED).
        """
        with self.lock:
            for index, quantity in changes.items():
                if self.quantities[index] != quantity:
                    self.quantities[index] = quantity
                    self._announce(index, quantity)

    def _announce(self, index: int, available: int) -> None:
        """Send an `inventory_levels/update` webhook like Shopify's (docs/platforms.md §5).

        The body is the REST InventoryLevel shape; `admin_graphql_api_id` in it is
        UNCONFIRMED for the webhook (§5). Signed with the app's client secret, base64
        HMAC-SHA256 over the raw body.
        """
        url = self.config.webhook_url
        if not url:
            return
        updated_at = now()
        item = ITEM_BASE + index + 1
        body = json.dumps(
            {
                "inventory_item_id": item,
                "location_id": LOCATION_NUMBER,
                "available": available,
                "updated_at": updated_at,
                "admin_graphql_api_id": (
                    f"gid://shopify/InventoryLevel/{LOCATION_NUMBER}?inventory_item_id={item}"
                ),
            },
            separators=(",", ":"),
        ).encode()
        secret = credentials_for("shopify", self.config.credentials)["client_secret"]
        headers = delivery_headers(
            topic="inventory_levels/update", secret=secret, body=body, triggered_at=updated_at
        )
        self.webhooks.send(url, body, headers)
