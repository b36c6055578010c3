"""The WooCommerce sandbox's world: the catalog, the store's API keys and its webhooks.

Every stock change sends `product.updated`, whether it came through the API or from
outside (an order, the admin screen): docs/platforms.md sections 1 and 2. Each event goes
to the webhook the config names (`SandboxConfig.webhook_url`, set up outside the API) and
to every active webhook made through `/wc/v3/webhooks` with that topic, each signed with
its own secret; those count their failures and are disabled by WC's rule
(`sandbox.woocommerce.hook_rules`).
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Mapping, Sequence

import requests
from flask import has_request_context, request

from sandbox.accounts import credentials_for
from sandbox.base import DeliveryRules, SandboxConfig, SandboxState
from sandbox.hooks import Hook, HookBook
from sandbox.woocommerce import hook_rules
from sandbox.woocommerce.auth import Authenticator
from sandbox.woocommerce.catalog import Catalog, Product
from sandbox.woocommerce.orders import DRAFTS, UNDELIVERED, Line, Order, OrderBook, order_json
from sandbox.woocommerce.webhooks import WEBHOOK_ID, delivery_headers, encode_body, ping_request

API = "/wp-json/wc/v3"
#: `wp_safe_remote_post()`'s default timeout, which `deliver_ping()` keeps.
PING_TIMEOUT_SECONDS = 5.0
#: A scheme no HTTP client speaks: a request WordPress refuses to send fails at once.
REFUSED = "refused-by-wp-http-validate-url+"


class WooCommerceState(SandboxState):
    """The catalog, the store's API keys and its webhooks."""

    #: WooCommerce waits 60 s, follows no redirect, and counts 200-302 as delivered
    #: (docs/platforms.md section 1, "Delivery").
    DELIVERY = DeliveryRules(timeout=60.0, last_success=302)

    def __init__(self, config: SandboxConfig) -> None:
        super().__init__(config)
        self.catalog = Catalog(config.items, config.drift, config.seed)
        credentials = credentials_for("woocommerce", config.credentials)
        self.auth = Authenticator(credentials["consumer_key"], credentials["consumer_secret"])
        self.orders = OrderBook(self.catalog)
        self.hooks = HookBook(self.clock, self.webhooks, self.reach)
        self.hooks.on_failure = self._failed_delivery
        #: Ids of webhooks made through the API, after the configured one's.
        self.hook_ids = itertools.count(WEBHOOK_ID + 1)

    # Webhooks made through `/wc/v3/webhooks` -------------------------------------------

    def reach(self, url: str) -> str:
        """Where a delivery or ping to `url` goes: nowhere if WordPress refuses the URL
        (`hook_rules.safe_url`), so it fails like WC's WP_Error; else the forward."""
        forwarded = any(url.startswith(public) for public in self.config.forward)
        if not hook_rules.safe_url(url, public=forwarded):
            return REFUSED + url
        return super().reach(url)

    def _failed_delivery(self, hook: Hook) -> None:
        """`WC_Webhook::failed_delivery()`, run by the book (under its lock, from the
        delivery thread) once it counted the failure. It saves the webhook either way,
        which sets `date_modified`. It takes no `lock`, which a route may hold while it
        asks the book; an edit racing a failure ends as whichever wrote last, as two
        saves of one webhook do in WC."""
        if hook_rules.over_failure_limit(hook):
            hook_rules.set_status(hook, "disabled")
        hook.extra["modified"] = self.clock.now()

    def ping(self, hook: Hook) -> bool:
        """`WC_Webhook::deliver_ping()`: True if answered exactly 200, which clears
        `pending_delivery` and saves. Blocking, as in WC; call it without `lock`."""
        body, headers = ping_request(int(hook.id))
        try:
            response = requests.post(
                self.reach(hook.url), data=body, headers=headers, timeout=PING_TIMEOUT_SECONDS
            )
        except requests.RequestException:
            return False  # WC returns a WP_Error, which its callers ignore.
        if response.status_code != 200:
            return False
        hook.extra["pending_delivery"] = False
        hook.extra["modified"] = self.clock.now()
        return True

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
        if not self.config.webhook_url and not any(self.hooks.listening("product.updated")):
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
        """One signed `<resource>.<event>` delivery per payload to the configured webhook,
        if set, and to each active webhook of that topic, signed with its own secret.

        Deliveries to the API's webhooks go through the book, which counts their outcome
        for WC's failure rule; the configured one's failures are only counted.
        """
        url = self.config.webhook_url
        hooks = list(self.hooks.listening(f"{resource}.{event}"))
        if not url and not hooks:
            return
        source = self._source()
        for payload in payloads:
            body = encode_body(payload)
            if url:
                headers = delivery_headers(
                    source=source,
                    resource=resource,
                    event=event,
                    secret=self.config.webhook_secret,
                    body=body,
                )
                self.webhooks.send(url, body, headers)
            for hook in hooks:
                headers = delivery_headers(
                    source=source,
                    resource=resource,
                    event=event,
                    secret=hook.secret or "",
                    body=body,
                    webhook_id=int(hook.id),
                )
                self.hooks.deliver(hook, body, headers)
