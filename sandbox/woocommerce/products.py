"""The WooCommerce REST API v3 product routes stocksync uses, as a blueprint.

Real paths under `/wp-json/wc/v3/`, WordPress paging (`sandbox.woocommerce.paging`),
batch writes capped at 100 items with per-item errors inside a 200, and key/secret auth
checked per route with the 401 each route's permission check answers (docs/platforms.md
section 2).
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, jsonify, request

from sandbox.base import current_state
from sandbox.woocommerce.catalog import Catalog, Product
from sandbox.woocommerce.errors import WcError, invalid_param
from sandbox.woocommerce.paging import csv, paged, paging
from sandbox.woocommerce.state import API, WooCommerceState

#: `check_batch_limit()`'s default, filter `woocommerce_rest_batch_items_limit` (section 2).
BATCH_LIMIT = 100

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

blueprint = Blueprint("woocommerce", __name__, url_prefix=API)


def _state() -> WooCommerceState:
    return current_state(WooCommerceState)


def _api_root() -> str:
    return request.host_url.rstrip("/") + API


@blueprint.before_request
def authenticate() -> Response | None:
    """Runs after the shared fault injection, like WordPress's auth after the host's edge."""
    view = (request.endpoint or "").rpartition(".")[2]
    denied = _DENIED.get(view)
    if denied is None or _state().auth.authenticate(request):
        return None
    return WcError(*denied, 401).response()


@blueprint.get("/products")
def list_products() -> Response:
    state, (page, per_page, descending) = _state(), paging()
    catalog = state.catalog
    skus, include = csv("sku"), csv("include")
    with state.lock:
        if skus is None and include is None:
            total = len(catalog.top_ids)
            found = catalog.top_level_page(page, per_page, descending)
        else:
            ids = [int(i) for i in include if i.isdigit()] if include else None
            matches = catalog.matching(skus, ids, descending)
            total = len(matches)
            found = matches[(page - 1) * per_page : page * per_page]
        rows = [catalog.to_json(p, _api_root()) for p in found]
    return paged(rows, total, page, per_page)


@blueprint.get("/products/<int:product_id>")
def get_product(product_id: int) -> Response:
    state = _state()
    with state.lock:
        product = state.catalog.records.get(product_id)
        if product is None:
            raise WcError("woocommerce_rest_product_invalid_id", "Invalid ID.", 404)
        return jsonify(state.catalog.to_json(product, _api_root()))


@blueprint.put("/products/<int:product_id>")
def put_product(product_id: int) -> Response:
    state = _state()
    item = request.get_json(silent=True)
    if not isinstance(item, dict):
        raise WcError("rest_invalid_json", "Invalid JSON body passed.", 400)
    with state.lock:
        product = state.catalog.writable(product_id, None)
        changed = state.catalog.apply(product, item)
        body = state.catalog.to_json(product, _api_root())
    state.record_write(request.path, 1)
    state.notify([product] if changed else [])
    return jsonify(body)


@blueprint.get("/products/<int:product_id>/variations")
def list_variations(product_id: int) -> Response:
    state, (page, per_page, descending) = _state(), paging()
    with state.lock:
        variations = state.catalog.variations_of(product_id)
        if descending:
            variations.reverse()
        found = variations[(page - 1) * per_page : page * per_page]
        rows = [state.catalog.to_json(p, _api_root()) for p in found]
    return paged(rows, len(variations), page, per_page)


@blueprint.post("/products/batch")
def batch_products() -> Response:
    return _batch(_state(), None, _api_root())


@blueprint.post("/products/<int:product_id>/variations/batch")
def batch_variations(product_id: int) -> Response:
    return _batch(_state(), product_id, _api_root())


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
