"""A Shopify shop as a connection: its token tested, its webhook subscriptions kept.

Facts (docs/platforms.md section 5 unless marked otherwise):

- Subscriptions are made with `webhookSubscriptionCreate(topic:, webhookSubscription:
  {uri, format})`, repointed with `webhookSubscriptionUpdate(id:, webhookSubscription:
  {uri})`, removed with `webhookSubscriptionDelete(id:)` and listed with the
  `webhookSubscriptions` connection. `uri` replaced `callbackUrl` and `endpoint` in API
  2025-10 (shopify.dev changelog "webhookSubscriptionCreate and
  webhookSubscriptionUpdate support all URI types"); we pin 2026-04.
- Topics are `WebhookSubscriptionTopic` enum values (`PRODUCTS_UPDATE`); deliveries
  name them in the slash form (`X-Shopify-Topic: products/update`).
- Shopify signs every delivery with the app's client secret, so a subscription has no
  secret of its own (`SubscriptionSpec.secret` is None and ignored).
- Shopify never disables a subscription: after 8 failed deliveries in a row it deletes
  it. Every listed subscription is active; a deleted one is simply gone and the keeper
  creates it again.
- The token's scopes are `currentAppInstallation { accessScopes { handle } }`. Write
  access to a resource implies read access (shopify.dev access scopes, UNCONFIRMED
  here), so `write_inventory` covers `read_inventory`.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from connectors.credentials import CREDENTIAL_KEYS
from connectors.errors import ConnectionProblem, PermanentError
from connectors.shopify import ShopifyStore
from connectors.tokens import TokenCache
from connectors.types import RemoteSubscription, SubscriptionSpec

#: The topics stocksync subscribes to (section 5, "Topics we map"): products, stock
#: levels and orders. `refunds/create` is left out: the `orders/updated` that follows a
#: refund carries it.
TOPICS: tuple[str, ...] = (
    "PRODUCTS_CREATE",
    "PRODUCTS_UPDATE",
    "PRODUCTS_DELETE",
    "INVENTORY_LEVELS_UPDATE",
    "ORDERS_CREATE",
    "ORDERS_UPDATED",
    "ORDERS_CANCELLED",
)

#: The scopes the merchant is asked to grant, read from the credential help of
#: `access_token` (connectors/credentials.py) so the two never drift apart.
REQUIRED_SCOPES: tuple[str, ...] = tuple(
    re.findall(
        r"\b(?:read|write)_\w+",
        next(k.help for k in CREDENTIAL_KEYS["shopify"] if k.name == "access_token"),
    )
)

#: What an HTTP-level refusal of the Admin API means for whoever set the site up.
REFUSALS: dict[int, str] = {
    401: "access token rejected",
    402: "the shop is frozen (unpaid)",
    403: "access token not allowed here",
    404: "no Admin API at this address (check the shop URL and api_version)",
    423: "the shop is locked",
}

SCOPES_QUERY = "query StocksyncScopes { currentAppInstallation { accessScopes { handle } } }"

LIST_QUERY = """
query StocksyncHooks($cursor: String) {
  webhookSubscriptions(first: 250, after: $cursor) {
    nodes { id topic uri }
    pageInfo { hasNextPage endCursor }
  }
}
"""

CREATE_MUTATION = """
mutation StocksyncHookCreate($topic: WebhookSubscriptionTopic!,
                             $hook: WebhookSubscriptionInput!) {
  webhookSubscriptionCreate(topic: $topic, webhookSubscription: $hook) {
    webhookSubscription { id topic uri }
    userErrors { field message }
  }
}
"""

UPDATE_MUTATION = """
mutation StocksyncHookUpdate($id: ID!, $hook: WebhookSubscriptionInput!) {
  webhookSubscriptionUpdate(id: $id, webhookSubscription: $hook) {
    webhookSubscription { id topic uri }
    userErrors { field message }
  }
}
"""

DELETE_MUTATION = """
mutation StocksyncHookDelete($id: ID!) {
  webhookSubscriptionDelete(id: $id) { deletedWebhookSubscriptionId userErrors { field message } }
}
"""


class ShopifyConnection:
    """The `Connection` of a Shopify shop; credentials as for `ShopifyStore`."""

    topics = TOPICS

    def __init__(
        self,
        base_url: str,
        credentials: Mapping[str, str],
        *,
        token_cache: TokenCache | None = None,
    ) -> None:
        if not credentials.get("access_token"):
            raise ConnectionProblem("Shopify credentials have no access_token")
        self.store = ShopifyStore(base_url, credentials, token_cache=token_cache)

    def check(self) -> None:
        """Raise `ConnectionProblem` unless the token works and holds every scope in
        `REQUIRED_SCOPES` ("Shopify token lacks write_inventory, read_orders")."""
        data = self._ask(SCOPES_QUERY, {}, "the scope check")
        try:
            granted = {str(s["handle"]) for s in data["currentAppInstallation"]["accessScopes"]}
        except (KeyError, TypeError) as exc:
            raise PermanentError("shopify: unexpected accessScopes shape") from exc
        missing = [s for s in REQUIRED_SCOPES if not _covered(s, granted)]
        if missing:
            raise ConnectionProblem(f"Shopify token lacks {', '.join(missing)}")

    def list_subscriptions(self) -> list[RemoteSubscription]:
        subscriptions: list[RemoteSubscription] = []
        cursor: str | None = None
        while True:
            data = self._ask(LIST_QUERY, {"cursor": cursor}, "the subscription list")
            try:
                page = data["webhookSubscriptions"]
                subscriptions += [_remote(node) for node in page["nodes"]]
                info = page["pageInfo"]
                cursor = str(info["endCursor"]) if info["hasNextPage"] else None
            except (KeyError, TypeError) as exc:
                raise PermanentError("shopify: unexpected webhookSubscriptions shape") from exc
            if cursor is None:
                return subscriptions

    def create_subscription(self, spec: SubscriptionSpec) -> RemoteSubscription:
        topic = enum_topic(spec.topic)
        variables = {"topic": topic, "hook": {"uri": spec.url, "format": "JSON"}}
        data = self._ask(CREATE_MUTATION, variables, f"the {topic} subscription")
        return self._made(data, "webhookSubscriptionCreate", f"the {topic} subscription")

    def update_subscription(
        self, remote: RemoteSubscription, spec: SubscriptionSpec
    ) -> RemoteSubscription:
        """Point `remote` at `spec.url`. Shopify cannot change a subscription's topic,
        and one it deleted meanwhile cannot be updated: both are made anew."""
        if enum_topic(remote.topic) != enum_topic(spec.topic):
            self.delete_subscription(remote)
            return self.create_subscription(spec)
        variables = {"id": remote.remote_id, "hook": {"uri": spec.url}}
        what = f"the {enum_topic(spec.topic)} subscription"
        data = self._ask(UPDATE_MUTATION, variables, what)
        if self._user_errors(data, "webhookSubscriptionUpdate") and not self._listed(remote):
            return self.create_subscription(spec)
        return self._made(data, "webhookSubscriptionUpdate", what)

    def delete_subscription(self, remote: RemoteSubscription) -> None:
        """Remove it; one already gone (Shopify deleted it after failures) is no error."""
        data = self._ask(DELETE_MUTATION, {"id": remote.remote_id}, "the subscription removal")
        errors = self._user_errors(data, "webhookSubscriptionDelete")
        if errors and self._listed(remote):
            raise ConnectionProblem(f"Shopify refused to delete {remote.remote_id}: {errors}")

    def manual_steps(self, spec: SubscriptionSpec) -> list[str]:
        return []

    def _ask(self, query: str, variables: Mapping[str, Any], what: str) -> dict[str, Any]:
        """One GraphQL call. HTTP refusals of the token or address and GraphQL errors
        (a scope missing for a topic) become `ConnectionProblem`; transient failures
        stay `TransientError` (`ShopifyStore.graphql`)."""
        try:
            return self.store.graphql(query, variables)
        except PermanentError as exc:
            if exc.status in REFUSALS:
                reason = REFUSALS[exc.status]
                raise ConnectionProblem(f"Shopify answered {exc.status}: {reason}") from exc
            if exc.status == 200:  # a GraphQL error: the message is Shopify's own
                detail = str(exc).partition(": ")[2] or str(exc)
                raise ConnectionProblem(f"Shopify refused {what}: {detail}") from exc
            raise

    def _user_errors(self, data: Mapping[str, Any], field: str) -> str:
        """The payload's `userErrors` as one line; empty when there are none."""
        payload = data.get(field)
        errors = payload.get("userErrors") if isinstance(payload, dict) else None
        if not errors:
            return ""
        return "; ".join(
            str(e.get("message", e)) if isinstance(e, dict) else str(e) for e in errors
        )

    def _made(self, data: Mapping[str, Any], field: str, what: str) -> RemoteSubscription:
        errors = self._user_errors(data, field)
        if errors:
            raise ConnectionProblem(f"Shopify refused {what}: {errors}")
        try:
            return _remote(data[field]["webhookSubscription"])
        except (KeyError, TypeError) as exc:
            raise PermanentError(f"shopify {field}: unexpected payload") from exc

    def _listed(self, remote: RemoteSubscription) -> bool:
        return any(s.remote_id == remote.remote_id for s in self.list_subscriptions())


def enum_topic(topic: str) -> str:
    """A topic in Shopify's enum form: `products/update` becomes `PRODUCTS_UPDATE`."""
    return topic.replace("/", "_").upper()


def _covered(scope: str, granted: set[str]) -> bool:
    access, _, resource = scope.partition("_")
    return scope in granted or (access == "read" and f"write_{resource}" in granted)


def _remote(node: Mapping[str, Any]) -> RemoteSubscription:
    return RemoteSubscription(
        remote_id=str(node["id"]), topic=str(node["topic"]), url=str(node["uri"]), active=True
    )
