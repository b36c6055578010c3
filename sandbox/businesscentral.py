"""Business Central sandbox: the Entra ID token endpoint, the v2.0 items API, webhooks.

Follows platforms.md section 7: tenant-form API URLs, OData paging (`Prefer:
odata.maxpagesize`, at most 20,000 rows, `@odata.nextLink` with a `$skiptoken`),
`$filter` with `or` on `number` only, and subscriptions with the validation handshake,
3-day expiry, `If-Match` renewal and `clientState` echoed in each notification.
Simplified: notifications go out at once, one entry per changed item (BC waits 30 s and
collapses more than 1,000 changes into one `collection` entry), and tenant and
environment in the URL are not checked. OData details live in `businesscentral_odata`.
"""

from __future__ import annotations

import bisect
import json
import uuid
from collections.abc import Iterable, Mapping
from datetime import timedelta
from operator import itemgetter
from typing import Any

import requests
from flask import Flask, Response, jsonify, request

from sandbox.accounts import credentials_for
from sandbox.app import make_app
from sandbox.base import SandboxConfig, SandboxState
from sandbox.bearer_tokens import IssuedTokens
from sandbox.businesscentral_odata import (
    context,
    etag,
    filter_numbers,
    next_link,
    odata_error,
    page_size,
    project,
    select_fields,
    stable_id,
    timestamp,
)
from sandbox.catalog import erp_quantity, skus

API = "/v2.0/<tenant>/<environment>/api/v2.0"
SCOPE = "https://api.businesscentral.dynamics.com/.default"
SUBSCRIPTION_LIFETIME = timedelta(days=3)
_EPOCH = "2024-01-01T00:00:00.000000Z"
#: The item fields of section 7 the sandbox serves (and `$select` accepts).
_FIELDS = frozenset(
    "id number displayName type blocked gtin baseUnitOfMeasureCode inventory"
    " lastModifiedDateTime".split()
)


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

    def known(self, skus: Iterable[str]) -> set[str]:
        return {sku for sku in skus if sku in self.by_number}

    def set_stock(self, changes: Mapping[str, int]) -> None:
        """Post stock and notify every live subscription (and `config.webhook_url`)."""
        now = timestamp()
        with self.lock:
            for number, quantity in changes.items():
                self.by_number[number].update(inventory=float(quantity), lastModifiedDateTime=now)
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
        ids = [self.by_number[number]["id"] for number in changes]
        by_url: dict[str, list[dict[str, Any]]] = {}
        for sub in targets:
            by_url.setdefault(sub["notificationUrl"], []).extend(
                {
                    "subscriptionId": sub["subscriptionId"],
                    "clientState": sub["clientState"],
                    "expirationDateTime": sub["expirationDateTime"],
                    "resource": f"api/v2.0/companies({self.company_id})/items({item_id})",
                    "changeType": "updated",
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
        numbers = filter_numbers(expression)
        return [self.by_number[n] for n in sorted(numbers) if n in self.by_number]


def _handshake(url: str) -> bool:
    """BC's validation call: the receiver must echo the token as a plain-text 200 (7)."""
    token = uuid.uuid4().hex
    separator = "&" if "?" in url else "?"
    try:
        answer = requests.post(f"{url}{separator}validationToken={token}", timeout=10)
    except requests.RequestException:
        # An unreachable receiver fails validation, exactly like a wrong answer.
        return False
    return answer.status_code == 200 and answer.text == token


def _fault(status: int, message: str) -> Response:
    return odata_error(status, "ServiceUnavailable", message)


def _too_many(state: SandboxState, reset: float) -> Response:
    response = odata_error(429, "Application_TooManyRequests", "Too many requests.")
    response.headers["Retry-After"] = str(max(1, round(reset)))
    return response


def create_app(config: SandboxConfig) -> Flask:
    state = BusinessCentralState(config)
    app = make_app("businesscentral", state, _too_many, _fault)

    @app.before_request
    def require_bearer() -> Response | None:
        api_call = request.path.startswith("/v2.0/")
        if not api_call or state.tokens.accepts(request.headers.get("Authorization", "")):
            return None
        response = odata_error(
            401,
            "Authentication_InvalidCredentials",
            "The server has rejected the client credentials.",
        )
        response.headers["WWW-Authenticate"] = 'Bearer realm="", error="invalid_token"'
        return response

    @app.post("/<tenant>/oauth2/v2.0/token")
    def token(tenant: str) -> tuple[Response, int] | Response:
        form = request.form
        if form.get("grant_type") != "client_credentials":
            return _entra_error(400, "unsupported_grant_type", 70003)
        if form.get("client_id") != state.client_id:
            return _entra_error(400, "unauthorized_client", 700016)
        if form.get("client_secret") != state.client_secret:
            return _entra_error(401, "invalid_client", 7000215)
        if form.get("scope") != SCOPE:
            return _entra_error(400, "invalid_scope", 70011)
        return jsonify(
            token_type="Bearer",
            expires_in=3599,
            ext_expires_in=3599,
            access_token=state.tokens.mint(),
        )

    @app.get(f"{API}/companies")
    def companies(tenant: str, environment: str) -> Response:
        company = {"id": state.company_id, "name": "CRONUS", "displayName": "CRONUS Sandbox"}
        return jsonify({"@odata.context": context("companies"), "value": [company]})

    @app.get(f"{API}/companies(<company_id>)/items")
    def list_items(tenant: str, environment: str, company_id: str) -> Response:
        if company_id != state.company_id:
            return odata_error(404, "BadRequest_NotFound", "The company does not exist.")
        args = request.args
        try:
            fields = select_fields(args.get("$select"), _FIELDS)
            skip, top = int(args.get("$skip", 0)), args.get("$top")
            with state.lock:
                rows = state.select(args.get("$filter"))
                end = len(rows) if top is None else min(len(rows), skip + int(top))
                start = skip
                if "$skiptoken" in args:
                    key = args["$skiptoken"].strip("'")
                    start = bisect.bisect_right(
                        rows, key, lo=skip, hi=end, key=itemgetter("number")
                    )
                size = page_size(request.headers.get("Prefer", ""))
                page = [project(row, fields) for row in rows[start : min(start + size, end)]]
                more = start + size < end
        except ValueError as exc:
            return odata_error(400, "BadRequest", str(exc))
        body: dict[str, Any] = {
            "@odata.context": context(f"companies({company_id})/items"),
            "value": page,
        }
        if more:
            body["@odata.nextLink"] = next_link(page[-1]["number"])
        response = jsonify(body)
        if "odata.maxpagesize" in request.headers.get("Prefer", ""):
            response.headers["Preference-Applied"] = f"odata.maxpagesize={size}"
        return response

    @app.get(f"{API}/companies(<company_id>)/items(<item_id>)")
    def get_item(tenant: str, environment: str, company_id: str, item_id: str) -> Response:
        try:
            fields = select_fields(request.args.get("$select"), _FIELDS)
            key = str(uuid.UUID(item_id))
        except ValueError as exc:
            return odata_error(400, "BadRequest", str(exc))
        with state.lock:
            row = state.by_id.get(key) if company_id == state.company_id else None
            if row is None:
                return odata_error(
                    404, "BadRequest_NotFound", f"The Item does not exist. Id='{key}'"
                )
            entity_set = context(f"companies({company_id})/items/$entity")
            return jsonify({"@odata.context": entity_set, **project(row, fields)})

    @app.post(f"{API}/subscriptions")
    def create_subscription(tenant: str, environment: str) -> Response:
        body = request.get_json(silent=True) or {}
        resource = str(body.get("resource", "")).lstrip("/")
        if resource != f"api/v2.0/companies({state.company_id})/items":
            return odata_error(400, "BadRequest", f"The resource {resource!r} is not supported.")
        new = {"subscriptionId": uuid.uuid4().hex, "resource": f"/{resource}", "clientState": ""}
        response = _save_subscription(state, new, body)
        if response.status_code == 200:
            response.status_code = 201
        return response

    @app.get(f"{API}/subscriptions")
    def list_subscriptions(tenant: str, environment: str) -> Response:
        with state.lock:
            value = [_with_etag(sub) for sub in state.subscriptions.values()]
        return jsonify({"@odata.context": context("subscriptions"), "value": value})

    @app.patch(f"{API}/subscriptions('<sub_id>')")
    def renew_subscription(tenant: str, environment: str, sub_id: str) -> Response:
        with state.lock:
            current = state.subscriptions.get(sub_id)
        if current is None:
            return odata_error(404, "BadRequest_NotFound", "The subscription does not exist.")
        # Section 7 says renewal needs If-Match; the status for a missing or stale one is
        # UNCONFIRMED (400 and 412 here, the usual OData answers).
        if_match = request.headers.get("If-Match")
        if not if_match:
            return odata_error(400, "BadRequest", "The If-Match header is required.")
        if if_match not in ("*", etag(current)):
            return odata_error(412, "PreconditionFailed", "The subscription was changed.")
        return _save_subscription(state, current, request.get_json(silent=True) or {})

    @app.delete(f"{API}/subscriptions('<sub_id>')")
    def delete_subscription(tenant: str, environment: str, sub_id: str) -> Response:
        with state.lock:
            removed = state.subscriptions.pop(sub_id, None)
        if removed is None:
            return odata_error(404, "BadRequest_NotFound", "The subscription does not exist.")
        return Response(status=204)

    return app


def _save_subscription(
    state: BusinessCentralState, current: Mapping[str, Any], changes: Mapping[str, Any]
) -> Response:
    """Create or renew: both repeat the handshake, and a failed one changes nothing (7)."""
    url = str(changes.get("notificationUrl", current.get("notificationUrl", "")))
    if not _handshake(url):
        return odata_error(400, "BadRequest", f"Validation of notificationUrl {url!r} failed.")
    sub = {
        **current,
        "notificationUrl": url,
        "clientState": str(changes.get("clientState", current["clientState"])),
        "lastModifiedDateTime": timestamp(),
        "expirationDateTime": timestamp(SUBSCRIPTION_LIFETIME),
    }
    with state.lock:
        state.subscriptions[sub["subscriptionId"]] = sub
    return jsonify(_with_etag(sub))


def _entra_error(status: int, error: str, code: int) -> tuple[Response, int]:
    description = f"AADSTS{code}: {error.replace('_', ' ')}."
    return jsonify(error=error, error_description=description, error_codes=[code]), status


def _with_etag(sub: Mapping[str, Any]) -> dict[str, Any]:
    return {"@odata.etag": etag(sub), **sub}
