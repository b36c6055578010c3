"""The Business Central sandbox's world: one company's items, tokens, subscriptions and
sales documents (`sandbox.businesscentral.sales`).

Simplified from docs/platforms.md section 7: notifications go out at once, one entry per
changed item (BC waits 30 s and collapses more than 1,000 changes into one `collection`
entry). Besides the subscriptions stocksync registers, `config.webhook_url` acts as one
more live subscription whose `clientState` is `config.webhook_secret`.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from datetime import timedelta
from typing import Any

from sandbox.accounts import credentials_for
from sandbox.base import SandboxConfig, SandboxState
from sandbox.bearer_tokens import IssuedTokens
from sandbox.businesscentral.odata import filter_values, stable_id, timestamp
from sandbox.businesscentral.sales import SalesDocuments
from sandbox.catalog import erp_quantity, skus

SUBSCRIPTION_LIFETIME = timedelta(days=3)
_EPOCH = "2024-01-01T00:00:00.000000Z"


class BusinessCentralState(SandboxState):
    """One company's items, the tokens issued and the webhook subscriptions."""

    def __init__(self, config: SandboxConfig) -> None:
        super().__init__(config)
        credentials = credentials_for("businesscentral", config.credentials)
        self.client_id = credentials["client_id"]
        self.client_secret = credentials["client_secret"]
        self.company_id = credentials["company_id"]
        rows = [
            self._row(sku, "Inventory", erp_quantity(sku, config.seed))
            for sku in skus(config.items)
        ]
        # Rows a stock sync must skip: a service and a blocked item.
        rows += [self._row("SERVICE-FEE", "Service", 0), self._row("OLD-000001", "Inventory", 7)]
        rows[-1]["blocked"] = True
        # Sorted by number like BC's primary key, so `$skiptoken` can be the last number.
        self.items = sorted(rows, key=lambda row: row["number"])
        self.by_number = {row["number"]: row for row in self.items}
        self.by_id = {row["id"]: row for row in self.items}
        self.tokens = IssuedTokens("Bearer", "sandbox-bc-token")
        self.subscriptions: dict[str, dict[str, Any]] = {}
        self.sales = SalesDocuments(self)

    def _row(self, number: str, kind: str, quantity: int) -> dict[str, Any]:
        return {
            "id": stable_id(f"{self.company_id}:{number}"),
            "number": number,
            "displayName": f"Item {number}",
            "type": kind,
            "blocked": False,
            "gtin": "",
            "baseUnitOfMeasureCode": "PCS",
            "inventory": float(quantity),
            "lastModifiedDateTime": _EPOCH,
        }

    def stock(self) -> dict[str, int]:
        with self.lock:
            return {
                row["number"]: int(row["inventory"])
                for row in self.items
                if row["type"] == "Inventory" and not row["blocked"]
            }

    def item_id(self, number: str) -> str:
        """The item's GUID: what notices and `items(<id>)` name."""
        return str(self.by_number[number]["id"])

    def known(self, skus: Iterable[str]) -> set[str]:
        return {sku for sku in skus if sku in self.by_number}

    def set_stock(self, changes: Mapping[str, int]) -> None:
        """Post stock and notify every live subscription (and `config.webhook_url`)."""
        now = timestamp()
        with self.lock:
            for number, quantity in changes.items():
                self.by_number[number].update(inventory=float(quantity), lastModifiedDateTime=now)
            ids = [self.by_number[number]["id"] for number in changes]
        self._notify(ids, "updated", now)

    def block(self, number: str) -> None:
        """Block an item, as a user does on its card: still listed, no longer sellable;
        the record changes, so subscriptions get an `updated` notice (section 7)."""
        now = timestamp()
        with self.lock:
            row = self.by_number[number]
            row.update(blocked=True, lastModifiedDateTime=now)
        self._notify([row["id"]], "updated", now)

    def delete(self, number: str) -> None:
        """Delete an item: gone from every read (404 by id), and a `deleted` notice."""
        now = timestamp()
        with self.lock:
            row = self.by_number.pop(number)
            del self.by_id[row["id"]]
            self.items.remove(row)
        self._notify([row["id"]], "deleted", now)

    def _notify(self, ids: list[str], change: str, now: str) -> None:
        """One notice per item to every live subscription (and `config.webhook_url`)."""
        with self.lock:
            targets = [s for s in self.subscriptions.values() if s["expirationDateTime"] > now]
        if self.config.webhook_url:
            targets.append(
                {
                    "subscriptionId": stable_id("config-webhook").replace("-", ""),
                    "notificationUrl": self.config.webhook_url,
                    "clientState": self.config.webhook_secret,
                    "expirationDateTime": timestamp(SUBSCRIPTION_LIFETIME),
                }
            )
        by_url: dict[str, list[dict[str, Any]]] = {}
        for sub in targets:
            by_url.setdefault(sub["notificationUrl"], []).extend(
                {
                    "subscriptionId": sub["subscriptionId"],
                    "clientState": sub["clientState"],
                    "expirationDateTime": sub["expirationDateTime"],
                    "resource": f"api/v2.0/companies({self.company_id})/items({item_id})",
                    "changeType": change,
                    "lastModifiedDateTime": now,
                }
                for item_id in ids
            )
        # One POST may mix several subscriptions of the same URL (section 7).
        for url, entries in by_url.items():
            body = json.dumps({"value": entries}).encode()
            self.webhooks.send(url, body, {"Content-Type": "application/json"})

    def select(self, expression: str | None) -> list[dict[str, Any]]:
        """The rows a `$filter` keeps; without one, the live list itself (no copy)."""
        if expression is None:
            return self.items
        numbers = filter_values(expression, "number")
        return [self.by_number[n] for n in sorted(numbers) if n in self.by_number]
