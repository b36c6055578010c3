"""Business Central as a `Connection`: the credentials checked, and the webhook
subscriptions stocksync keeps on it (docs/platforms.md section 7, "Webhooks"; the
subscription pages of MicrosoftDocs/dynamics365smb-devitpro-pb, `api-reference/v2.0/
dynamics-subscriptions.md` and `api/dynamics_subscriptions_*.md`).

- Subscriptions live at the API root, `.../api/v2.0/subscriptions`, not under the
  company; each names its `resource` (`/api/v2.0/companies(<id>)/items`). BC online
  holds at most 200 per environment (`operational-limits-online.md`).
- Create (`POST`) and renew (`PATCH subscriptions('<id>')`) both make BC call the
  `notificationUrl` with `?validationToken=`, and succeed only if the receiver echoes it
  (ours does, api/receiver.py). A subscription lasts 3 days from its creation or last
  renewal ("valid for 3 days unless it is updated", the update page), so the keeper
  renews well before `expires_at`.
- `PATCH` and `DELETE` require `If-Match` with the subscription's `@odata.etag`
  (`RemoteSubscription.version`). A stale one is refused (412 in the sandbox; BC's
  status is UNCONFIRMED, OData's conflict answer is 409), so both re-read the listing
  once and retry with the current tag.
- `clientState` (at most 2,048 characters) is our secret, echoed in every notification
  (`SubscriptionSpec.secret`).

Auth, HTTP and errors are `connectors.businesscentral`'s: the same token (and cache key)
as the inventory source, transient faults as `TransientError`.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

import requests

from connectors.businesscentral import BusinessCentralSource
from connectors.errors import ConnectionProblem, PermanentError
from connectors.tokens import TokenCache
from connectors.types import RemoteSubscription, SubscriptionSpec

#: What a refused token means once Entra did mint it (section 7, Auth): the app is not
#: allowed into BC's API.
_NO_API_PERMISSION = (
    "the Entra app needs the application permission API.ReadWrite.All with admin consent, "
    "and must be added on Business Central's Microsoft Entra Applications page"
)
#: Statuses of a conditional request whose `If-Match` tag is stale.
_STALE = (409, 412)
#: More than 6 fractional digits (BC writes up to 7) is more than `fromisoformat` reads.
_FRACTION = re.compile(r"(\.\d{6})\d+")


class BusinessCentralConnection:
    """`Connection` for one Business Central company (credentials as
    `BusinessCentralSource` takes them)."""

    label = "Business Central"

    def __init__(
        self,
        base_url: str,
        credentials: Mapping[str, str],
        *,
        token_cache: TokenCache | None = None,
    ) -> None:
        self.source = BusinessCentralSource(base_url, credentials, token_cache=token_cache)
        self.api = self.source.api
        self.company_id = credentials["company_id"]
        self.environment = credentials.get("environment") or "production"
        # The API root (`.../api/v2.0`): the source's base is its company under it.
        self.root = self.api.http.base_url.rsplit("/companies(", 1)[0]
        #: The one resource stocksync subscribes to: the receiver reads item notices
        #: (api/webhooks/businesscentral.py). `salesOrders` is webhook-enabled too, but
        #: nothing reads its notices yet.
        self.topics: tuple[str, ...] = (f"api/v2.0/companies({self.company_id})/items",)

    def check(self) -> None:
        """Mint a token, find the company, read one item and the subscriptions: each
        step's refusal is one line naming what to change. Timeouts, 429 and 5xx raise
        `TransientError` as they come."""
        try:
            self.api.mint()
        except PermanentError as exc:
            raise ConnectionProblem(
                f"{self.label} refused the app credentials "
                f"(Entra answered {exc.status}: {_entra_reason(exc)})"
            ) from None
        companies = self._checked("GET", f"{self.root}/companies", "list companies")
        ids = [str(row.get("id", "")).lower() for row in companies.get("value", [])]
        if self.company_id.lower() not in ids:
            raise ConnectionProblem(
                f"{self.label} environment {self.environment!r} has no company "
                f"{self.company_id} (it has: {', '.join(ids) or 'none'})"
            )
        self._checked("GET", "items?$top=1&$select=id", "read items")
        self._checked("GET", f"{self.root}/subscriptions", "manage webhook subscriptions")

    def list_subscriptions(self) -> list[RemoteSubscription]:
        body = self.api.json("GET", f"{self.root}/subscriptions")
        return [_remote(row) for row in body.get("value", [])]

    def create_subscription(self, spec: SubscriptionSpec) -> RemoteSubscription:
        """Subscribe; BC validates `spec.url` first (the handshake), and a URL that
        does not answer it makes this a `ConnectionProblem` naming the URL."""
        body = {
            "notificationUrl": spec.url,
            "resource": f"/{spec.topic}",
            "clientState": spec.secret or "",
        }
        try:
            return _remote(self.api.json("POST", f"{self.root}/subscriptions", json=body))
        except PermanentError as exc:
            raise self._refused_subscription(exc, spec) from None

    def update_subscription(
        self, remote: RemoteSubscription, spec: SubscriptionSpec
    ) -> RemoteSubscription:
        """Renew `remote` for 3 more days, pointing it at `spec.url` with `spec.secret`
        (one `PATCH`, repeating the handshake). One that BC no longer has (expired,
        deleted after failed deliveries) is created anew; a change of topic, which BC
        cannot patch, is a delete and a create."""
        if remote.topic != spec.topic:
            self.delete_subscription(remote)
            return self.create_subscription(spec)
        body = {"notificationUrl": spec.url, "clientState": spec.secret or ""}
        version = remote.version or self._current_version(remote.remote_id)
        for last_try in (False, True):
            if version is None:
                return self.create_subscription(spec)
            try:
                row = self.api.json(
                    "PATCH", self._one(remote), json=body, headers={"If-Match": version}
                )
                return _remote(row)
            except PermanentError as exc:
                if exc.status == 404:
                    return self.create_subscription(spec)
                if exc.status not in _STALE or last_try:
                    raise self._refused_subscription(exc, spec) from None
            version = self._current_version(remote.remote_id)
        raise AssertionError("unreachable")  # the loop returns or raises

    def delete_subscription(self, remote: RemoteSubscription) -> None:
        """Unsubscribe (`DELETE` with `If-Match`); one already gone is no error."""
        version = remote.version or self._current_version(remote.remote_id)
        for last_try in (False, True):
            if version is None:
                return
            try:
                self._send("DELETE", self._one(remote), {"If-Match": version})
                return
            except PermanentError as exc:
                if exc.status == 404:
                    return
                if exc.status not in _STALE or last_try:
                    raise
            version = self._current_version(remote.remote_id)

    def manual_steps(self, spec: SubscriptionSpec) -> list[str]:
        """None: every subscription is made through the API."""
        return []

    def _checked(self, method: str, path: str, what: str) -> Any:
        """One call of `check`: a refusal becomes the `ConnectionProblem` saying why."""
        try:
            return self.api.json(method, path)
        except PermanentError as exc:
            reason = _odata_reason(exc)
            if exc.status == 401:
                refused = f"{self.label} refused the app's token (401: {reason})"
                message = f"{refused}: {_NO_API_PERMISSION}"
            elif exc.status == 403:
                message = (
                    f"{self.label} app may not {what} (403: {reason}): give it a permission "
                    "set that allows this on the Microsoft Entra Applications page"
                )
            else:
                message = f"{self.label} answered {exc.status} when asked to {what}: {reason}"
            raise ConnectionProblem(message) from None

    def _refused_subscription(self, exc: PermanentError, spec: SubscriptionSpec) -> PermanentError:
        """A 400 to a create or renew is most often the failed handshake (section 7)."""
        if exc.status == 400:
            return ConnectionProblem(
                f"{self.label} refused the subscription to {spec.url} (400: {_odata_reason(exc)});"
                " the URL must answer BC's validation call with the token it was sent"
            )
        return exc

    def _current_version(self, remote_id: str) -> str | None:
        """The subscription's ETag as BC lists it now; None if it is gone."""
        for remote in self.list_subscriptions():
            if remote.remote_id == remote_id:
                return remote.version
        return None

    def _one(self, remote: RemoteSubscription) -> str:
        """`subscriptions('<id>')`: the id in single quotes (the delete page)."""
        return f"{self.root}/subscriptions('{remote.remote_id.replace(chr(39), '')}')"

    def _send(self, method: str, url: str, headers: Mapping[str, str]) -> requests.Response:
        """A call whose answer has no body (`DELETE`: 204), which `TokenAuth.json`
        cannot decode; a 401 mints a token once, as `TokenAuth` does."""
        token = self.api.token()
        try:
            return self.api.http.request(
                method, url, headers={**headers, "Authorization": f"Bearer {token}"}
            )
        except PermanentError as exc:
            if exc.status != 401:
                raise
        fresh = self.api.mint().value
        return self.api.http.request(
            method, url, headers={**headers, "Authorization": f"Bearer {fresh}"}
        )


def _remote(row: Mapping[str, Any]) -> RemoteSubscription:
    """A listed (or just written) subscription; one past its expiry is not active. One
    whose expiry cannot be read is taken as active and expiring now: every BC
    subscription expires, so the keeper renews it at once."""
    now = datetime.now(UTC)
    expires = _instant(row.get("expirationDateTime"))
    return RemoteSubscription(
        remote_id=str(row.get("subscriptionId", "")),
        topic=str(row.get("resource", "")).lstrip("/"),
        url=str(row.get("notificationUrl", "")),
        active=expires is None or expires > now,
        expires_at=now if expires is None else expires,
        version=row.get("@odata.etag"),
    )


def _instant(value: object) -> datetime | None:
    """A BC timestamp (`2026-12-07T10:15:00.1234567Z`) as an aware datetime."""
    if not isinstance(value, str) or not value:
        return None
    try:
        parsed = datetime.fromisoformat(_FRACTION.sub(r"\1", value))
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def _body(exc: PermanentError) -> dict[str, Any]:
    try:
        body = json.loads(exc.body or "")
    except ValueError:
        return {}
    return body if isinstance(body, dict) else {}


def _entra_reason(exc: PermanentError) -> str:
    """Entra's `error_description` up to its first line break (the rest is trace and
    correlation ids), else its `error`, else the status text."""
    body = _body(exc)
    text = body.get("error_description") or body.get("error") or str(exc)
    return str(text).splitlines()[0].strip()


def _odata_reason(exc: PermanentError) -> str:
    """`<code>: <message>` of BC's OData error body, on one line."""
    error = _body(exc).get("error")
    if isinstance(error, dict):
        text = f"{error.get('code', '')}: {error.get('message', '')}".strip(": ")
    else:
        text = str(exc)
    return " ".join(text.split())
