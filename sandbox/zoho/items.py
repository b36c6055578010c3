"""The Zoho Inventory sandbox's items routes (docs/platforms.md section 6).

Pages of at most 200 items with `page_context.has_more_page`, a `sku` filter, and one
item by id; `organization_id` and the token are checked app-wide (`sandbox.zoho.app`).
"""

from __future__ import annotations

from flask import Blueprint, Response, jsonify, request

from sandbox.base import current_state
from sandbox.zoho.errors import zoho_error
from sandbox.zoho.state import ZohoState

#: Default and largest page (section 6; the maximum is UNCONFIRMED).
MAX_PER_PAGE = 200

blueprint = Blueprint("zoho_items", __name__, url_prefix="/inventory/v1")


@blueprint.get("/items")
def list_items() -> Response:
    state = current_state(ZohoState)
    page, per_page = page_arguments()
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
    context = page_context(page, per_page, more, "Items", sort_column="name")
    return jsonify(code=0, message="success", items=items, page_context=context)


def page_arguments() -> tuple[int, int]:
    """This request's 1-based `page` and its `per_page`, at most `MAX_PER_PAGE`."""
    page = max(1, request.args.get("page", 1, type=int))
    per_page = min(MAX_PER_PAGE, max(1, request.args.get("per_page", MAX_PER_PAGE, type=int)))
    return page, per_page


def page_context(
    page: int, per_page: int, more: bool, report: str, sort_column: str
) -> dict[str, object]:
    """A list answer's `page_context`, as Zoho's lists carry it (section 6)."""
    return {
        "page": page,
        "per_page": per_page,
        "has_more_page": more,
        "report_name": report,
        "applied_filter": "Status.All",
        "sort_column": sort_column,
        "sort_order": "A",
    }


@blueprint.get("/items/<item_id>")
def get_item(item_id: str) -> Response:
    state = current_state(ZohoState)
    with state.lock:
        item = state.by_id.get(item_id)
        if item is None:
            return zoho_error(404, 1002, "Item does not exist.")
        return jsonify(code=0, message="success", item=dict(item))
