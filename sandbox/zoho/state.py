"""The Zoho Inventory sandbox's world: one organization's items and its access tokens.

Item-level stock as Zoho reports it (section 6, correction 26): `stock_on_hand`, and
`available_stock` and `actual_available_stock` equal to it (they do not net out
committed stock); `committed_stock` (and its `actual_` twin), what confirmed sales
orders hold; `available_for_sale_stock` (and twin), on hand less committed. Some items
start with stock committed, so a connector reading the wrong figure fails the tests;
sales orders (`sandbox.zoho.salesorders`) commit more, and their invoices and shipments
take it off, quietly (no webhook; `last_modified_time` moves). The same per warehouse
in each item's `locations[]`, summing to the item level (`sandbox.zoho.stock`). At
most 10 access tokens per refresh token per 10 minutes, and item webhooks
authenticated only by a secret header the merchant sets: Zoho documents no signature
(docs/platforms.md section 6).
"""

from __future__ import annotations

import json
import time
import zlib
from collections import deque
from collections.abc import Iterable, Mapping
from typing import Any

from sandbox.accounts import credentials_for
from sandbox.base import SandboxConfig, SandboxState
from sandbox.bearer_tokens import IssuedTokens
from sandbox.catalog import erp_quantity, skus
from sandbox.zoho.salesorders import SalesOrders, now
from sandbox.zoho.stock import ACCOUNTING, PHYSICAL, adjust, stock_fields

#: Zoho's token limit: 10 access tokens per refresh token per 10 minutes (section 6).
TOKENS_PER_WINDOW = 10
TOKEN_WINDOW_SECONDS = 600.0
_FIRST_ITEM_ID = 4_815_000_000_044_000
_EPOCH = "2024-01-01T00:00:00+0000"


class ZohoState(SandboxState):
    """One organization's items and the access tokens minted for its refresh token."""

    def __init__(self, config: SandboxConfig) -> None:
        super().__init__(config)
        credentials = credentials_for("zoho", config.credentials)
        self.client = (credentials["client_id"], credentials["client_secret"])
        self.refresh_token = credentials["refresh_token"]
        self.organization_id = credentials["organization_id"]
        self.items = [
            self._item(index, sku, erp_quantity(sku, config.seed))
            for index, sku in enumerate(skus(config.items), start=1)
        ]
        # Items a stock sync must skip: an inactive one and a service without stock.
        self.items.append(self._item(len(self.items) + 1, "OLD-000001", 7) | {"status": "inactive"})
        service = self._item(len(self.items) + 1, "SERVICE-FEE", 0) | {"item_type": "service"}
        self.items.append(
            {k: v for k, v in service.items() if "stock" not in k and k != "locations"}
        )
        self.by_id = {item["item_id"]: item for item in self.items}
        self.by_sku = {item["sku"]: item for item in self.items}
        self.sales_orders = SalesOrders(self)
        #: Modules with a workflow rule whose webhook tells stocksync that stock moved
        #: (`/_sandbox/workflows`): none until a test sets them, as in a new org.
        self.stock_rules: frozenset[str] = frozenset()
        self.tokens = IssuedTokens("Zoho-oauthtoken", "1000.sandbox-zoho-token")
        self.mint_times: deque[float] = deque()

    @staticmethod
    def _item(index: int, sku: str, on_hand: int) -> dict[str, Any]:
        item = {
            "item_id": str(_FIRST_ITEM_ID + index),
            "name": f"Item {sku}",
            "sku": sku,
            "status": "active",
            "item_type": "inventory",
            "last_modified_time": _EPOCH,
        }
        key = zlib.crc32(sku.encode())
        # Spread over the three warehouses unevenly, by SKU: the others take up to 3/8
        # each, the primary the rest (and whatever is committed).
        east, depot = (on_hand * (key // 3 % 4) // 8, on_hand * (key // 12 % 4) // 8)
        shares = (on_hand - east - depot, east, depot)
        return item | stock_fields(shares, min(on_hand, key % 3))

    def stock(self) -> dict[str, int]:
        """On hand per active stocked item: what a site on the default basis sells."""
        return self._figure("stock_on_hand")

    def available_for_sale(self) -> dict[str, int]:
        """On hand less committed per active stocked item."""
        return self._figure("available_for_sale_stock")

    def _figure(self, field: str) -> dict[str, int]:
        with self.lock:
            return {
                item["sku"]: int(item[field])
                for item in self.items
                if item["status"] == "active" and field in item
            }

    def item_id(self, sku: str) -> str:
        """Zoho's id of the item: what its webhooks and `GET items/<id>` name."""
        return str(self.by_sku[sku]["item_id"])

    def known(self, skus: Iterable[str]) -> set[str]:
        return {sku for sku in skus if sku in self.by_sku}

    def set_stock(self, changes: Mapping[str, int]) -> None:
        """Set stock on hand, accounting and physical alike, as a stock adjustment does
        (committed stock stays; the locations change as `stock.adjust` says), and send
        the item workflow webhook if one is set."""
        with self.lock:
            for sku, quantity in changes.items():
                item = self.by_sku[sku]
                for kind in (ACCOUNTING, PHYSICAL):
                    adjust(item, kind, quantity - int(item[kind[0][0]]))
            self.touch(changes)

    def commit(self, orders: Mapping[str, int]) -> None:
        """Confirm a sales order of `orders` (SKU: units) with no reference number
        (`sales_orders.raise_order`)."""
        self.sales_orders.raise_order(orders, "", "confirmed")

    def post_adjustment(self, changes: Mapping[str, int]) -> None:
        """An inventory adjustment setting stock on hand (as `set_stock`) that sends no
        item workflow webhook, an adjustment being a record of its own module (as
        invoices, `sandbox.zoho.salesorders`); it stamps the items' `last_modified_time`
        (UNCONFIRMED, as for invoices)."""
        with self.lock:
            for sku, quantity in changes.items():
                item = self.by_sku[sku]
                for kind in (ACCOUNTING, PHYSICAL):
                    adjust(item, kind, quantity - int(item[kind[0][0]]))
            self.stamp(changes)
        lines = [{"sku": sku, "quantity": quantity} for sku, quantity in changes.items()]
        self.document_saved("inventoryadjustments", {"line_items": lines})

    def document_saved(self, module: str, document: dict[str, Any]) -> None:
        """The webhook of a workflow rule on `module` (invoices, shipments, inventory
        adjustments), if one is set: the document as JSON, the secret header, and
        `X-Stocksync-Event: stock-moved`, as stocksync's manual steps ask the merchant
        to configure (connectors/zoho_connection.py). Without a rule, nothing."""
        url = self.config.webhook_url
        if url and module in self.stock_rules:
            headers = {
                "Content-Type": "application/json",
                "X-Zoho-Webhook-Token": self.config.webhook_secret,
                "X-Stocksync-Event": "stock-moved",
            }
            self.webhooks.send(url, json.dumps({module: document}).encode(), headers)

    def touch(self, skus: Iterable[str]) -> None:
        """Stamp the items' `last_modified_time` and send the item workflow webhook: an
        edit of each."""
        self._send(self.stamp(skus))

    def stamp(self, skus: Iterable[str]) -> list[dict[str, Any]]:
        """Stamp the items' `last_modified_time` (a stock movement of each); copies of
        the items as they now are."""
        stamp = now()
        with self.lock:
            changed = []
            for sku in skus:
                item = self.by_sku[sku]
                item["last_modified_time"] = stamp
                changed.append(dict(item))
        return changed

    def deactivate(self, sku: str) -> None:
        """Mark an item inactive, as "Mark as Inactive" does: still listed and readable
        by id with `status: inactive`, its stock kept (section 6). It is an item edit,
        so an "Item add/edit" workflow sends its webhook."""
        with self.lock:
            self.by_sku[sku]["status"] = "inactive"
            self.touch([sku])

    def delete(self, sku: str) -> None:
        """Delete an item: gone from the list, 404 by id. No webhook: whether a workflow
        rule can fire on deletion is UNCONFIRMED (section 6), so the sandbox sends none
        and the nightly sync is what must notice."""
        with self.lock:
            item = self.by_sku.pop(sku)
            del self.by_id[item["item_id"]]
            self.items.remove(item)

    def _send(self, changed: list[dict[str, Any]]) -> None:
        url = self.config.webhook_url
        if url:
            # A workflow webhook carries what the merchant configured: here the item as
            # JSON and a secret header, the only authentication Zoho offers (section 6).
            headers = {
                "Content-Type": "application/json",
                "X-Zoho-Webhook-Token": self.config.webhook_secret,
            }
            for item in changed:
                self.webhooks.send(url, json.dumps({"item": item}).encode(), headers)

    def mint_token(self) -> str | None:
        """A new access token, or None once the 10-per-10-minutes limit is reached."""
        now = time.monotonic()
        with self.lock:
            recent = self.mint_times
            while recent and now - recent[0] >= TOKEN_WINDOW_SECONDS:
                recent.popleft()
            if len(recent) >= TOKENS_PER_WINDOW:
                return None
            recent.append(now)
        return self.tokens.mint()
