"""BigCommerce as a `Connection`: the credentials' check and the hooks stocksync keeps.

Facts (docs/platforms.md sections 3 and 4; `bigcommerce/docs` `reference/webhooks.v3.yml`,
`docs/integrations/webhooks/overview.mdx`, `docs/start/authentication/api-accounts.mdx`):

- Hooks live at `/v3/hooks`: list (`{data, meta: {pagination}}`), create, update (PUT),
  delete, each hook `{id, scope, destination, is_active, headers, ...}`. They need only
  the default scope every API account has, and each account sees only its own.
- The destination must be HTTPS on port 443, so a `PUBLIC_URL` that is not fails here,
  before BigCommerce is asked.
- Our header secret travels in the hook's `headers`, `{"X-Webhook-Secret": secret}`,
  which BigCommerce echoes on every callback (section 3).
- A hook failing for about 48 h, or idle for 90 days, is deactivated; `PUT
  {"is_active": true}` restores it, which `update_subscription` always sends.
- Scopes: each API family needs its own (Products, Orders, Information & Settings,
  Store Inventory), with a read-only form allowing only GET and HEAD; a missing one
  answers 403. `check` reads once from each family stocksync uses. It cannot tell a
  read-only Store Inventory scope from a modify one without writing: that shows as a
  403 on the first stock write.

Requests go through the storefront connector's HTTP client (`BigCommerceStore.http`:
base URL, `X-Auth-Token`, the quota's wait hints), so 429, 5xx and timeouts raise
`TransientError`, as everywhere.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any
from urllib.parse import urlsplit

from connectors.bigcommerce import BigCommerceStore
from connectors.errors import ConnectionProblem, PermanentError
from connectors.tokens import TokenCache
from connectors.types import RemoteSubscription, SubscriptionSpec

#: The scopes stocksync subscribes to: those `api/webhooks/bigcommerce.py` maps
#: (docs/platforms.md section 3).
TOPICS = (
    "store/product/created",
    "store/product/updated",
    "store/product/deleted",
    "store/sku/created",
    "store/sku/updated",
    "store/product/inventory/updated",
    "store/product/inventory/order/updated",
    "store/sku/inventory/updated",
    "store/sku/inventory/order/updated",
    "store/order/created",
    "store/order/updated",
    "store/order/statusUpdated",
    "store/order/refund/created",
)
#: The header our secret travels in (docs/platforms.md section 3, our choice of name).
SECRET_HEADER = "X-Webhook-Secret"  # noqa: S105 (a header name, not a secret)
#: Hooks per listing page. The reference gives no default or maximum (UNCONFIRMED);
#: the pagination is followed whatever page size the store answers with.
HOOKS_PAGE = 250


class BigCommerceConnection:
    """One store's API account, as `connectors.registry.build_connection` builds it."""

    topics = TOPICS
    #: Hooks asked for per listing page (tests lower it to see the paging followed).
    hooks_page = HOOKS_PAGE

    def __init__(
        self,
        base_url: str,
        credentials: Mapping[str, str],
        *,
        token_cache: TokenCache | None = None,
    ) -> None:
        store = BigCommerceStore(base_url, credentials, token_cache=token_cache)
        self._http = store.http
        self._location_id = store.location_id
        self._store_hash = credentials["store_hash"]

    def check(self) -> None:
        """One cheap read from each scope family stocksync uses, then the hooks it will
        keep; the first refusal becomes a `ConnectionProblem` naming what to change."""
        reads = (
            ("v3/catalog/products", "Products"),
            ("v2/orders", "Orders"),
            ("v3/settings/inventory", "Information & Settings"),
            (f"v3/inventory/locations/{self._location_id}/items", "Store Inventory"),
        )
        for path, scope in reads:
            try:
                self._http.request("GET", path, params={"limit": 1})
            except PermanentError as exc:
                if exc.status == 404 and path.startswith("v3/inventory/locations/"):
                    raise ConnectionProblem(
                        f"BigCommerce answered 404: the store has no inventory location "
                        f"{self._location_id} (credentials location_id)",
                        status=404,
                    ) from exc
                raise self._problem(exc, f"the API account lacks the {scope} scope") from exc
        with self._refusals():
            self._http.request("GET", "v3/hooks", params={"limit": 1})

    def list_subscriptions(self) -> list[RemoteSubscription]:
        """Every hook of this API account, following `meta.pagination`."""
        hooks: list[RemoteSubscription] = []
        page, total_pages = 1, 1
        while page <= total_pages:
            with self._refusals():
                body = self._http.json(
                    "GET", "v3/hooks", params={"limit": self.hooks_page, "page": page}
                )
            hooks += [_remote(hook) for hook in body["data"]]
            total_pages = int(body.get("meta", {}).get("pagination", {}).get("total_pages", 1))
            page += 1
        return hooks

    def create_subscription(self, spec: SubscriptionSpec) -> RemoteSubscription:
        payload = _hook_body(spec)
        with self._refusals(spec):
            body = self._http.json("POST", "v3/hooks", json=payload)
        return _remote(body["data"])

    def update_subscription(
        self, remote: RemoteSubscription, spec: SubscriptionSpec
    ) -> RemoteSubscription:
        """Point the hook at `spec` (scope, destination, header secret) and set it
        active. A hook deleted meanwhile raises `PermanentError` with status 404: the
        caller creates it again."""
        payload = _hook_body(spec)
        with self._refusals(spec):
            body = self._http.json("PUT", f"v3/hooks/{remote.remote_id}", json=payload)
        return _remote(body["data"])

    def delete_subscription(self, remote: RemoteSubscription) -> None:
        try:
            with self._refusals():
                self._http.request("DELETE", f"v3/hooks/{remote.remote_id}")
        except PermanentError as exc:
            if exc.status != 404:
                raise
            # Already gone: what deleting it was for.

    def manual_steps(self, spec: SubscriptionSpec) -> list[str]:
        """None: hooks are made through the API."""
        del spec
        return []

    @contextmanager
    def _refusals(self, spec: SubscriptionSpec | None = None) -> Iterator[None]:
        """The refusals a person must fix, as `ConnectionProblem`: 401 and 403 (the
        credentials), and 422 (a hook BigCommerce will not take)."""
        try:
            yield
        except PermanentError as exc:
            if exc.status in (401, 403):
                raise self._problem(exc, "the API account may not manage webhooks") from exc
            if exc.status == 422 and spec is not None:
                reason = _refusal(exc)
                if spec.secret:
                    reason = reason.replace(spec.secret, "[redacted]")
                raise ConnectionProblem(
                    f"BigCommerce refused the hook for {spec.topic}: {reason}", status=422
                ) from exc
            raise

    def _problem(self, exc: PermanentError, forbidden: str) -> ConnectionProblem | PermanentError:
        """The one line for a refused read: 401 is the token (or the store hash), 403 the
        scope named by `forbidden`, 404 the store hash; others stay as they are."""
        if exc.status == 401:
            message = (
                f"BigCommerce answered 401: access token rejected for store {self._store_hash}"
            )
        elif exc.status == 403:
            message = f"BigCommerce answered 403: {forbidden}"
        elif exc.status == 404:
            message = f"BigCommerce answered 404: no store {self._store_hash} at this address"
        else:
            return exc
        return ConnectionProblem(message, status=exc.status)


def _hook_body(spec: SubscriptionSpec) -> dict[str, Any]:
    """The create or update body for `spec`, after checking BigCommerce could deliver
    to its URL at all (HTTPS on port 443, docs/platforms.md section 3)."""
    if not spec.secret:
        raise ConnectionProblem("BigCommerce hooks carry stocksync's header secret: it is empty")
    try:
        parts = urlsplit(spec.url)
        port = parts.port
    except ValueError:
        parts, port = None, None
    if parts is None or parts.scheme != "https" or not parts.hostname or port not in (None, 443):
        raise ConnectionProblem(
            f"BigCommerce delivers webhooks only to HTTPS on port 443, and {spec.url} is not: "
            "set PUBLIC_URL to an https:// address on the default port"
        )
    return {
        "scope": spec.topic,
        "destination": spec.url,
        "is_active": True,
        "headers": {SECRET_HEADER: spec.secret},
    }


def _refusal(exc: PermanentError) -> str:
    """A 422's title and its `errors` by field (`errorDetailed_Full`), else the message."""
    try:
        body = json.loads(exc.body or "")
    except ValueError:
        return str(exc)
    if not isinstance(body, dict) or not isinstance(body.get("title"), str):
        return str(exc)
    errors = body.get("errors")
    if isinstance(errors, dict) and errors:
        details = "; ".join(f"{field}: {message}" for field, message in errors.items())
        return f"{body['title']} ({details})"
    return str(body["title"])


def _remote(hook: Mapping[str, Any]) -> RemoteSubscription:
    return RemoteSubscription(
        remote_id=str(hook["id"]),
        topic=str(hook["scope"]),
        url=str(hook["destination"]),
        active=bool(hook["is_active"]),
    )
