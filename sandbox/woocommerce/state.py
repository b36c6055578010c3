"""The WooCommerce sandbox's world: the catalog, the store's API key and its one webhook.

Every stock change sends `product.updated`, whether it came through the API or from
outside (an order, the admin screen): docs/platforms.md sections 1 and 2.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence

from flask import has_request_context, request

from sandbox.accounts import credentials_for
from sandbox.base import SandboxConfig, SandboxState
from sandbox.woocommerce.auth import Authenticator
from sandbox.woocommerce.catalog import Catalog, Product
from sandbox.woocommerce.orders import DRAFTS, UNDELIVERED, Line, Order, OrderBook, order_json
from sandbox.woocommerce.webhooks import delivery_headers, encode_body

API = "/wp-json/wc/v3"


class WooCommerceState(SandboxState):
    """The catalog, the store's API key and its one webhook."""

    def __init__(self, config: SandboxConfig) -> None:
        super().__init__(config)
        self.catalog = Catalog(config.items, config.drift, config.seed)
        credentials = credentials_for("woocommerce", config.credentials)
        self.auth = Authenticator(credentials["consumer_key"], credentials["consumer_secret"])
        self.orders = OrderBook(self.catalog)

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

    def rename_sku(self, old: str, new: str) -> None:
        """The merchant changes a SKU in the admin; WooCommerce sends `product.updated`."""
        with self.lock:
            product = self.catalog.sellable_by_sku(old)
            if product is None:
                raise KeyError(old)
            self.catalog.apply(product, {"sku": new})
        self.notify([product])

    def delete_product_of(self, sku: str) -> None:
        """The merchant deletes the product holding `sku` (to the trash, WordPress's
        delete); WooCommerce sends `product.deleted` with `{"id": <id>}` alone
        (docs/platforms.md section 1)."""
        with self.lock:
            product = self.catalog.sellable_by_sku(sku)
            if product is None:
                raise KeyError(sku)
            if product.parent_id:
                product = self.catalog.records[product.parent_id]
            self.catalog.trash(product)
        self._deliver("product", "deleted", [{"id": product.id}])

    def place_order(self, lines: Sequence[tuple[Product, int]], status: str) -> Order:
        """A shopper's order, sending `order.created`; a draft sends nothing, since
        `woocommerce_new_order` fires only when it becomes an order (section 1, "Drafts")."""
        with self.lock:
            order, changed = self.orders.place(lines, status)
        self._order_changed(order, None if status in DRAFTS else "created", changed)
        return order

    def set_order_status(self, order: Order, status: str) -> None:
        """A status change: `order.updated`, or `order.created` for a draft becoming an
        order (section 1, "Drafts", since woocommerce/woocommerce#47422)."""
        with self.lock:
            placed = order.status in DRAFTS and status not in DRAFTS
            changed = self.orders.set_status(order, status)
        self._order_changed(order, "created" if placed else "updated", changed)

    def refund_order(self, order: Order, lines: Sequence[tuple[Line, int]], restock: bool) -> None:
        """A refund: `woocommerce_order_refunded` fires `order.updated`."""
        with self.lock:
            changed = self.orders.refund(order, lines, restock)
        self._order_changed(order, "updated", changed)

    def _order_changed(self, order: Order, event: str | None, products: Iterable[Product]) -> None:
        """Deliver `order.<event>`, its body built at delivery time, then `product.updated`
        for each product whose stock moved. `is_valid_resource()` drops every delivery of
        a `draft`/`auto-draft` order; a `checkout-draft` still reaches `order.updated`
        (woocommerce/woocommerce#66995)."""
        with self.lock:
            body = order_json(order)
        if event is not None and order.status not in UNDELIVERED:
            self._deliver("order", event, [body])
        self.notify(products)

    def notify(self, products: Iterable[Product]) -> None:
        """Send `product.updated` for each changed post, a variation with its own id.

        One delivery per post per request, like WC's `is_already_processed()`.
        """
        if not self.config.webhook_url:
            return
        api_root = self._source().rstrip("/") + API
        with self.lock:
            bodies = [
                self.catalog.to_json(p, api_root) for p in {p.id: p for p in products}.values()
            ]
        self._deliver("product", "updated", bodies)

    def _source(self) -> str:
        return request.host_url if has_request_context() else "http://localhost/"

    def _deliver(self, resource: str, event: str, payloads: Iterable[Mapping[str, object]]) -> None:
        """One signed `<resource>.<event>` delivery per payload to the webhook, if set."""
        url = self.config.webhook_url
        if not url:
            return
        for payload in payloads:
            body = encode_body(payload)
            headers = delivery_headers(
                source=self._source(),
                resource=resource,
                event=event,
                secret=self.config.webhook_secret,
                body=body,
            )
            self.webhooks.send(url, body, headers)
