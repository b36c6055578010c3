"""The BigCommerce sandbox's V3 routes: catalog reads, batch stock writes, inventory settings.

Routes live under `/stores/<store_hash>/v3/` and follow docs/platforms.md section 4: paging
with `meta.pagination` (50 by default, 250 at most), SKU filters, the catalog's 50-variant
batches and the Inventory API's absolute adjustments. Every route checks the store hash
and `X-Auth-Token` first, after the shared fault injection.
"""

from __future__ import annotations

import hmac
import math
import uuid
from collections.abc import Callable, Sequence
from dataclasses import replace
from typing import Any

from flask import Blueprint, Response, jsonify, request

from sandbox.base import current_state, pages
from sandbox.bigcommerce.catalog import product_json, variant_json
from sandbox.bigcommerce.orders import STOCK_BEHAVIORS
from sandbox.bigcommerce.problems import Problem, problem_response
from sandbox.bigcommerce.scopes import MISSING_SCOPE, missing_scope
from sandbox.bigcommerce.state import DEFAULT_LOCATION, BigCommerceState, Rejected

#: Catalog page size: 50 by default, 250 at most (`LimitParam`, docs/platforms.md section 4).
DEFAULT_LIMIT = 50
MAX_LIMIT = 250
#: `PUT /v3/catalog/variants` takes at most 50 variants, else 413 (docs/platforms.md section 4).
VARIANT_BATCH_LIMIT = 50
#: Absolute adjustments take at most 2,000 items (docs/platforms.md section 4). The reference
#: (`reference/inventory.v3.yml`) declares only 200 and 422 for this endpoint, so an
#: oversized request gets 422 here, unlike the catalog batches' documented 413.
ADJUSTMENT_LIMIT = 2000

#: The boolean fields of `/v3/settings/inventory` the sandbox keeps.
INVENTORY_FLAGS = ("refund_order_stock_adjustment", "edit_order_stock_adjustment")

blueprint = Blueprint("bigcommerce", __name__, url_prefix="/stores/<store_hash>/v3")


def _state() -> BigCommerceState:
    return current_state(BigCommerceState)


@blueprint.before_request
def authenticate() -> Response | None:
    """The store hash in the path, the store's API token and the scope the route needs
    (`sandbox.bigcommerce.scopes`); a blueprint hook, so unknown routes fall through to
    a 404 and `/_sandbox/*` is never checked."""
    state = _state()
    store_hash = (request.view_args or {}).get("store_hash")
    token = request.headers.get("X-Auth-Token", "")
    if store_hash != state.store_hash or not hmac.compare_digest(
        token.encode(), state.access_token.encode()
    ):
        return problem_response(401, "You are not authorized to access this store")
    path = request.path.removeprefix(f"/stores/{store_hash}/")
    if missing_scope(path, request.method, state.scopes) is not None:
        return problem_response(403, MISSING_SCOPE)
    return None


@blueprint.get("/settings/inventory")
def get_inventory_settings(store_hash: str) -> Response:
    """The global inventory settings (docs/platforms.md section 4); the sandbox has one
    channel, so a `channel_id` filter changes nothing."""
    state = _state()
    with state.lock:
        return jsonify({"data": state.inventory_settings.as_json(), "meta": {}})


@blueprint.put("/settings/inventory")
def put_inventory_settings(store_hash: str) -> Response:
    """Change the fields the body names; the rest stay. A wrong value refuses the whole
    body with 422 and changes nothing."""
    state = _state()
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        raise Problem(422, "The request body must be an object")
    behavior = body.get("update_stock_behavior", state.inventory_settings.update_stock_behavior)
    if behavior not in STOCK_BEHAVIORS:
        raise Problem(
            422, "Invalid update_stock_behavior", {"update_stock_behavior": str(behavior)}
        )
    flags = {k: body[k] for k in INVENTORY_FLAGS if k in body}
    wrong = {k: str(v) for k, v in flags.items() if not isinstance(v, bool)}
    if wrong:
        raise Problem(422, "Expected a boolean", wrong)
    with state.lock:
        state.inventory_settings = replace(
            state.inventory_settings, update_stock_behavior=behavior, **flags
        )
        return jsonify({"data": state.inventory_settings.as_json(), "meta": {}})


@blueprint.get("/catalog/products")
def list_products(store_hash: str) -> Response:
    state = _state()
    with_variants = "variants" in request.args.get("include", "").split(",")
    rows = state.products
    wanted = _sku_filter()
    if wanted is not None:
        rows = [p for p in rows if p.sku in wanted]
    return _listing(state, rows, lambda p: product_json(p, with_variants=with_variants))


@blueprint.get("/catalog/products/<int:product_id>")
def get_product(store_hash: str, product_id: int) -> Response:
    state = _state()
    product = state.product_by_id.get(product_id)
    if product is None:
        raise Problem(404, "The requested product was not found")
    with_variants = "variants" in request.args.get("include", "").split(",")
    with state.lock:
        body = product_json(product, with_variants=with_variants)
    return jsonify({"data": body, "meta": {}})


@blueprint.get("/catalog/variants")
def list_variants(store_hash: str) -> Response:
    state = _state()
    rows = state.variants
    wanted = _sku_filter()
    if wanted is not None:
        rows = [v for v in rows if v.sku in wanted]
    return _listing(state, rows, variant_json)


@blueprint.put("/catalog/variants")
def put_variants(store_hash: str) -> Response:
    state = _state()
    items = _json_list(request.get_json(silent=True))
    if len(items) > VARIANT_BATCH_LIMIT:
        raise Problem(413, f"The maximum number of variants per request is {VARIANT_BATCH_LIMIT}")
    try:
        updated = state.update_variants(items)
    except Rejected as exc:
        raise Problem(422, _bracketed(exc.messages)) from exc
    state.record_write(request.path, len(items))
    with state.lock:
        return jsonify({"data": [variant_json(v) for v in updated], "meta": {}})


@blueprint.put("/inventory/adjustments/absolute")
def put_absolute(store_hash: str) -> Response:
    state = _state()
    body = request.get_json(silent=True)
    items = _json_list(body.get("items") if isinstance(body, dict) else None)
    if len(items) > ADJUSTMENT_LIMIT:
        raise Problem(422, f"The maximum number of items per request is {ADJUSTMENT_LIMIT}")
    try:
        state.adjust_absolute(items)
    except Rejected as exc:
        raise Problem(422, _bracketed(exc.messages)) from exc
    state.record_write(request.path, len(items))
    return jsonify({"transaction_id": str(uuid.uuid4())})


@blueprint.get("/inventory/locations/<int:location_id>/items")
def list_location_items(store_hash: str, location_id: int) -> Response:
    """Levels at a location (`reference/inventory.v3.yml`; 404 for an unknown location).
    A subset of `LocationItemsResponse`: the identity and the on-hand level."""
    state = _state()
    if location_id != DEFAULT_LOCATION:
        raise Problem(404, f"Location with id {location_id} not found")
    return _listing(
        state,
        state.variants,
        lambda v: {
            "identity": {"sku": v.sku, "variant_id": v.id, "product_id": v.product_id},
            "total_inventory_onhand": v.level,
        },
    )


def _listing(
    state: BigCommerceState, rows: Sequence[Any], render: Callable[[Any], Any]
) -> Response:
    """One page of `rows` with BigCommerce's `meta.pagination` (section 4)."""
    page = int_arg("page", 1, low=1)
    limit = int_arg("limit", DEFAULT_LIMIT, low=1)
    if limit > MAX_LIMIT:
        raise Problem(422, f"The limit must be between 1 and {MAX_LIMIT}", {"limit": str(limit)})
    total_pages = math.ceil(len(rows) / limit)
    with state.lock:
        data = [render(row) for row in pages(rows, page, limit)]
    links = {"current": f"?limit={limit}&page={page}"}
    if page > 1:
        links["previous"] = f"?limit={limit}&page={page - 1}"
    if page < total_pages:
        links["next"] = f"?limit={limit}&page={page + 1}"
    pagination = {
        "total": len(rows),
        "count": len(data),
        "per_page": limit,
        "current_page": page,
        "total_pages": total_pages,
        "links": links,
    }
    return jsonify({"data": data, "meta": {"pagination": pagination}})


def int_arg(name: str, default: int, *, low: int) -> int:
    """The query argument `name` as an integer of at least `low`, else 422."""
    raw = request.args.get(name)
    if raw is None:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise Problem(422, f"The {name} must be an integer", {name: raw}) from None
    if value < low:
        raise Problem(422, f"The {name} must be at least {low}", {name: raw})
    return value


def _sku_filter() -> set[str] | None:
    """`sku=` (one) or `sku:in=a,b` (many), or None when the request filters by neither."""
    if "sku" in request.args:
        return {request.args["sku"]}
    if "sku:in" in request.args:
        return set(request.args["sku:in"].split(","))
    return None


def _json_list(value: Any) -> list[Any]:
    if not isinstance(value, list):
        raise Problem(422, "The request body must hold a list of items")
    return value


def _bracketed(messages: Sequence[str]) -> str:
    """The 422 title format of BigCommerce's example: "[message, message]"."""
    return f"[{', '.join(messages)}]"
