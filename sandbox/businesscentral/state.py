"""The Business Central sandbox's world: one company's items, tokens, subscriptions and
sales documents (`sandbox.businesscentral.sales`).

Simplified from docs/platforms.md section 7: notifications go out at once, one entry per
changed item (BC waits 30 s and collapses more than 1,000 changes into one `collection`
entry). Besides the subscriptions stocksync registers (`hooks`, on the sandbox's clock:
they expire `SUBSCRIPTION_LIFETIME` after their creation or last renewal, and a failing
one is deleted as `sandbox.businesscentral.notices` says), `config.webhook_url` acts as
one more live subscription whose `clientState` is `config.webhook_secret`, which never
expires and is never deleted.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

from sandbox.accounts import credentials_for
from sandbox.base import SandboxConfig, SandboxState
from sandbox.bearer_tokens import IssuedTokens
from sandbox.businesscentral.ledger import PURCHASE, ItemLedger
from sandbox.businesscentral.notices import RETRY_PERIOD, retried
from sandbox.businesscentral.odata import (
    after_time,
    filter_values,
    guid_values,
    stable_id,
    timestamp,
)
from sandbox.businesscentral.sales import MODIFIED, SalesDocuments
from sandbox.catalog import erp_quantity, skus
from sandbox.hooks import Hook, HookBook

#: A subscription lives 3 days unless renewed (`dynamics-subscriptions.md`; the
#: on-premises setting `ApiSubscriptionExpiration`, default 3 days).
SUBSCRIPTION_LIFETIME = timedelta(days=3)
#: Most subscriptions BC online holds per environment (`operational-limits-online.md`,
#: "Max number of webhook subscriptions": 200).
MAX_SUBSCRIPTIONS = 200
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
        #: What the Entra app may do in BC (`/_sandbox/app`): `api_permission` False is an
        #: app without the consented `API.ReadWrite.All` permission or missing from BC's
        #: "Microsoft Entra Applications" page (its tokens are refused, 401);
        #: `item_permission` False is one whose permission sets do not cover items (403).
        self.api_permission = True
        self.item_permission = True
        #: The webhook subscriptions; `Hook.topic` is the resource without its leading
        #: slash, `Hook.secret` the `clientState`.
        self.hooks = HookBook(self.clock, self.webhooks, self.reach)
        self.hooks.on_failure = self._delivery_failed
        self.sales = SalesDocuments(self)
        #: Every stock movement as item ledger entries (`sandbox.businesscentral.ledger`),
        #: starting with one opening entry per stocked item.
        self.ledger = ItemLedger(self.company_id)
        for row in self.items:
            if row["type"] == "Inventory":
                self.ledger.adjust(row["number"], row["inventory"], "START")

    @property
    def items_resource(self) -> str:
        """The one resource the sandbox takes subscriptions to (section 7)."""
        return f"api/v2.0/companies({self.company_id})/items"

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
        """Post stock and notify every live subscription (and `config.webhook_url`): an
        adjustment that also edits the Item record, the one kind of stock change an
        `items` subscription hears of (for one that edits nothing, `post_journal`)."""
        now = timestamp()
        with self.lock:
            self._adjust(changes, "SANDBOX-SET")
            for number in changes:
                self.by_number[number]["lastModifiedDateTime"] = now
            ids = [self.by_number[number]["id"] for number in changes]
        self._notify(ids, "updated", now)

    def post_journal(self, changes: Mapping[str, int], document: str) -> None:
        """Post an item journal that sets each item's stock to `changes` (item number:
        units): adjustment ledger entries only, so the Item record, its
        `lastModifiedDateTime` and every subscription stay silent (section 7, "Stock
        movements and webhooks")."""
        with self.lock:
            self._adjust(changes, document)

    def receive(self, lines: Mapping[str, int], document: str) -> None:
        """Post a purchase receipt of `lines` (item number: units): `Purchase` ledger
        entries that raise inventory, and, like any posting, no notice."""
        with self.lock:
            for number, units in lines.items():
                self.by_number[number]["inventory"] += float(units)
                self.ledger.post(number, units, PURCHASE, document, "Purchase_x0020_Receipt")

    def _adjust(self, changes: Mapping[str, int], document: str) -> None:
        for number, quantity in changes.items():
            row = self.by_number[number]
            self.ledger.adjust(number, float(quantity) - row["inventory"], document)
            row["inventory"] = float(quantity)

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
        """One notice per item to every live subscription (and `config.webhook_url`).

        BC may mix several subscriptions of one URL in a POST (section 7); the sandbox
        sends one POST per subscription, so each answer counts for the one it was for.
        """
        headers = {"Content-Type": "application/json"}
        if self.config.webhook_url:
            config_id = stable_id("config-webhook").replace("-", "")
            expires = timestamp(SUBSCRIPTION_LIFETIME)
            secret = self.config.webhook_secret
            body = self._notice(config_id, secret, expires, ids, change, now)
            self.webhooks.send(self.config.webhook_url, body, headers)
        clock = self.clock.now()
        for hook in self.hooks.listening(self.items_resource):
            if hook.expires_at is not None and hook.expires_at <= clock:
                continue  # expired, not yet swept by `clock_advanced`
            expires = instant(hook.expires_at)
            body = self._notice(hook.id, hook.secret or "", expires, ids, change, now)
            self.hooks.deliver(hook, body, headers)

    def _notice(
        self, sub_id: str, client_state: str, expires: str, ids: list[str], change: str, now: str
    ) -> bytes:
        """The body of one notification: an entry per item (section 7, "Notification")."""
        entries = [
            {
                "subscriptionId": sub_id,
                "clientState": client_state,
                "expirationDateTime": expires,
                "resource": f"{self.items_resource}({item_id})",
                "changeType": change,
                "lastModifiedDateTime": now,
            }
            for item_id in ids
        ]
        return json.dumps({"value": entries}).encode()

    def _delivery_failed(self, hook: Hook) -> None:
        """BC's rule for a failed notification (`sandbox.businesscentral.notices`): an
        answer it does not retry deletes the subscription at once."""
        if not retried(hook.last_status):
            self.hooks.remove(hook.id)

    def clock_advanced(self) -> None:
        """Drop subscriptions that expired, and those failing for over 36 hours (7)."""
        now = self.clock.now()
        for hook in self.hooks.all():
            expired = hook.expires_at is not None and hook.expires_at <= now
            gave_up = hook.failing_since is not None and now - hook.failing_since > RETRY_PERIOD
            if expired or gave_up:
                self.hooks.remove(hook.id)

    def select(self, expression: str | None) -> list[dict[str, Any]]:
        """The rows a `$filter` keeps: `number eq` or `id eq` clauses joined by `or`,
        or `lastModifiedDateTime gt <date-time>` (items edited since: the record, not
        the stock, section 7); without one, the live list itself (no copy)."""
        if expression is None:
            return self.items
        if expression.lstrip().startswith(MODIFIED):
            after = after_time(expression, MODIFIED)
            return [row for row in self.items if datetime.fromisoformat(row[MODIFIED]) > after]
        if expression.lstrip().startswith("id "):
            rows = (self.by_id.get(key) for key in guid_values(expression, "id"))
            return sorted((row for row in rows if row is not None), key=lambda row: row["number"])
        numbers = filter_values(expression, "number")
        return [self.by_number[n] for n in sorted(numbers) if n in self.by_number]


def instant(when: datetime | None) -> str:
    """A BC timestamp of a sandbox-clock instant (fixed width, like `timestamp`)."""
    return (when or datetime.now(UTC)).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
