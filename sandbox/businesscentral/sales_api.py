"""The Business Central sandbox's sales documents API: `salesOrders` with their
`salesOrderLines`, and `salesShipments` (docs/platforms.md section 7, fields as the
resource pages list them). `$filter` on `externalDocumentNumber` or `number`.
"""

from __future__ import annotations

from flask import Blueprint, Response, jsonify

from sandbox.base import current_state
from sandbox.businesscentral.lists import list_answer
from sandbox.businesscentral.odata import API, context, odata_error, project
from sandbox.businesscentral.state import BusinessCentralState

ORDER_FIELDS = frozenset(
    "id number externalDocumentNumber orderDate status fullyShipped lastModifiedDateTime".split()
)
SHIPMENT_FIELDS = frozenset(
    "id number orderNumber externalDocumentNumber postingDate lastModifiedDateTime".split()
)

blueprint = Blueprint("businesscentral_sales", __name__, url_prefix=API)


@blueprint.get("/companies(<company_id>)/salesOrders")
def list_sales_orders(tenant: str, environment: str, company_id: str) -> Response:
    state = current_state(BusinessCentralState)
    return list_answer(state, company_id, "salesOrders", state.sales.select_orders, ORDER_FIELDS)


@blueprint.get("/companies(<company_id>)/salesOrders(<order_id>)/salesOrderLines")
def list_sales_order_lines(
    tenant: str, environment: str, company_id: str, order_id: str
) -> Response:
    """An order's lines in one page: an order's handful never needs paging."""
    state = current_state(BusinessCentralState)
    with state.lock:
        lines = state.sales.lines.get(order_id) if company_id == state.company_id else None
        if lines is None:
            message = f"The Sales Order does not exist. Id='{order_id}'"
            return odata_error(404, "BadRequest_NotFound", message)
        entity_set = context(f"companies({company_id})/salesOrders({order_id})/salesOrderLines")
        return jsonify(
            {"@odata.context": entity_set, "value": [project(line, None) for line in lines]}
        )


@blueprint.get("/companies(<company_id>)/salesShipments")
def list_sales_shipments(tenant: str, environment: str, company_id: str) -> Response:
    state = current_state(BusinessCentralState)
    return list_answer(
        state, company_id, "salesShipments", state.sales.select_shipments, SHIPMENT_FIELDS
    )
