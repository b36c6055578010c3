"""Zoho Inventory sandbox: the accounts token endpoint, the items API and item webhooks.

Follows platforms.md section 6: `organization_id` on every call, the
`Zoho-oauthtoken` header, pages of at most 200 items with `page_context.has_more_page`,
the three item-level stock fields, at most 10 access tokens per refresh token per 10
minutes, and webhooks authenticated only by a secret header the merchant sets (Zoho
documents no signature). Error `code` numbers other than those in the brief (57, 6041)
are placeholders: Zoho's real ones are UNCONFIRMED.
"""

from __future__ import annotations

import json
import time
import zlib
from collections import deque
from collections.abc import Iterable, Mapping
from typing import Any

from flask import Flask, Response, jsonify, request

from sandbox.accounts import credentials_for
from sandbox.app import make_app
from sandbox.base import SandboxConfig, SandboxState
from sandbox.bearer_tokens import IssuedTokens
from sandbox.catalog import erp_quantity, skus

#: Zoho's token limit: 10 access tokens per refresh token per 10 minutes (section 6).
TOKENS_PER_WINDOW = 10
TOKEN_WINDOW_SECONDS = 600.0
#: Default and largest page (section 6; the maximum is UNCONFIRMED).
MAX_PER_PAGE = 200
_FIRST_ITEM_ID = 4_815_000_000_044_000
_EPOCH = "2024-01-01T00:00:00+0000"


def _zoho_error(status: int, code: int, message: str) -> Response:
    response = jsonify({"code": code, "message": message})
    response.status_code = status
    return response


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
    def _item(index: int, sku: str, available: int) -> dict[str, Any]:
        # Committed stock makes `stock_on_hand` differ from the sellable fields, so a
        # connector reading the wrong field fails the tests.
        committed = zlib.crc32(sku.encode()) % 3
        return {
            "item_id": str(_FIRST_ITEM_ID + index),
            "name": f"Item {sku}",
            "sku": sku,
            "status": "active",
            "item_type": "inventory",
            "stock_on_hand": float(available + committed),
            "available_stock": float(available),
            "actual_available_stock": float(available),
            "last_modified_time": _EPOCH,
        }

    def stock(self) -> dict[str, int]:
        with self.lock:
            return {
                item["sku"]: int(item["available_stock"])
                for item in self.items
                if item["status"] == "active" and "available_stock" in item
            }

    def known(self, skus: Iterable[str]) -> set[str]:
        return {sku for sku in skus if sku in self.by_sku}

    def set_stock(self, changes: Mapping[str, int]) -> None:
        """Set the sellable stock and send the item workflow webhook if one is set."""
        stamp = time.strftime("%Y-%m-%dT%H:%M:%S+0000", time.gmtime())
        with self.lock:
            changed = []
            for sku, quantity in changes.items():
                item = self.by_sku[sku]
                committed = item["stock_on_hand"] - item["available_stock"]
                item.update(
                    stock_on_hand=float(quantity + committed),
                    available_stock=float(quantity),
                    actual_available_stock=float(quantity),
                    last_modified_time=stamp,
                )
                changed.append(dict(item))
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


def _fault(status: int, message: str) -> Response:
    return _zoho_error(status, status, message)


def _too_many(state: SandboxState, reset: float) -> Response:
    # Whether Zoho sends Retry-After is UNCONFIRMED; the sandbox does, to exercise it.
    response = _zoho_error(429, 429, "You have made too many requests. Try again later.")
    response.headers["Retry-After"] = str(max(1, round(reset)))
    return response


def create_app(config: SandboxConfig) -> Flask:
    state = ZohoState(config)
    app = make_app("zoho", state, _too_many, _fault)

    @app.before_request
    def require_token_and_organization() -> Response | None:
        if not request.path.startswith("/inventory/"):
            return None
        if not state.tokens.accepts(request.headers.get("Authorization", "")):
            return _zoho_error(401, 57, "You are not authorized to perform this operation")
        if request.args.get("organization_id") != state.organization_id:
            return _zoho_error(400, 6041, "This user is not associated with the organization.")
        return None

    @app.post("/oauth/v2/token")
    def token() -> Response | tuple[Response, int]:
        # Zoho documents the parameters in the query string; clients also send a form.
        values = request.values
        if values.get("grant_type") != "refresh_token":
            return jsonify(error="unsupported_grant_type")
        # Zoho answers bad credentials with HTTP 200 and an `error` (asciisd/zoho#6).
        if (values.get("client_id"), values.get("client_secret")) != state.client:
            return jsonify(error="invalid_client")
        if values.get("refresh_token") != state.refresh_token:
            return jsonify(error="invalid_code")
        access_token = state.mint_token()
        if access_token is None:
            description = (
                "You have made too many requests continuously. Please try again after some time."
            )
            return jsonify(error="Access Denied", error_description=description), 400
        return jsonify(
            access_token=access_token,
            api_domain=request.url_root.rstrip("/"),
            token_type="Bearer",
            expires_in=3600,
            scope="ZohoInventory.items.READ",
        )

    @app.get("/inventory/v1/items")
    def list_items() -> Response:
        page = max(1, request.args.get("page", 1, type=int))
        per_page = min(MAX_PER_PAGE, max(1, request.args.get("per_page", MAX_PER_PAGE, type=int)))
        start = (page - 1) * per_page
        with state.lock:
            sku = request.args.get("sku")
            if sku is None:
                rows = state.items[start : start + per_page]
                more = start + per_page < len(state.items)
            else:
                match = state.by_sku.get(sku)
                rows, more = ([match] if match and page == 1 else []), False
            items = [dict(row) for row in rows]
        context = {
            "page": page,
            "per_page": per_page,
            "has_more_page": more,
            "report_name": "Items",
            "applied_filter": "Status.All",
            "sort_column": "name",
            "sort_order": "A",
        }
        return jsonify(code=0, message="success", items=items, page_context=context)

    @app.get("/inventory/v1/items/<item_id>")
    def get_item(item_id: str) -> Response:
        with state.lock:
            item = state.by_id.get(item_id)
            if item is None:
                return _zoho_error(404, 1002, "Item does not exist.")
            return jsonify(code=0, message="success", item=dict(item))

    return app
