"""The Zoho Inventory sandbox's sales-order list (docs/platforms.md section 6).

`GET /inventory/v1/salesorders?reference_number=<n>`: Zoho's sales-order list documents
no filter on `reference_number` (section 6), so the filter name is our UNCONFIRMED
choice; the sandbox matches it exactly. Rows carry the header fields only, as list
calls do (`sandbox.zoho.salesorders.HEADER`); pages and `page_context` as for items.
Token, organization, faults and rate limits apply as to every `/inventory/` call.
"""

from __future__ import annotations

from flask import Blueprint, Response, jsonify, request

from sandbox.base import current_state, pages
from sandbox.zoho.items import page_arguments, page_context
from sandbox.zoho.state import ZohoState

blueprint = Blueprint("zoho_salesorders", __name__, url_prefix="/inventory/v1")


@blueprint.get("/salesorders")
def list_sales_orders() -> Response:
    state = current_state(ZohoState)
    page, per_page = page_arguments()
    rows = state.sales_orders.matching(request.args.get("reference_number"))
    more = page * per_page < len(rows)
    context = page_context(page, per_page, more, "Sales Orders", sort_column="created_time")
    return jsonify(
        code=0,
        message="success",
        salesorders=pages(rows, page, per_page),
        page_context=context,
    )
