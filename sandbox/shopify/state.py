"""The Shopify sandbox's world: a catalog of variants, their stock, and its webhooks.

Variant `i` (0-based) has SKU `sandbox.catalog.sku_for(i + 1)`, id
`gid://shopify/ProductVariant/{i + 1}` and inventory item
`gid://shopify/InventoryItem/{ITEM_BASE + i + 1}`: the two id spaces differ on purpose, so
a connector that sends a variant id where an inventory item id belongs fails loudly.
Products hold 1, 2, 3, 1, 2, 3, ... variants, the last one cut so the total is exactly
`config.items`. One location, `gid://shopify/Location/1`, holds all stock: per item
`available` (`quantities`) and `committed` (open orders' unfulfilled units;
`sandbox.shopify.orders`), `on_hand` being their sum.

The merchant's catalog edits (`add_product`, `rename_sku`, `delete_product_of`) send the
`products/*` webhooks Shopify sends, with REST ids as Shopify's do (docs/platforms.md
section 5, "Ids"); GraphQL answers only GIDs.

Every delivery goes to `config.webhook_url` as before, and also to each webhook
subscription made through `webhookSubscriptionCreate` whose topic matches (`hooks`,
`sandbox.shopify.deliveries`: retried on the sandbox clock, deleted after 8 failures in
a row). The app's granted scopes are the credentials' `scopes` (comma-separated), by
default every scope stocksync needs (`DEFAULT_SCOPES`).
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from sandbox.accounts import SHOPIFY_LOCATION, credentials_for
from sandbox.base import DeliveryRules, SandboxConfig, SandboxState
from sandbox.catalog import skus, store_quantity
from sandbox.shopify.bulk import BulkOperations
from sandbox.shopify.cost import CostBucket
from sandbox.shopify.deliveries import Delivery, ShopifyHooks
from sandbox.shopify.orders import OrderBook
from sandbox.shopify.webhooks import deleted_payload, delivery_headers, now, product_payload

LOCATION_GID = SHOPIFY_LOCATION
#: The same location as a REST id, the form webhooks carry (docs/platforms.md §5).
LOCATION_NUMBER = int(LOCATION_GID.rpartition("/")[2])
ITEM_BASE = 40_000_000
#: The access scopes the sandbox app holds unless the credentials' `scopes` say otherwise:
#: those `connectors/credentials.py` asks the merchant to grant.
DEFAULT_SCOPES = "read_products,read_inventory,write_inventory,read_orders,read_locations"


class ShopifyState(SandboxState):
    """Stock per variant plus what the GraphQL mutation needs (idempotency records)."""

    #: Shopify gives the answer 5 s and counts only 2xx, redirects included as
    #: failures (docs/platforms.md section 5, "Timing and retries").
    DELIVERY = DeliveryRules(timeout=5.0)

    def __init__(self, config: SandboxConfig) -> None:
        super().__init__(config)
        self.skus = skus(config.items)
        self.quantities = [store_quantity(sku, config.drift, config.seed) for sku in self.skus]
        self.committed = [0] * len(self.skus)
        self.orders = OrderBook()
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
        #: Product numbers the merchant deleted: gone from every read and write.
        self.deleted: set[int] = set()
        #: idempotency key -> (request fingerprint, payload first answered)
        self.idempotent: dict[str, tuple[str, dict[str, Any]]] = {}
        self.adjustment_groups = 0
        self.hooks = ShopifyHooks(self.clock, self.webhooks, self.reach)
        #: The plan's cost points (`sandbox.shopify.cost`); unlimited without a plan.
        self.bucket = CostBucket(config.plan, self.clock.now(), config.restore_rate)
        #: Bulk query operations and their files (`sandbox.shopify.bulk`).
        self.bulk = BulkOperations()

    def platform_stats(self) -> dict[str, Any]:
        """The cost points charged so far: what the shop's limit saw."""
        return {"points": self.bucket.spent}

    def access_scopes(self) -> list[str]:
        """The handles of the scopes granted to the app (`currentAppInstallation`)."""
        given = credentials_for("shopify", self.config.credentials).get("scopes")
        return [s.strip() for s in (given or DEFAULT_SCOPES).split(",") if s.strip()]

    def clock_advanced(self) -> None:
        """Send the retries that fell due (`ShopifyHooks.send_due`)."""
        self.hooks.send_due()

    @property
    def products(self) -> int:
        """How many products were numbered (deleted ones included)."""
        return len(self.product_start) - 2

    def live(self, index: int) -> bool:
        """Whether variant `index` still exists (its product was not deleted)."""
        return self.product_of[index] not in self.deleted

    def variant_range(self, product: int) -> range:
        """Variant indices of product number `product` (1-based)."""
        return range(self.product_start[product], self.product_start[product + 1])

    def variant_node(self, index: int, at_location: bool = True) -> dict[str, Any]:
        """The fields the connector reads of one ProductVariant.

        `inventoryQuantity` is the variant's `available` summed over the shop's
        locations; `inventoryItem.inventoryLevel` is the one location's (null when the
        query named another location). With one location they agree."""
        available = self.quantities[index]
        level = {"quantities": [{"name": "available", "quantity": available}]}
        return {
            "id": f"gid://shopify/ProductVariant/{index + 1}",
            "sku": self.skus[index],
            "inventoryQuantity": available,
            "product": {"id": f"gid://shopify/Product/{self.product_of[index]}"},
            "inventoryItem": {
                "id": f"gid://shopify/InventoryItem/{ITEM_BASE + index + 1}",
                "tracked": True,
                "inventoryLevel": level if at_location else None,
            },
        }

    def item_index(self, number: int) -> int | None:
        """Variant index of inventory item number `number`, or None if unknown."""
        index = number - ITEM_BASE - 1
        return index if 0 <= index < len(self.skus) and self.live(index) else None

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
            pairs = zip(self.skus, self.quantities, strict=True)
            return {sku: qty for index, (sku, qty) in enumerate(pairs) if self.live(index)}

    def known(self, skus: Iterable[str]) -> set[str]:
        with self.lock:
            return {sku for sku in skus if sku in self._index_of_sku}

    def index_of(self, sku: str) -> int | None:
        """The variant index of a live SKU, or None."""
        with self.lock:
            return self._index_of_sku.get(sku)

    def levels(self) -> dict[str, dict[str, int]]:
        """`available`, `committed` and `on_hand` by SKU, for tests reading back the truth."""
        with self.lock:
            return {
                sku: {
                    "available": self.quantities[index],
                    "committed": self.committed[index],
                    "on_hand": self.quantities[index] + self.committed[index],
                }
                for sku, index in self._index_of_sku.items()
            }

    def shift(self, index: int, available: int, committed: int) -> None:
        """Move an item's `available` and `committed` by these deltas, as an order, its
        fulfilment or a restock does; a change of `available` sends
        `inventory_levels/update`, as a write does."""
        with self.lock:
            self.committed[index] += committed
            if available:
                self.quantities[index] += available
                self._announce(index, self.quantities[index])

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

    def add_product(self, skus: Sequence[str]) -> int:
        """The merchant creates a product with one variant per SKU, none in stock, and
        Shopify sends `products/create`; return the product's number."""
        with self.lock:
            number = len(self.product_start) - 1  # the sentinel becomes its start
            for sku in skus:
                self._index_of_sku[sku] = len(self.skus)
                self.skus.append(sku)
                self.quantities.append(0)
                self.committed.append(0)
                self.product_of.append(number)
            self.product_start.append(len(self.skus))
        self._announce_product(number, "products/create")
        return number

    def rename_sku(self, old: str, new: str) -> None:
        """The merchant changes a variant's SKU; Shopify sends `products/update`."""
        with self.lock:
            index = self._index_of_sku[old]
            self.set_sku(index, new)
        self._announce_product(self.product_of[index], "products/update")

    def delete_product_of(self, sku: str) -> None:
        """The merchant deletes the product holding `sku`, variants and stock with it;
        Shopify sends `products/delete`."""
        with self.lock:
            number = self.product_of[self._index_of_sku[sku]]
            self.deleted.add(number)
            for index in self.variant_range(number):
                self._index_of_sku.pop(self.skus[index], None)
        self._announce_product(number, "products/delete")

    def _announce_product(self, number: int, topic: str) -> None:
        with self.lock:
            variants = [self.variant_node(i) for i in self.variant_range(number)]
        deleted = topic == "products/delete"
        self.send(topic, deleted_payload(number) if deleted else product_payload(number, variants))

    def _announce(self, index: int, available: int) -> None:
        """Send an `inventory_levels/update` webhook like Shopify's (docs/platforms.md §5).

        The body is the REST InventoryLevel shape; `admin_graphql_api_id` in it is
        UNCONFIRMED for the webhook (§5).
        """
        updated_at = now()
        item = ITEM_BASE + index + 1
        self.send(
            "inventory_levels/update",
            {
                "inventory_item_id": item,
                "location_id": LOCATION_NUMBER,
                "available": available,
                "updated_at": updated_at,
                "admin_graphql_api_id": (
                    f"gid://shopify/InventoryLevel/{LOCATION_NUMBER}?inventory_item_id={item}"
                ),
            },
            updated_at,
        )

    def send(self, topic: str, payload: Mapping[str, Any], at: str | None = None) -> None:
        """Deliver `payload` on `topic`, signed with the app's client secret: base64
        HMAC-SHA256 over the raw body (docs/platforms.md §5), to `config.webhook_url` and
        to every subscription to the topic. Each delivery has its own
        `X-Shopify-Webhook-Id`; they share one `X-Shopify-Event-Id` (section 5)."""
        body = json.dumps(payload, separators=(",", ":")).encode()
        secret = credentials_for("shopify", self.config.credentials)["client_secret"]
        event_id = str(uuid.uuid4())
        url = self.config.webhook_url
        if url:
            headers = delivery_headers(topic=topic, secret=secret, body=body, triggered_at=at)
            headers["X-Shopify-Event-Id"] = event_id
            self.webhooks.send(url, body, headers)
        for hook in self.hooks.listening(topic):
            headers = delivery_headers(topic=topic, secret=secret, body=body, triggered_at=at)
            headers["X-Shopify-Event-Id"] = event_id
            self.hooks.send(hook, Delivery(body, headers))
