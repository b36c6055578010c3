"""WordPress's collection parameters and headers, as the WooCommerce routes use them.

`per_page` <= 100 (default 10), `page` >= 1, `orderby`/`order`, and the answer's
`X-WP-Total`, `X-WP-TotalPages` and `Link` headers (docs/platforms.md section 2).
"""

from __future__ import annotations

import math
from typing import Any
from urllib.parse import urlencode

from flask import Response, jsonify, request

from sandbox.woocommerce.errors import invalid_param

#: WordPress's collection params: default 10, at most 100 (section 2).
PER_PAGE_DEFAULT, PER_PAGE_MAX = 10, 100


def int_arg(name: str, default: int, low: int, high: int | None = None) -> int:
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


def paging() -> tuple[int, int, bool]:
    """(page, per_page, descending) with WordPress's validation and WC's default order."""
    per_page = int_arg("per_page", PER_PAGE_DEFAULT, 1, PER_PAGE_MAX)
    page = int_arg("page", 1, 1)
    # Products are created in id order, so `date` and `id` order the same way here.
    if request.args.get("orderby", "date") not in ("date", "id"):
        raise invalid_param("orderby", "orderby is not one of date, id (sandbox).")
    order = request.args.get("order", "desc")
    if order not in ("asc", "desc"):
        raise invalid_param("order", "order is not one of asc, desc.")
    return page, per_page, order == "desc"


def paged(rows: list[dict[str, Any]], total: int, page: int, per_page: int) -> Response:
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


def csv(name: str) -> list[str] | None:
    """A comma-separated filter; absent or empty means no filter, as in WordPress."""
    parts = [part.strip() for part in request.args.get(name, "").split(",")]
    return [part for part in parts if part] or None
