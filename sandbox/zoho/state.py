"""The Zoho Inventory sandbox's world: one organization's items and its access tokens.

Item-level stock as Zoho reports it (section 6, correction 26): `stock_on_hand`, and
`available_stock` and `actual_available_stock` equal to it (they do not net out
committed stock); `committed_stock` (and its `actual_` twin), what confirmed sales
orders hold; `available_for_sale_stock` (and twin), on hand less committed. Some items
start with stock committed, so a connector reading the wrong figure fails the tests;
`commit` raises a sales order to commit more. At most 10 access tokens per refresh
token per 10 minutes, and item webhooks authenticated only by a secret header the
merchant sets: Zoho documents no signature (docs/platforms.md section 6).
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

#: Zoho's token limit: 10 access tokens per refresh token per 10 minutes (section 6).
TOKENS_PER_WINDOW = 10
TOKEN_WINDOW_SECONDS = 600.0
_FIRST_ITEM_ID = 4_815_000_000_044_000
_EPOCH = "2024-01-01T00:00:00+0000"


def _now() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S+0000", time.gmtime())


def _stock(on_hand: int, committed: int) -> dict[str, float]:
    """An item's stock fields for `on_hand` units of which `committed` are committed."""
    for_sale = float(on_hand - committed)
    return {
        "stock_on_hand": float(on_hand),
        "available_stock": float(on_hand),
        "actual_available_stock": float(on_hand),
        "committed_stock": float(committed),
        "actual_committed_stock": float(committed),
        "available_for_sale_stock": for_sale,
        "actual_available_for_sale_stock": for_sale,
    }


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
        self.items.append({k: v for k, v in service.items() if "stock" not in k})
        self.by_id = {item["item_id"]: item for item in self.items}
        self.by_sku = {item["sku"]: item for item in self.items}
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
        return item | _stock(on_hand, min(on_hand, zlib.crc32(sku.encode()) % 3))

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
        """Set stock on hand (committed stock stays) and send the item workflow webhook
        if one is set."""
        stamp = _now()
        with self.lock:
            changed = []
            for sku, quantity in changes.items():
                item = self.by_sku[sku]
                item.update(_stock(quantity, int(item["committed_stock"])))
                item["last_modified_time"] = stamp
                changed.append(dict(item))
        self._send(changed)

    def commit(self, orders: Mapping[str, int]) -> None:
        """Confirm a sales order of `orders` (SKU: units): committed stock rises and
        available-for-sale falls at once, on hand stays until invoice or shipment
        (section 6, "What a sales order moves"). No item webhook: whether the item's
        `last_modified_time` moves is UNCONFIRMED, so the sandbox leaves it."""
        with self.lock:
            for sku, units in orders.items():
                item = self.by_sku[sku]
                on_hand = int(item["stock_on_hand"])
                item.update(_stock(on_hand, int(item["committed_stock"]) + units))

    def deactivate(self, sku: str) -> None:
        """Mark an item inactive, as "Mark as Inactive" does: still listed and readable
        by id with `status: inactive`, its stock kept (section 6). It is an item edit,
        so an "Item add/edit" workflow sends its webhook."""
        with self.lock:
            item = self.by_sku[sku]
            item.update(status="inactive", last_modified_time=_now())
            changed = [dict(item)]
        self._send(changed)

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
