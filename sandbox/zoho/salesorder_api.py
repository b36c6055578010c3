"""The Zoho Inventory sandbox's sales-order list (docs/platforms.md section 6).

`GET /inventory/v1/salesorders?reference_number=<n>`: Zoho's sales-order list documents
no filter on `reference_number` (section 6), so the filter name is our UNCONFIRMED
choice; the sandbox matches it exactly. Rows carry the header fields only, as list
calls do (`sandbox.zoho.salesorders.HEADER`); pages and `page_context` as for items.
Token, organization, faults and rate limits apply as to every `/inventory/` call.

`sort_column` (`created_time`, the default, or `last_modified_time`) and `sort_order`
(`A`, the default, or `D`) order the rows before paging, and `page_context` names the
order applied. Zoho's sales-order OpenAPI copy lists only `page` and `per_page` for
this call; the two sort parameters are those of Zoho's other lists (and of public
clients that page by `last_modified_time`), so modelled as Zoho's lists take them,
UNCONFIRMED (section 6). Ties keep creation order. Any other column is refused with a
400 as an invalid value (the code is a placeholder, `sandbox.zoho.errors`).
"""

from __future__ import annotations

from flask import Blueprint, Response, jsonify, request

from sandbox.base import current_state, pages
from sandbox.zoho.errors import zoho_error
from sandbox.zoho.items import page_arguments, page_context
from sandbox.zoho.state import ZohoState

#: The columns a sales-order list may be sorted by (see the module docstring).
SORT_COLUMNS = ("created_time", "last_modified_time")

blueprint = Blueprint("zoho_salesorders", __name__, url_prefix="/inventory/v1")


@blueprint.get("/salesorders")
def list_sales_orders() -> Response:
    state = current_state(ZohoState)
    page, per_page = page_arguments()
    column = request.args.get("sort_column", "created_time")
    order = request.args.get("sort_order", "A")
    if column not in SORT_COLUMNS or order not in ("A", "D"):
        return zoho_error(400, 2, "Invalid value passed for sort_column or sort_order.")
    rows = state.sales_orders.matching(request.args.get("reference_number"))
    if column == "last_modified_time":
        # Zoho's timestamps are fixed-width in one offset, so text order is time order.
        rows.sort(key=lambda row: row["last_modified_time"], reverse=order == "D")
    elif order == "D":
        rows.reverse()
    more = page * per_page < len(rows)
    context = page_context(page, per_page, more, "Sales Orders", sort_column=column)
    return jsonify(
        code=0,
        message="success",
        salesorders=pages(rows, page, per_page),
        page_context=context | {"sort_order": order},
    )
