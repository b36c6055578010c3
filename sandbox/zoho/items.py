"""The Zoho Inventory sandbox's items routes (docs/platforms.md section 6).

Pages of at most 200 items with `page_context.has_more_page`, a `sku` filter, and one
item by id; `organization_id` and the token are checked app-wide (`sandbox.zoho.app`).

The list also takes `last_modified_time` ("Filter items modified after the given date
and time", format `yyyy-MM-ddTHH:mm:ssZ`, taken as Zoho's own `+0000` form; kept:
strictly after, UNCONFIRMED) and `sort_column` `name` or `last_modified_time` with
`sort_order` `A` or `D` (Zoho's items OpenAPI copy, api-evangelist/zoho-inventory
`openapi/_original/items.yml`, list_items parameters). Other sort columns it documents
are refused with a 400, as unserved.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from flask import Blueprint, Response, jsonify, request

from sandbox.base import current_state
from sandbox.zoho.errors import zoho_error
from sandbox.zoho.state import ZohoState

#: Default and largest page (section 6; the maximum is UNCONFIRMED).
MAX_PER_PAGE = 200
#: The sort columns served of those Zoho's list documents (`name`, the default, is the
#: sandbox's list order, which is by SKU).
SORT_COLUMNS = ("name", "last_modified_time")
#: Zoho's timestamp form (section 6), also what the `last_modified_time` filter takes.
TIME_FORMAT = "%Y-%m-%dT%H:%M:%S%z"

blueprint = Blueprint("zoho_items", __name__, url_prefix="/inventory/v1")


@blueprint.get("/items")
def list_items() -> Response:
    state = current_state(ZohoState)
    page, per_page = page_arguments()
    start = (page - 1) * per_page
    args = request.args
    column, order = args.get("sort_column", "name"), args.get("sort_order", "A")
    if column not in SORT_COLUMNS or order not in ("A", "D"):
        return zoho_error(400, 2, "Invalid value passed for sort_column or sort_order.")
    after = None
    if "last_modified_time" in args:
        try:
            after = datetime.strptime(args["last_modified_time"], TIME_FORMAT)
        except ValueError:
            return zoho_error(400, 2, "Invalid value passed for last_modified_time.")
    with state.lock:
        sku = args.get("sku")
        if sku is None:
            kept = [row for row in state.items if after is None or _modified(row) > after]
            if column == "last_modified_time":
                # Stable: ties keep list order, both ways (a reversed tie order is UNCONFIRMED).
                kept.sort(key=_modified, reverse=order == "D")
            elif order == "D":
                kept.reverse()
            rows = kept[start : start + per_page]
            more = start + per_page < len(kept)
        else:
            match = state.by_sku.get(sku)
            rows, more = ([match] if match and page == 1 else []), False
        items = [dict(row) for row in rows]
    context = page_context(page, per_page, more, "Items", sort_column=column)
    return jsonify(
        code=0, message="success", items=items, page_context=context | {"sort_order": order}
    )


def _modified(row: dict[str, Any]) -> datetime:
    return datetime.strptime(row["last_modified_time"], TIME_FORMAT)


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
