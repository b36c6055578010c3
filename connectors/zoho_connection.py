"""Zoho Inventory as a `Connection`: the credentials checked, and the exact steps a
person takes in Zoho's screens to send us item changes (docs/platforms.md section 6,
"Webhooks").

Zoho Inventory's API reference documents no call to create webhooks or workflow rules
(its published OpenAPI documents, as copied in `api-evangelist/zoho-inventory`, cover
items, sales orders, locations, ... and no `settings/webhooks` or `settings/workflows`).
Zoho Books' v3 reference does document both (zoho.com/books/api/v3/webhooks and
/workflows, scope `ZohoBooks.settings.CREATE`), and a commercial plugin reports calling
`/inventory/v1/settings/webhooks` and `/settings/workflows`; for Inventory that is
UNCONFIRMED, so `topics` is empty and `manual_steps` says what to do by hand.

So `list_subscriptions` answers an empty list (nothing stocksync can see), and
`create_subscription`, `update_subscription` and `delete_subscription` raise
`PermanentError`: with no topics and nothing listed, the keeper never calls them.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from connectors.errors import ConnectionProblem, PermanentError
from connectors.tokens import TokenCache
from connectors.types import RemoteSubscription, SubscriptionSpec
from connectors.zoho import ZohoInventorySource

#: The header our receiver reads the source's secret from (api/webhooks/zoho.py): a
#: header name, not a secret.
TOKEN_HEADER = "X-Zoho-Webhook-Token"  # noqa: S105
#: The header and value by which a webhook says stock moved, a nudge to read the change
#: feed now (api/webhooks/zoho.py `STOCK_MOVED`).
NUDGE_HEADER = "X-Stocksync-Event"
NUDGE_VALUE = "stock-moved"
#: Zoho's error code for an organization the token's user does not belong to.
_NOT_IN_ORGANIZATION = 6041
_NO_API = (
    "Zoho Inventory has no API for webhooks or workflow rules: set them up by hand "
    "(ZohoConnection.manual_steps)"
)


class ZohoConnection:
    """`Connection` for one Zoho Inventory organization (credentials as
    `ZohoInventorySource` takes them)."""

    label = "Zoho Inventory"
    topics: tuple[str, ...] = ()

    def __init__(
        self,
        base_url: str,
        credentials: Mapping[str, str],
        *,
        token_cache: TokenCache | None = None,
    ) -> None:
        self.source = ZohoInventorySource(base_url, credentials, token_cache=token_cache)
        self.organization_id = credentials["organization_id"]

    def check(self) -> None:
        """Get a token and read one item of the organization.

        The token comes from the shared cache when there is one: Zoho mints at most 10
        per refresh token per 10 minutes (section 6), so a check must not spend them.
        A cached token proves the client id and refresh token; the client secret is
        proved only when a token is minted (the cache key leaves it out on purpose,
        connectors/oauth.py). The token limit raises `TransientError`.
        """
        try:
            self.source.api.token()
        except PermanentError as exc:
            raise ConnectionProblem(
                f"Zoho refused the API credentials (accounts server answered {_zoho_reason(exc)})"
            ) from None
        params = {"organization_id": self.organization_id, "page": 1, "per_page": 1}
        try:
            self.source.api.json("GET", "items", params=params)
        except PermanentError as exc:
            raise ConnectionProblem(self._refusal(exc)) from None

    def list_subscriptions(self) -> list[RemoteSubscription]:
        """Nothing: Zoho Inventory lists no webhooks through its API."""
        return []

    def create_subscription(self, spec: SubscriptionSpec) -> RemoteSubscription:
        raise PermanentError(_NO_API)

    def update_subscription(
        self, remote: RemoteSubscription, spec: SubscriptionSpec
    ) -> RemoteSubscription:
        raise PermanentError(_NO_API)

    def delete_subscription(self, remote: RemoteSubscription) -> None:
        raise PermanentError(_NO_API)

    def manual_steps(self, spec: SubscriptionSpec) -> list[str]:
        """The steps in Zoho Inventory's settings (section 6; zoho.com/inventory/help/
        settings/automation): a webhook that sends the item to `spec.url` with our
        token header, then a workflow rule on Items that runs it on every create or
        edit. One step per line; the only secret in them is `spec.secret`.

        The body is Zoho's default item payload, `{"item": {...}}`, of which the
        receiver reads `item.item_id`, `item.sku` and `item.last_modified_time`
        (api/webhooks/zoho.py); the user-defined form is the fallback where a Zoho
        screen offers only that (placeholder names as Zoho shows them, UNCONFIRMED).
        """
        secret = spec.secret or "<the source's webhook secret>"
        body = '{"item": {"item_id": ..., "sku": ..., "last_modified_time": ...}}'
        return [
            "In Zoho Inventory, open Settings > Automation > Workflow Actions > Webhooks "
            "and click + New Webhook.",
            "Name: stocksync item changes. Module: Items.",
            f"URL to notify: {spec.url}",
            "Method: POST.",
            f"Headers: add the header {TOKEN_HEADER} with the value {secret}",
            "Body: JSON, with Zoho's default item payload; if only a user-defined format "
            f"is offered, enter {body} with Zoho's placeholders for Item ID, SKU and "
            "Last Modified Time.",
            "Save the webhook.",
            "Open Settings > Automation > Workflow Rules and click + New Workflow Rule.",
            "Name: stocksync item changes. Module: Items. Click Next.",
            "Workflow Type: Event Based. Action Type: Created or Edited. "
            "Execute the workflow when: any field is updated. Frequency: Everytime.",
            "Criteria: none (every item).",
            "Actions: Webhook, choose stocksync item changes.",
            "Save the workflow rule and make sure it is active.",
            # Documents that move stock fire no item rule: a nudge per module.
            "For stock moved by documents (read by stocksync's change feed within a "
            "minute anyway; these make it seconds), for each module of Invoices, "
            "Shipments and Inventory Adjustments: add a webhook as above, named stocksync "
            f"stock moved, with the same URL, method and {TOKEN_HEADER} header, another "
            f"header {NUDGE_HEADER} with the value {NUDGE_VALUE}, and Zoho's default "
            "body; then a workflow rule on that module, Created or Edited, every time, "
            "no criteria, running that webhook.",
        ]

    def _refusal(self, exc: PermanentError) -> str:
        code, message = _zoho_error(exc)
        if code == _NOT_IN_ORGANIZATION:
            return (
                f"{self.label} has no organization {self.organization_id} for these "
                f"credentials (Zoho answered {code}: {message})"
            )
        if exc.status == 401:
            return (
                f"{self.label} refused the access token ({code}: {message}); the refresh "
                "token needs the scope ZohoInventory.FullAccess.all"
            )
        return f"{self.label} answered {exc.status} to reading items ({code}: {message})"


def _body(exc: PermanentError) -> dict[str, Any]:
    try:
        body = json.loads(exc.body or "")
    except ValueError:
        return {}
    return body if isinstance(body, dict) else {}


def _zoho_error(exc: PermanentError) -> tuple[object, str]:
    """Zoho's `{"code", "message"}` error body (section 6), on one line."""
    body = _body(exc)
    return body.get("code", exc.status), " ".join(str(body.get("message", exc)).split())


def _zoho_reason(exc: PermanentError) -> str:
    """What the accounts server said: its `error` (it answers bad credentials with
    HTTP 200 and `{"error": ...}`, connectors/zoho.py), else the message's tail."""
    error = _body(exc).get("error")
    if error:
        return f"{exc.status}: {error}"
    return str(exc).rsplit(": ", 1)[-1]
