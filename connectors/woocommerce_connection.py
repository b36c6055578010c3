"""WooCommerce connection: the key's test, and our webhooks through `/wc/v3/webhooks`.

Same base URL, credentials and HTTP client as the store connector
(`connectors.woocommerce.WooCommerceStore`, whose client this reuses). Facts from
docs/platforms.md sections 1 (webhooks) and 2 (auth), and from WC's code:

- A key's permissions (`read`, `write`, `read_write`) are checked against the method
  before WordPress even matches the route (`WC_REST_Authentication::check_user_permissions`
  on `rest_pre_dispatch`), and the route's required arguments before its capability
  check. So `POST /webhooks` with an empty body changes nothing and tells: 401 "does not
  have write permissions" for a read-only key, 400 `rest_missing_callback_param` for one
  that may write.
- Webhooks need the `manage_woocommerce` capability for reading and writing alike
  (`wc_rest_check_manager_permissions('webhooks', ...)`), so a key that may list them
  may create them.
- A webhook is `active`, `paused` or `disabled` (WC disables it after repeated failed
  deliveries); `PUT status=active` re-activates it. DELETE needs `force=true`; an
  unknown id is 404 there.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from connectors.errors import ConnectionProblem, PermanentError
from connectors.http import redact
from connectors.tokens import TokenCache
from connectors.types import RemoteSubscription, SubscriptionSpec
from connectors.woocommerce import PAGE_SIZE, WooCommerceStore

#: What stocksync listens to (docs/platforms.md section 1, "Topics we map").
TOPICS = (
    "product.created",
    "product.updated",
    "product.deleted",
    "product.restored",
    "order.created",
    "order.updated",
)

#: DELETE of an unknown webhook: 404 with this code (GET and PUT answer it with 400).
_UNKNOWN_WEBHOOK = "woocommerce_rest_shop_webhook_invalid_id"
_NO_WRITE = "does not have write permissions"
_NO_READ = "does not have read permissions"


class WooCommerceConnection:
    """A WooCommerce store's connection, by site root URL (`connectors.interfaces`)."""

    topics = TOPICS

    def __init__(
        self,
        base_url: str,
        credentials: Mapping[str, str],
        *,
        token_cache: TokenCache | None = None,
    ) -> None:
        try:
            store = WooCommerceStore(base_url, credentials, token_cache=token_cache)
        except PermanentError as exc:
            raise ConnectionProblem(f"WooCommerce {exc}") from None
        self.site = base_url.rstrip("/")
        self.http = store.http

    # The test ---------------------------------------------------------------------------

    def check(self) -> None:
        """Raise `ConnectionProblem` unless the key may read and write webhooks (and so
        products: the same Read/Write permission), without changing anything.

        Transient failures (timeouts, 429, 5xx) raise `TransientError`.
        """
        self._call("GET", "webhooks", params={"per_page": 1}, probe=True)
        try:
            self.http.request("POST", "webhooks", json={})
        except PermanentError as exc:
            error = _wp_error(exc)
            if exc.status == 400 and error.get("code") == "rest_missing_callback_param":
                return  # Validated, so the key may write: nothing was created.
            raise self._problem(exc) from None
        # A plugin accepted an empty webhook: that key may write too. Never reached on
        # WC, which requires `topic` and `delivery_url`.

    # Subscriptions ----------------------------------------------------------------------

    def list_subscriptions(self) -> list[RemoteSubscription]:
        """Every webhook of every status, oldest first, page by page."""
        found: list[RemoteSubscription] = []
        page = 1
        while True:
            params = {"per_page": PAGE_SIZE, "page": page, "orderby": "id", "order": "asc"}
            rows = self._call("GET", "webhooks", params=params)
            if not isinstance(rows, list):
                raise PermanentError("woocommerce GET webhooks: expected a list")
            found.extend(_remote(row) for row in rows)
            if len(rows) < PAGE_SIZE:
                return found
            page += 1

    def create_subscription(self, spec: SubscriptionSpec) -> RemoteSubscription:
        """POST a webhook. WC answers first, then pings the URL and keeps the webhook
        active whatever the ping gets (docs/platforms.md section 1, "Creation ping")."""
        if not spec.secret:
            raise ConnectionProblem("a WooCommerce webhook needs our secret to be verifiable")
        body = {
            "name": f"stocksync {spec.topic}",
            "topic": spec.topic,
            "delivery_url": spec.url,
            "secret": spec.secret,
        }
        return _remote(self._call("POST", "webhooks", json=body))

    def update_subscription(
        self, remote: RemoteSubscription, spec: SubscriptionSpec
    ) -> RemoteSubscription:
        """PUT topic, URL, secret and `status: active`: re-activates a disabled webhook.

        WC keeps the webhook's failure count through this (`failed_delivery()`), so if
        the receiver still fails, the next failed delivery disables it again; one
        success resets the count. A webhook deleted meanwhile is WC's 400 "ID is
        invalid." (`PermanentError`, status 400): create it again.
        """
        body: dict[str, Any] = {"topic": spec.topic, "delivery_url": spec.url, "status": "active"}
        if spec.secret:
            body["secret"] = spec.secret
        return _remote(self._call("PUT", f"webhooks/{_webhook_id(remote)}", json=body))

    def delete_subscription(self, remote: RemoteSubscription) -> None:
        """DELETE with `force=true` (WC does not trash webhooks); gone already is fine."""
        try:
            self._call("DELETE", f"webhooks/{_webhook_id(remote)}", params={"force": "true"})
        except PermanentError as exc:
            if exc.status != 404:
                raise

    def manual_steps(self, spec: SubscriptionSpec) -> list[str]:
        return []

    # Plumbing ---------------------------------------------------------------------------

    def _call(self, method: str, path: str, *, probe: bool = False, **kwargs: Any) -> Any:
        """One API call; a rejected key, a key without the permission, or no WC REST API
        at the URL becomes `ConnectionProblem`. With `probe`, so does an answer that is
        not WordPress's JSON (the URL is some other site)."""
        try:
            response = self.http.request(method, path, **kwargs)
        except PermanentError as exc:
            if exc.status is None and probe:
                # No answer at all: an invalid URL (timeouts and refusals are transient).
                raise ConnectionProblem(f"cannot call {self.site}: {exc}") from None
            gone = exc.status == 404 and _wp_error(exc).get("code") == _UNKNOWN_WEBHOOK
            if (probe and exc.status is not None) or (exc.status in (401, 403, 404) and not gone):
                raise self._problem(exc) from None
            raise
        try:
            return response.json()
        except ValueError:
            if not probe:
                raise PermanentError(
                    redact(f"woocommerce {method} {path}: response is not JSON"),
                    status=response.status_code,
                ) from None
            kind = response.headers.get("Content-Type", "no content type").split(";")[0]
            raise ConnectionProblem(
                f"{self.site} does not look like a WooCommerce site: "
                f"GET /wp-json/wc/v3/webhooks answered {kind}, not JSON"
            ) from None

    def _problem(self, exc: PermanentError) -> ConnectionProblem:
        """The one line for whoever set the site up; never the key or the secret."""
        error = _wp_error(exc)
        message = str(error.get("message", ""))
        if exc.status == 404:
            return ConnectionProblem(f"no WooCommerce REST API at {self.site}")
        if not error:
            return ConnectionProblem(
                f"{self.site} does not look like a WooCommerce site: "
                f"GET /wp-json/wc/v3/webhooks answered HTTP {exc.status} without "
                "WordPress's JSON error"
            )
        if exc.status == 401 and _NO_WRITE in message:
            return ConnectionProblem(
                "WooCommerce key is read-only: stocksync needs a Read/Write key"
            )
        if exc.status == 401 and _NO_READ in message:
            return ConnectionProblem(
                "WooCommerce key is write-only: stocksync needs a Read/Write key"
            )
        if exc.status == 401:
            hint = ""
            if self.site.startswith("http://"):
                hint = " (over plain HTTP WooCommerce ignores keys sent this way; use https://)"
            return ConnectionProblem(f"WooCommerce answered 401: consumer key rejected{hint}")
        if exc.status == 403:
            return ConnectionProblem(
                "WooCommerce answered 403: the key's user may not manage WooCommerce "
                "(use a key of an administrator or shop manager)"
            )
        return ConnectionProblem(
            redact(f"WooCommerce answered {exc.status}: {error.get('code')}: {message}")
        )


def _wp_error(exc: PermanentError) -> dict[str, Any]:
    """WordPress's `{code, message, data}` from an error body, or {} if it is not one."""
    try:
        body = json.loads(exc.body or "")
    except ValueError:
        return {}
    return body if isinstance(body, dict) and isinstance(body.get("code"), str) else {}


def _webhook_id(remote: RemoteSubscription) -> int:
    try:
        return int(remote.remote_id)
    except ValueError:
        raise PermanentError(
            f"woocommerce: webhook id {remote.remote_id!r} is not a number"
        ) from None


def _remote(row: Any) -> RemoteSubscription:
    """A webhook as `RemoteSubscription`: active only while `status` is `active`."""
    if not isinstance(row, dict) or not isinstance(row.get("id"), int):
        raise PermanentError("woocommerce: a webhook without an id in the answer")
    return RemoteSubscription(
        remote_id=str(row["id"]),
        topic=str(row.get("topic", "")),
        url=str(row.get("delivery_url", "")),
        active=row.get("status") == "active",
    )
