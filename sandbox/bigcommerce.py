"""A faithful local BigCommerce: V3 catalog reads, batch stock writes, rate limits, webhooks.

Routes live under `/stores/<store_hash>/v3/` and follow platforms.md section 4; the
world they act on is `sandbox.bigcommerce_catalog.BigCommerceState`. Errors use
BigCommerce's problem shape `{status, title, type, errors}`.
"""

from __future__ import annotations

import hmac
import math
import uuid
from collections.abc import Callable, Sequence
from typing import Any

from flask import Flask, Response, jsonify, request

from sandbox.app import make_app
from sandbox.base import FixedWindowLimiter, SandboxConfig, SandboxState, pages
from sandbox.bigcommerce_catalog import BigCommerceState, Rejected
from sandbox.control import CONTROL_PREFIX

PREFIX = "/stores/<store_hash>/v3"
#: Catalog page size: 50 by default, 250 at most (`LimitParam`, platforms.md section 4).
DEFAULT_LIMIT = 50
MAX_LIMIT = 250
#: `PUT /v3/catalog/variants` takes at most 50 variants, else 413 (platforms.md section 4).
VARIANT_BATCH_LIMIT = 50
#: Absolute adjustments take at most 2,000 items (platforms.md section 4). The reference
#: (`reference/inventory.v3.yml`) declares only 200 and 422 for this endpoint, so an
#: oversized request gets 422 here, unlike the catalog batches' documented 413.
ADJUSTMENT_LIMIT = 2000
ERROR_TYPE = "https://developer.bigcommerce.com/api-docs/getting-started/api-status-codes"


class Problem(Exception):
    """An error response in BigCommerce's shape, raised from anywhere in a view."""

    def __init__(self, status: int, title: str, errors: dict[str, str] | None = None) -> None:
        super().__init__(title)
        self.status, self.title, self.errors = status, title, errors or {}


def problem_response(status: int, title: str, errors: dict[str, str] | None = None) -> Response:
    body = {"status": status, "title": title, "type": ERROR_TYPE, "errors": errors or {}}
    response = jsonify(body)
    response.status_code = status
    response.mimetype = "application/problem+json"
    return response


def too_many(state: SandboxState, reset: float) -> Response:
    """The 429: with the quota headers when the store's quota is spent; bare when it
    stands for platform-wide load, which clients must back off longer from (section 4)."""
    response = problem_response(429, "Too many requests")
    if state.limiter is not None:
        _set_quota_headers(response, state.limiter, left=0, reset=reset)
    return response


def create_app(config: SandboxConfig) -> Flask:
    """The BigCommerce sandbox; its state is `app.config["SANDBOX_STATE"]`."""
    state = BigCommerceState(config)
    app = make_app("bigcommerce", state, too_many=too_many, error=problem_response)

    @app.before_request
    def authenticate() -> Response | None:
        # Runs after make_app's fault injection. Unknown routes fall through to a 404.
        if request.path.startswith(CONTROL_PREFIX) or request.url_rule is None:
            return None
        store_hash = (request.view_args or {}).get("store_hash")
        token = request.headers.get("X-Auth-Token", "")
        if store_hash != state.store_hash or not hmac.compare_digest(
            token.encode(), state.access_token.encode()
        ):
            return problem_response(401, "You are not authorized to access this store")
        return None

    @app.after_request
    def quota_headers(response: Response) -> Response:
        """Every platform response reports the quota (section 4). make_app's hook took
        this request's token already, so this reads the window without taking another."""
        limiter = state.limiter
        if (
            limiter is None
            or request.path.startswith(CONTROL_PREFIX)
            or "X-Rate-Limit-Requests-Left" in response.headers
        ):
            return response
        left, reset = limiter.peek()
        _set_quota_headers(response, limiter, left=left, reset=reset)
        return response

    @app.errorhandler(Problem)
    def on_problem(exc: Problem) -> Response:
        return problem_response(exc.status, exc.title, exc.errors)

    @app.errorhandler(404)
    def on_not_found(_exc: Exception) -> Response:
        return problem_response(404, "The requested resource was not found")

    @app.errorhandler(405)
    def on_bad_method(_exc: Exception) -> Response:
        return problem_response(405, "Method not allowed")

    @app.get(f"{PREFIX}/catalog/products")
    def list_products(store_hash: str) -> Response:
        with_variants = "variants" in request.args.get("include", "").split(",")
        rows = state.products
        wanted = _sku_filter()
        if wanted is not None:
            rows = [p for p in rows if p.sku in wanted]
        return _listing(state, rows, lambda p: state.product_json(p, with_variants=with_variants))

    @app.get(f"{PREFIX}/catalog/products/<int:product_id>")
    def get_product(store_hash: str, product_id: int) -> Response:
        product = state.product_by_id.get(product_id)
        if product is None:
            raise Problem(404, "The requested product was not found")
        with_variants = "variants" in request.args.get("include", "").split(",")
        with state.lock:
            body = state.product_json(product, with_variants=with_variants)
        return jsonify({"data": body, "meta": {}})

    @app.get(f"{PREFIX}/catalog/variants")
    def list_variants(store_hash: str) -> Response:
        rows = state.variants
        wanted = _sku_filter()
        if wanted is not None:
            rows = [v for v in rows if v.sku in wanted]
        return _listing(state, rows, state.variant_json)

    @app.put(f"{PREFIX}/catalog/variants")
    def put_variants(store_hash: str) -> Response:
        items = _json_list(request.get_json(silent=True))
        if len(items) > VARIANT_BATCH_LIMIT:
            raise Problem(
                413, f"The maximum number of variants per request is {VARIANT_BATCH_LIMIT}"
            )
        try:
            updated = state.update_variants(items)
        except Rejected as exc:
            raise Problem(422, _bracketed(exc.messages)) from exc
        state.record_write(request.path, len(items))
        with state.lock:
            return jsonify({"data": [state.variant_json(v) for v in updated], "meta": {}})

    @app.put(f"{PREFIX}/inventory/adjustments/absolute")
    def put_absolute(store_hash: str) -> Response:
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

    return app


def _listing(state: SandboxState, rows: Sequence[Any], render: Callable[[Any], Any]) -> Response:
    """One page of `rows` with BigCommerce's `meta.pagination` (section 4)."""
    page = _int_arg("page", 1, low=1)
    limit = _int_arg("limit", DEFAULT_LIMIT, low=1)
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


def _int_arg(name: str, default: int, *, low: int) -> int:
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


def _set_quota_headers(
    response: Response, limiter: FixedWindowLimiter, *, left: int, reset: float
) -> None:
    """The four `X-Rate-Limit-*` headers BigCommerce sends (platforms.md section 4)."""
    response.headers["X-Rate-Limit-Time-Window-Ms"] = str(round(limiter.window * 1000))
    response.headers["X-Rate-Limit-Time-Reset-Ms"] = str(max(0, round(reset * 1000)))
    response.headers["X-Rate-Limit-Requests-Quota"] = str(limiter.limit)
    response.headers["X-Rate-Limit-Requests-Left"] = str(left)
