"""The BigCommerce sandbox's world: the catalog, its indexes and the Inventory API's rules.

The catalog's shape is `sandbox.bigcommerce.catalog`'s; here are the writes: which
requests BigCommerce refuses whole (a 422 that saves nothing, docs/platforms.md section 4),
and the inventory webhook each change sends (section 3). Orders live in `orders` (an
`OrderDesk`), which moves levels here, under the same lock, as the store's inventory
settings say.

Webhooks: every event goes, as before, to the one configured `webhook_url` with the
configured secret header, and also to every active hook registered through
`/v3/hooks` (`sandbox.bigcommerce.hook_routes`) whose scope matches, with that hook's
`headers` echoed. Failed deliveries are counted by the `HookBook`; a hook failing for
48 h on the sandbox clock, or idle for 90 days, is deactivated
(`sandbox.bigcommerce.hook_rules`). The sandbox does not retry: where BigCommerce would
retry a failed event for 48 h, and keep the hook if a retry got through, the sandbox
deactivates it when the 48 h are up unless a later delivery succeeded meanwhile.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from sandbox.accounts import credentials_for
from sandbox.base import SandboxConfig, SandboxState
from sandbox.bigcommerce.catalog import Variant, seed_products
from sandbox.bigcommerce.hook_rules import LAST_EVENT, deactivation_due, scope_matches
from sandbox.bigcommerce.order_desk import OrderDesk
from sandbox.bigcommerce.orders import InventorySettings
from sandbox.bigcommerce.scopes import granted_scopes
from sandbox.bigcommerce.webhooks import (
    SECRET_HEADER,
    envelope,
    inventory_payload,
    order_data,
    product_payload,
    signed_headers,
)
from sandbox.hooks import Hook, HookBook

#: Most stock one item may hold at one location (docs/platforms.md section 4).
MAX_LEVEL = 2_147_483_647
#: The one location the sandbox has: BigCommerce's default location id.
DEFAULT_LOCATION = 1


class Rejected(Exception):
    """A request the platform refuses whole, saving nothing: the 422 of section 4."""

    def __init__(self, messages: Sequence[str]) -> None:
        super().__init__("; ".join(messages))
        self.messages = list(messages)


class BigCommerceState(SandboxState):
    """Products and variants in id order, with lookups by id and SKU."""

    def __init__(self, config: SandboxConfig) -> None:
        super().__init__(config)
        credentials = credentials_for("bigcommerce", config.credentials)
        self.store_hash = credentials["store_hash"]
        self.access_token = credentials["access_token"]
        self.client_secret = credentials["client_secret"]
        self.store_id = credentials["store_id"]
        #: The API account's client id, which its hooks name (`webhook_Full.client_id`).
        self.client_id = credentials.get("client_id") or f"sandbox-client-{self.store_hash}"
        self.scopes = granted_scopes(credentials)
        self.hooks = HookBook(self.clock, self.webhooks, self.reach)
        self.hooks.on_failure = self._deactivate_if_due
        self.products = seed_products(config.items, config.drift, config.seed)
        self.product_by_id = {product.id: product for product in self.products}
        self.variants = [variant for product in self.products for variant in product.variants]
        self.variant_by_id = {variant.id: variant for variant in self.variants}
        self.variant_by_sku = {variant.sku: variant for variant in self.variants}
        self.inventory_settings = InventorySettings()
        self.orders = OrderDesk(self)

    def stock(self) -> dict[str, int]:
        with self.lock:
            return {v.sku: v.level for v in self.variants}

    # -- writes -----------------------------------------------------------------------

    def known(self, skus: Iterable[str]) -> set[str]:
        return {sku for sku in skus if sku in self.variant_by_sku}

    def set_stock(self, changes: Mapping[str, int]) -> None:
        """A merchant's control-panel edit: set levels by SKU and send the webhooks.

        The control route refuses unknown SKUs first (400); a direct caller naming one
        gets KeyError before anything is set.
        """
        with self.lock:
            targets = [(self.variant_by_sku[sku], quantity) for sku, quantity in changes.items()]
        self._apply(targets)

    def adjust_absolute(self, items: Sequence[Any]) -> None:
        """`PUT /v3/inventory/adjustments/absolute`: all items valid, or `Rejected`.

        BigCommerce rejects the whole request and saves nothing when one item is wrong
        (docs/platforms.md section 4, inventory-adjustments.mdx); every message names its
        item the way its documented example does ("Item with variant_id 106 ...").
        """
        targets, errors = [], []
        with self.lock:
            for item in items:
                target, error = self._resolve(item)
                if error is not None:
                    errors.append(error)
                elif target is not None:
                    targets.append(target)
        if errors:
            raise Rejected(errors)
        self._apply(targets)

    def update_variants(self, items: Sequence[Any]) -> list[Variant]:
        """`PUT /v3/catalog/variants`: levels above the maximum are clamped, as the Catalog
        API does (docs/platforms.md section 4); unknown ids and negative levels reject all."""
        targets, errors = [], []
        with self.lock:
            for item in items:
                variant_id = _as_int(item.get("id")) if isinstance(item, dict) else None
                variant = self.variant_by_id.get(variant_id) if variant_id is not None else None
                level = item.get("inventory_level") if isinstance(item, dict) else None
                if variant is None:
                    errors.append(f"Variant with id {item!r} not found")
                elif level is None:
                    continue
                elif _as_int(level) is None or level < 0:
                    errors.append(
                        f"Variant with id {variant.id}: invalid inventory_level {level!r}"
                    )
                else:
                    targets.append((variant, min(level, MAX_LEVEL)))
        if errors:
            raise Rejected(errors)
        self._apply(targets)
        return [variant for variant, _ in targets]

    def _resolve(self, item: Any) -> tuple[tuple[Variant, int] | None, str | None]:
        """The variant an adjustment item names and its new level, or why it is refused."""
        if not isinstance(item, dict):
            return None, f"Item {item!r} must be an object"
        keys = [k for k in ("variant_id", "product_id", "sku") if k in item]
        if len(keys) != 1:
            return None, f"Item {item!r} must name exactly one of variant_id, product_id, sku"
        key, value = keys[0], item[keys[0]]
        label = f"Item with {key} {value}"
        if _as_int(item.get("location_id")) != DEFAULT_LOCATION:
            return None, f"{label}: location_id {item.get('location_id')!r} not found"
        quantity = _as_int(item.get("quantity"))
        if quantity is None or not 0 <= quantity <= MAX_LEVEL:
            return None, f"{label} has quantity {item.get('quantity')!r}, not 0..{MAX_LEVEL}"
        if key == "variant_id":
            variant = self.variant_by_id.get(_as_int(value) or 0)
            if variant is None:
                return None, f"{label} not found"
            if self.product_by_id[variant.product_id].tracking == "product":
                return None, f"{label} is tracked by product, please update stock by product id"
            return (variant, quantity), None
        if key == "product_id":
            product = self.product_by_id.get(_as_int(value) or 0)
            if product is None:
                return None, f"{label} not found"
            if product.tracking == "variant":
                return None, f"{label} is tracked by variant, please update stock by variant id"
            return (product.variants[0], quantity), None
        variant = self.variant_by_sku.get(str(value))
        if variant is None:
            return None, f"{label} not found"
        return (variant, quantity), None

    def _apply(self, targets: Sequence[tuple[Variant, int]]) -> None:
        """Set levels; send one inventory webhook per level that actually changed.

        BigCommerce fires its inventory hooks for API and control-panel changes alike
        (docs/platforms.md section 3), so the sandbox echoes stocksync's own writes too.
        """
        with self.lock:
            changed = [(v, q) for v, q in targets if v.level != q]
            for variant, quantity in changed:
                variant.level = quantity
        self.notify_levels(changed)

    def move_levels(self, moves: Mapping[int, int]) -> list[tuple[Variant, int]]:
        """An order's relative change of levels (variant id to units, negative to take):
        kept within 0..MAX_LEVEL, variants deleted since skipped. Returns each variant
        that moved with the units it actually moved by. Callers hold the lock, so a
        check of the order and the move are one step."""
        moved = []
        for variant_id, units in moves.items():
            variant = self.variant_by_id.get(variant_id)
            if variant is None:
                continue
            level = min(MAX_LEVEL, max(0, variant.level + units))
            if level != variant.level:
                moved.append((variant, level - variant.level))
                variant.level = level
        return moved

    def notify_levels(
        self, changes: Sequence[tuple[Variant, int]], *, by_order: bool = False
    ) -> None:
        """One inventory webhook per changed level: the new level, or with `by_order`
        the order's change (`sandbox.bigcommerce.webhooks.inventory_payload`)."""
        if self.config.webhook_url is None and not self.hooks.all():
            return
        for variant, value in changes:
            by_variant = self.product_by_id[variant.product_id].tracking == "variant"
            payload = inventory_payload(
                store_id=self.store_id,
                store_hash=self.store_hash,
                product_id=variant.product_id,
                variant_id=variant.id if by_variant else None,
                sku_id=variant.sku_id,
                value=value,
                created_at=int(time.time()),
                by_order=by_order,
            )
            self._send(payload)

    def rename_sku(self, old: str, new: str) -> None:
        """The merchant changes a variant's SKU in the control panel; BigCommerce sends
        `store/product/updated` for its product (docs/platforms.md section 3)."""
        with self.lock:
            variant = self.variant_by_sku.pop(old)
            variant.sku = new
            self.variant_by_sku[new] = variant
            product = self.product_by_id[variant.product_id]
            if product.sku == old:
                product.sku = new
        self._announce("store/product/updated", product.id)

    def delete_product_of(self, sku: str) -> None:
        """The merchant deletes the product holding `sku`; BigCommerce sends
        `store/product/deleted`, and reads of the product answer 404."""
        with self.lock:
            product = self.product_by_id.pop(self.variant_by_sku[sku].product_id)
            self.products.remove(product)
            for variant in product.variants:
                self.variants.remove(variant)
                del self.variant_by_id[variant.id], self.variant_by_sku[variant.sku]
        self._announce("store/product/deleted", product.id)

    def _announce(self, scope: str, product_id: int) -> None:
        self._send(
            product_payload(
                scope,
                store_id=self.store_id,
                store_hash=self.store_hash,
                product_id=product_id,
                created_at=int(time.time()),
            )
        )

    def announce_order(self, scope: str, order_id: int, **extra: Any) -> None:
        """A `store/order/*` event naming the order (docs/platforms.md section 3)."""
        self._send(
            envelope(
                scope,
                order_data(order_id, **extra),
                store_id=self.store_id,
                store_hash=self.store_hash,
                created_at=int(time.time()),
            )
        )

    def _send(self, payload: dict[str, Any]) -> None:
        """Deliver one event to the configured webhook and to every active hook whose
        scope matches, signed as BigCommerce signs (docs/platforms.md sections 3, 9)."""
        body = json.dumps(payload).encode()
        # Real time, not the sandbox clock: receivers check it against their own clock.
        timestamp = int(time.time())
        url = self.config.webhook_url
        if url is not None:
            headers = signed_headers(
                body,
                client_secret=self.client_secret,
                hook_headers={SECRET_HEADER: self.config.webhook_secret},
                timestamp=timestamp,
            )
            self.webhooks.send(url, body, headers)
        now = self.clock.now()
        for hook in self.hooks.all():
            if hook.active and scope_matches(hook.topic, payload["scope"]):
                hook.extra[LAST_EVENT] = now
                headers = signed_headers(
                    body,
                    client_secret=self.client_secret,
                    hook_headers=hook.extra.get("headers") or {},
                    timestamp=timestamp,
                )
                self.hooks.deliver(hook, body, headers)

    def clock_advanced(self) -> None:
        """Deactivate the hooks BigCommerce would have by now (`deactivation_due`)."""
        for hook in self.hooks.all():
            self._deactivate_if_due(hook)

    def _deactivate_if_due(self, hook: Hook) -> None:
        """`is_active` false once the hook failed for 48 h or idled for 90 days; also
        the book's `on_failure`, run after it counted a failed delivery."""
        if deactivation_due(hook, self.clock.now()):
            hook.active = False


def _as_int(value: Any) -> int | None:
    """`value` if it is a JSON integer (not a bool, not a string of digits)."""
    return value if isinstance(value, int) and not isinstance(value, bool) else None
