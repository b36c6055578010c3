"""A WooCommerce store: the REST API v3 product routes stocksync uses, and its webhooks.

Real paths under `/wp-json/wc/v3/`, WordPress paging (`per_page` <= 100, `X-WP-Total`,
`X-WP-TotalPages`, `Link`), batch writes capped at 100 items with per-item errors inside
a 200, key/secret auth (Basic, query string or OAuth 1.0a), and signed `product.updated`
webhooks for every stock change, whether it came through the API or from outside
(platforms.md sections 1 and 2).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from typing import Any
from urllib.parse import urlencode

from flask import Flask, Response, has_request_context, jsonify, request
from werkzeug.exceptions import HTTPException

from sandbox.accounts import credentials_for
from sandbox.app import make_app
from sandbox.base import SandboxConfig, SandboxState
from sandbox.woocommerce_auth import Authenticator
from sandbox.woocommerce_catalog import Catalog, Product
from sandbox.woocommerce_errors import WcError, invalid_param
from sandbox.woocommerce_webhooks import delivery_headers, encode_body

API = "/wp-json/wc/v3"
#: `check_batch_limit()`'s default, filter `woocommerce_rest_batch_items_limit` (section 2).
BATCH_LIMIT = 100
#: WordPress's collection params: default 10, at most 100 (section 2).
PER_PAGE_DEFAULT, PER_PAGE_MAX = 10, 100

#: What WC answers a caller that is not logged in, per route (its permission checks).
_CANNOT_LIST = ("woocommerce_rest_cannot_view", "Sorry, you cannot list resources.")
_CANNOT_BATCH = (
    "woocommerce_rest_cannot_batch",
    "Sorry, you are not allowed to batch manipulate this resource.",
)
_DENIED = {
    "list_products": _CANNOT_LIST,
    "list_variations": _CANNOT_LIST,
    "get_product": ("woocommerce_rest_cannot_view", "Sorry, you cannot view this resource."),
    "put_product": (
        "woocommerce_rest_cannot_edit",
        "Sorry, you are not allowed to edit this resource.",
    ),
    "batch_products": _CANNOT_BATCH,
    "batch_variations": _CANNOT_BATCH,
}


class WooCommerceState(SandboxState):
    """The catalog, the store's API key and its one webhook."""

    def __init__(self, config: SandboxConfig) -> None:
        super().__init__(config)
        self.catalog = Catalog(config.items, config.drift, config.seed)
        credentials = credentials_for("woocommerce", config.credentials)
        self.auth = Authenticator(credentials["consumer_key"], credentials["consumer_secret"])

    def stock(self) -> dict[str, int]:
        with self.lock:
            return {p.sku: p.stock_quantity or 0 for p in self.catalog.sellable()}

    def known(self, skus: Iterable[str]) -> set[str]:
        """SKUs of sellable posts; a variable parent's SKU holds no stock of its own."""
        with self.lock:
            return {sku for sku in skus if self.catalog.sellable_by_sku(sku) is not None}

    def set_stock(self, changes: Mapping[str, int]) -> None:
        """A stock change made outside the API (an order, the admin screen).

        The control route refuses unknown SKUs first (400); a direct caller naming one
        gets KeyError before anything is set.
        """
        with self.lock:
            targets = []
            for sku, quantity in changes.items():
                product = self.catalog.sellable_by_sku(sku)
                if product is None:
                    raise KeyError(sku)
                targets.append((product, quantity))
            changed = [p for p, q in targets if self.catalog.set_quantity(p, q)]
        self.notify(changed)

    def notify(self, products: Iterable[Product]) -> None:
        """Send `product.updated` for each changed post, a variation with its own id.

        One delivery per post per request, like WC's `is_already_processed()`.
        """
        url = self.config.webhook_url
        if not url:
            return
        source = request.host_url if has_request_context() else "http://localhost/"
        api_root = source.rstrip("/") + API
        for product in {p.id: p for p in products}.values():
            with self.lock:
                body = encode_body(self.catalog.to_json(product, api_root))
            headers = delivery_headers(
                source=source,
                resource="product",
                event="updated",
                secret=self.config.webhook_secret,
                body=body,
            )
            self.webhooks.send(url, body, headers)


def server_error(status: int, message: str) -> Response:
    """An injected 5xx or outage in WordPress's REST error shape.

    The code is the one WordPress's fatal-error handler answers REST requests with
    (UNCONFIRMED, not in platforms.md); a real host may answer an HTML page instead.
    """
    return WcError("internal_server_error", message, status).response()


def too_many(state: SandboxState, reset: float) -> Response:
    """WC core has no rate limit (section 2, UNCONFIRMED); hosts answer 429 like this."""
    error = WcError(
        "woocommerce_rest_too_many_requests", "Too many requests. Please wait and retry.", 429
    )
    response = error.response()
    response.headers["Retry-After"] = str(max(1, math.ceil(reset)))
    return response


def _int_arg(name: str, default: int, low: int, high: int | None = None) -> int:
    raw = request.args.get(name)
    if raw is None:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise invalid_param(name, f"{name} is not of type integer.") from None
    if value < low or (high is not None and value > high):
        bound = f"between {low} (inclusive) and {high} (inclusive)" if high else f">= {low}"
        raise invalid_param(name, f"{name} must be {bound}")
    return value


def _paging() -> tuple[int, int, bool]:
    """(page, per_page, descending) with WordPress's validation and WC's default order."""
    per_page = _int_arg("per_page", PER_PAGE_DEFAULT, 1, PER_PAGE_MAX)
    page = _int_arg("page", 1, 1)
    # Products are created in id order, so `date` and `id` order the same way here.
    if request.args.get("orderby", "date") not in ("date", "id"):
        raise invalid_param("orderby", "orderby is not one of date, id (sandbox).")
    order = request.args.get("order", "desc")
    if order not in ("asc", "desc"):
        raise invalid_param("order", "order is not one of asc, desc.")
    return page, per_page, order == "desc"


def _paged(rows: list[dict[str, Any]], total: int, page: int, per_page: int) -> Response:
    """A collection page with WordPress's headers; `Link` carries only prev and next."""
    pages = math.ceil(total / per_page)
    response = jsonify(rows)
    response.headers["X-WP-Total"] = str(total)
    response.headers["X-WP-TotalPages"] = str(pages)
    query = {k: v for k, v in request.args.items() if not _is_credential(k)}
    if page > 1:
        prev_query = urlencode(query | {"page": min(page - 1, pages)})
        response.headers.add("Link", f'<{request.base_url}?{prev_query}>; rel="prev"')
    if pages > page:
        next_query = urlencode(query | {"page": page + 1})
        response.headers.add("Link", f'<{request.base_url}?{next_query}>; rel="next"')
    return response


def _is_credential(name: str) -> bool:
    """WC would echo these too; the sandbox keeps secrets out of headers and logs."""
    return name in ("consumer_key", "consumer_secret") or name.startswith("oauth_")


def _csv(name: str) -> list[str] | None:
    """A comma-separated filter; absent or empty means no filter, as in WordPress."""
    parts = [part.strip() for part in request.args.get(name, "").split(",")]
    return [part for part in parts if part] or None


def create_app(config: SandboxConfig) -> Flask:
    """The store's Flask app; its state is `app.config["SANDBOX_STATE"]`."""
    state = WooCommerceState(config)
    catalog = state.catalog
    app = make_app("woocommerce", state, too_many, server_error)

    def api_root() -> str:
        return request.host_url.rstrip("/") + API

    @app.errorhandler(WcError)
    def wc_error(error: WcError) -> Response:
        return error.response()

    @app.errorhandler(HTTPException)
    def no_route(error: HTTPException) -> Response | HTTPException:
        if not request.path.startswith(API) or error.code not in (404, 405):
            return error
        message = "No route was found matching the URL and request method."
        return WcError("rest_no_route", message, 404).response()

    @app.before_request
    def authenticate() -> Response | None:
        denied = _DENIED.get(request.endpoint or "")
        if denied is None or state.auth.authenticate(request):
            return None
        return WcError(*denied, 401).response()

    @app.get(f"{API}/products")
    def list_products() -> Response:
        page, per_page, descending = _paging()
        skus, include = _csv("sku"), _csv("include")
        with state.lock:
            if skus is None and include is None:
                total = len(catalog.top_ids)
                found = catalog.top_level_page(page, per_page, descending)
            else:
                ids = [int(i) for i in include if i.isdigit()] if include else None
                matches = catalog.matching(skus, ids, descending)
                total = len(matches)
                found = matches[(page - 1) * per_page : page * per_page]
            rows = [catalog.to_json(p, api_root()) for p in found]
        return _paged(rows, total, page, per_page)

    @app.get(f"{API}/products/<int:product_id>")
    def get_product(product_id: int) -> Response:
        with state.lock:
            product = catalog.records.get(product_id)
            if product is None:
                raise WcError("woocommerce_rest_product_invalid_id", "Invalid ID.", 404)
            return jsonify(catalog.to_json(product, api_root()))

    @app.put(f"{API}/products/<int:product_id>")
    def put_product(product_id: int) -> Response:
        item = request.get_json(silent=True)
        if not isinstance(item, dict):
            raise WcError("rest_invalid_json", "Invalid JSON body passed.", 400)
        with state.lock:
            product = catalog.writable(product_id, None)
            changed = catalog.apply(product, item)
            body = catalog.to_json(product, api_root())
        state.record_write(request.path, 1)
        state.notify([product] if changed else [])
        return jsonify(body)

    @app.get(f"{API}/products/<int:product_id>/variations")
    def list_variations(product_id: int) -> Response:
        page, per_page, descending = _paging()
        with state.lock:
            variations = catalog.variations_of(product_id)
            if descending:
                variations.reverse()
            found = variations[(page - 1) * per_page : page * per_page]
            rows = [catalog.to_json(p, api_root()) for p in found]
        return _paged(rows, len(variations), page, per_page)

    @app.post(f"{API}/products/batch")
    def batch_products() -> Response:
        return _batch(state, None, api_root())

    @app.post(f"{API}/products/<int:product_id>/variations/batch")
    def batch_variations(product_id: int) -> Response:
        return _batch(state, product_id, api_root())

    return app


def _batch(state: WooCommerceState, parent_id: int | None, api_root: str) -> Response:
    """`WC_REST_Controller::batch_items`: whole-request limit, then one result per item."""
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        raise WcError("rest_invalid_json", "Invalid JSON body passed.", 400)
    lists = {kind: body.get(kind) or [] for kind in ("create", "update", "delete")}
    if any(not isinstance(items, list) for items in lists.values()):
        raise invalid_param("update", "update is not of type array.")
    total = sum(len(items) for items in lists.values())
    if total > BATCH_LIMIT:
        raise WcError(
            "woocommerce_rest_request_entity_too_large",
            f"Unable to accept more than {BATCH_LIMIT} items for this request.",
            413,
        )
    state.record_write(request.path, total)
    changed: list[Product] = []
    results: dict[str, list[dict[str, Any]]] = {}
    with state.lock:
        for item in lists["update"]:
            results.setdefault("update", []).append(
                _update_item(state.catalog, item, parent_id, changed, api_root)
            )
    unsupported = WcError("woocommerce_rest_sandbox_unsupported", "Not in the sandbox.", 501)
    for kind in ("create", "delete"):
        if lists[kind]:
            results[kind] = [{"id": 0, "error": unsupported.payload()} for _ in lists[kind]]
    state.notify(changed)
    return jsonify(results)


def _update_item(
    catalog: Catalog,
    item: Any,
    parent_id: int | None,
    changed: list[Product],
    api_root: str,
) -> dict[str, Any]:
    raw_id = item.get("id", 0) if isinstance(item, dict) else 0
    try:
        product = catalog.writable(raw_id, parent_id)
        if catalog.apply(product, item):
            changed.append(product)
    except WcError as error:
        # WC reports a failed item inside the 200 and carries on with the rest.
        return {"id": raw_id, "error": error.payload()}
    return catalog.to_json(product, api_root)
