"""The Shopify sandbox's webhook subscription API and the app's access scopes.

As in GraphQL Admin API 2026-04: `webhookSubscriptionCreate(topic:, webhookSubscription:
{uri, format})`, `webhookSubscriptionUpdate(id:, webhookSubscription: {uri})`,
`webhookSubscriptionDelete(id:)`, the `webhookSubscriptions(first:, after:, topics:,
uri:)` connection, and `currentAppInstallation { accessScopes { handle } }`.

`uri` on the input and the object came with 2025-10 (shopify.dev changelog
"webhookSubscriptionCreate and webhookSubscriptionUpdate support all URI types"), which
deprecated `callbackUrl` and `endpoint`; the sandbox still answers both
(`endpoint { ... on WebhookHttpEndpoint { callbackUrl } }`) and takes `callbackUrl` on
the input, as 2026-04 does. Mistakes of the caller come back as `userErrors {field
message}`; their wording, the HTTPS rule and refusing a second subscription to one topic
and address are from third-party reports (UNCONFIRMED, not in docs/platforms.md
section 5). Deliveries, retries and deletion: `sandbox.shopify.deliveries`.
"""

from __future__ import annotations

import re
from typing import Any

from graphql import GraphQLError
from graphql.language import FieldNode

from sandbox.hooks import Hook
from sandbox.shopify.arguments import arguments, page_size
from sandbox.shopify.deliveries import ENUM_OF, TOPICS
from sandbox.shopify.state import ShopifyState
from sandbox.shopify.webhooks import WEBHOOK_API_VERSION

GID = "gid://shopify/WebhookSubscription/"


def webhook_subscriptions(
    state: ShopifyState, field: FieldNode, variables: dict[str, Any]
) -> dict[str, Any]:
    """The app's subscriptions in creation order, filtered by `topics` and `uri`, a
    page at a time; the cursor is the last id seen."""
    args = arguments(field, variables)
    first = page_size(args)
    topics = args.get("topics")
    wanted = {_slash(t) for t in topics} if isinstance(topics, list) else None
    hooks = [
        h
        for h in sorted(state.hooks.all(), key=lambda h: int(h.id))
        if (wanted is None or h.topic in wanted) and args.get("uri") in (None, h.url)
    ]
    after = args.get("after")
    if after is not None:
        if not isinstance(after, str) or not after.isdigit():
            raise GraphQLError(f"Invalid cursor {after!r}")
        hooks = [h for h in hooks if int(h.id) > int(after)]
    page = hooks[:first]
    return {
        "nodes": [_node(h) for h in page],
        "edges": [{"cursor": h.id, "node": _node(h)} for h in page],
        "pageInfo": {
            "hasNextPage": len(hooks) > first,
            "hasPreviousPage": after is not None,
            "startCursor": page[0].id if page else None,
            "endCursor": page[-1].id if page else None,
        },
    }


def webhook_subscription_create(
    state: ShopifyState, field: FieldNode, variables: dict[str, Any]
) -> dict[str, Any]:
    args = arguments(field, variables)
    topic = _slash(args.get("topic"))
    given = args.get("webhookSubscription")
    if not isinstance(given, dict):
        raise GraphQLError("webhookSubscription: Expected value to not be null")
    uri = given.get("uri") or given.get("callbackUrl")
    errors = _uri_errors(uri)
    if not errors and any(h.topic == topic and h.url == uri for h in state.hooks.all()):
        errors = [_error("uri", "Address for this topic has already been taken")]
    if errors:
        return {"webhookSubscription": None, "userErrors": errors}
    fmt = given.get("format") or "JSON"
    hook = state.hooks.add(topic, str(uri), None, format=fmt)
    return {"webhookSubscription": _node(hook), "userErrors": []}


def webhook_subscription_update(
    state: ShopifyState, field: FieldNode, variables: dict[str, Any]
) -> dict[str, Any]:
    args = arguments(field, variables)
    hook = _find(state, args.get("id"))
    given = args.get("webhookSubscription")
    if not isinstance(given, dict):
        raise GraphQLError("webhookSubscription: Expected value to not be null")
    if hook is None:
        return {"webhookSubscription": None, "userErrors": [_missing()]}
    uri = given.get("uri") or given.get("callbackUrl")
    errors = _uri_errors(uri) if uri is not None else []
    if errors:
        return {"webhookSubscription": None, "userErrors": errors}
    if uri is not None:
        hook.url = str(uri)
    if given.get("format"):
        hook.extra["format"] = given["format"]
    state.hooks.touch(hook)
    return {"webhookSubscription": _node(hook), "userErrors": []}


def webhook_subscription_delete(
    state: ShopifyState, field: FieldNode, variables: dict[str, Any]
) -> dict[str, Any]:
    hook_id = arguments(field, variables).get("id")
    hook = _find(state, hook_id)
    if hook is None:
        return {"deletedWebhookSubscriptionId": None, "userErrors": [_missing()]}
    state.hooks.remove(hook.id)
    return {"deletedWebhookSubscriptionId": hook_id, "userErrors": []}


def current_app_installation(
    state: ShopifyState, field: FieldNode, variables: dict[str, Any]
) -> dict[str, Any]:
    """The app's installation: its granted scopes (`ShopifyState.access_scopes`)."""
    return {
        "id": "gid://shopify/AppInstallation/1",
        "accessScopes": [{"handle": s, "description": None} for s in state.access_scopes()],
    }


def _node(hook: Hook) -> dict[str, Any]:
    """Everything the sandbox knows of a subscription; the query picks what it asked."""
    return {
        "__typename": "WebhookSubscription",
        "id": GID + hook.id,
        "legacyResourceId": hook.id,
        "topic": ENUM_OF[hook.topic],
        "uri": hook.url,
        "callbackUrl": hook.url,
        "endpoint": {"__typename": "WebhookHttpEndpoint", "callbackUrl": hook.url},
        "format": hook.extra.get("format", "JSON"),
        "filter": None,
        "includeFields": [],
        "metafieldNamespaces": [],
        "apiVersion": {"handle": WEBHOOK_API_VERSION},
        "createdAt": _time(hook.created_at),
        "updatedAt": _time(hook.updated_at),
    }


def _slash(topic: Any) -> str:
    """A topic enum value as deliveries name it; an unknown one is a variable error,
    as GraphQL coercion of an enum reports it."""
    if not isinstance(topic, str) or topic not in TOPICS:
        raise GraphQLError(
            f"Variable $topic of type WebhookSubscriptionTopic! was provided invalid value "
            f"{topic!r}",
            extensions={"code": "INVALID_VARIABLE"},
        )
    return TOPICS[topic]


def _find(state: ShopifyState, gid: Any) -> Hook | None:
    match = re.fullmatch(r"gid://shopify/WebhookSubscription/(\d+)", str(gid))
    if match is None:
        raise GraphQLError(f"Invalid global id '{gid}'", extensions={"code": "INVALID_ID"})
    return state.hooks.get(match.group(1))


def _uri_errors(uri: Any) -> list[dict[str, Any]]:
    """Shopify delivers HTTP webhooks to HTTPS addresses only."""
    if not isinstance(uri, str) or not uri:
        return [_error("uri", "Address can't be blank")]
    if not uri.startswith("https://"):
        scheme = uri.partition("//")[0] + "//" if "//" in uri else uri
        return [_error("uri", f"Address protocol {scheme} is not supported")]
    return []


def _missing() -> dict[str, Any]:
    return {"field": ["id"], "message": "Webhook subscription does not exist"}


def _error(name: str, message: str) -> dict[str, Any]:
    return {"field": ["webhookSubscription", name], "message": message}


def _time(moment: Any) -> str:
    return str(moment.isoformat(timespec="seconds").replace("+00:00", "Z"))
