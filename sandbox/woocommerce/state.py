"""The WooCommerce sandbox's world: the catalog, the store's API key and its one webhook.

Every stock change sends `product.updated`, whether it came through the API or from
outside (an order, the admin screen): docs/platforms.md sections 1 and 2.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from flask import has_request_context, request

from sandbox.accounts import credentials_for
from sandbox.base import SandboxConfig, SandboxState
from sandbox.woocommerce.auth import Authenticator
from sandbox.woocommerce.catalog import Catalog, Product
from sandbox.woocommerce.webhooks import delivery_headers, encode_body

API = "/wp-json/wc/v3"


class WooCommerceState(SandboxState):
    """The catalog, the store's API key and its one webhook."""

    def __init__(self, config: SandboxConfig) -> None:
        super().__init__(config)
        self.catalog = Catalog(config.items, config.drift, config.seed)
        credentials = credentials_for("woocommerce", config.credentials)
        self.auth = Authenticator(credentials["consumer_key"], credentials["consumer_secret"])

    def stock(self) -> dict[str, int]:
        with self.lock:
            return {p.sku: p.stock_quantity or 0 for p in self.catalog.sellable()}

    def known(self, skus: Iterable[str]) -> set[str]:
        """SKUs of sellable posts; a variable parent's SKU holds no stock of its own."""
        with self.lock:
            return {sku for sku in skus if self.catalog.sellable_by_sku(sku) is not None}

    def set_stock(self, changes: Mapping[str, int]) -> None:
        """A stock change made outside the API (an order, the admin screen).

        The control route refuses unknown SKUs first (400); a direct caller naming one
        gets KeyError before anything is set.
        """
        with self.lock:
            targets = []
            for sku, quantity in changes.items():
                product = self.catalog.sellable_by_sku(sku)
                if product is None:
                    raise KeyError(sku)
                targets.append((product, quantity))
            changed = [p for p, q in targets if self.catalog.set_quantity(p, q)]
        self.notify(changed)

    def notify(self, products: Iterable[Product]) -> None:
        """Send `product.updated` for each changed post, a variation with its own id.

        One delivery per post per request, like WC's `is_already_processed()`.
        """
        url = self.config.webhook_url
        if not url:
            return
        source = request.host_url if has_request_context() else "http://localhost/"
        api_root = source.rstrip("/") + API
        for product in {p.id: p for p in products}.values():
            with self.lock:
                body = encode_body(self.catalog.to_json(product, api_root))
            headers = delivery_headers(
                source=source,
                resource="product",
                event="updated",
                secret=self.config.webhook_secret,
                body=body,
            )
            self.webhooks.send(url, body, headers)
