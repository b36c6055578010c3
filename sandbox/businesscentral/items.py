"""The Business Central sandbox's `companies` and `items` routes (API v2.0).

OData paging (`Prefer: odata.maxpagesize`, at most 20,000 rows, `@odata.nextLink` with
a `$skiptoken`), `$filter` with `or` on `number` or `lastModifiedDateTime gt`, `$select`,
`$skip` and `$top`
(docs/platforms.md section 7). Tenant and environment in the URL are not checked.
"""

from __future__ import annotations

import uuid

from flask import Blueprint, Response, jsonify, request

from sandbox.base import current_state
from sandbox.businesscentral.lists import list_answer
from sandbox.businesscentral.odata import API, context, odata_error, project, select_fields
from sandbox.businesscentral.state import BusinessCentralState

#: The item fields of section 7 the sandbox serves (and `$select` accepts).
_FIELDS = frozenset(
    "id number displayName type blocked gtin baseUnitOfMeasureCode inventory"
    " lastModifiedDateTime".split()
)

blueprint = Blueprint("businesscentral_items", __name__, url_prefix=API)


@blueprint.get("/companies")
def companies(tenant: str, environment: str) -> Response:
    state = current_state(BusinessCentralState)
    company = {"id": state.company_id, "name": "CRONUS", "displayName": "CRONUS Sandbox"}
    return jsonify({"@odata.context": context("companies"), "value": [company]})


@blueprint.get("/companies(<company_id>)/items")
def list_items(tenant: str, environment: str, company_id: str) -> Response:
    state = current_state(BusinessCentralState)
    return _refused(state) or list_answer(state, company_id, "items", state.select, _FIELDS)


@blueprint.get("/companies(<company_id>)/items(<item_id>)")
def get_item(tenant: str, environment: str, company_id: str, item_id: str) -> Response:
    state = current_state(BusinessCentralState)
    refused = _refused(state)
    if refused is not None:
        return refused
    try:
        fields = select_fields(request.args.get("$select"), _FIELDS)
        key = str(uuid.UUID(item_id))
    except ValueError as exc:
        return odata_error(400, "BadRequest", str(exc))
    with state.lock:
        row = state.by_id.get(key) if company_id == state.company_id else None
        if row is None:
            return odata_error(404, "BadRequest_NotFound", f"The Item does not exist. Id='{key}'")
        entity_set = context(f"companies({company_id})/items/$entity")
        return jsonify({"@odata.context": entity_set, **project(row, fields)})


def _refused(state: BusinessCentralState) -> Response | None:
    """An app whose permission sets lack the Item table (`/_sandbox/app`). BC's answer
    as seen in public reports: 403 with "Sorry, the current permissions prevented the
    action. (TableData <table> Read: <extension>)" (hougaard/Simple-Object-Designer#149
    shows the text under code `Internal_ServerError`, microsoft/AL#6649 the 403 of such
    a refusal); status and code UNCONFIRMED for the items API."""
    if state.item_permission:
        return None
    message = "Sorry, the current permissions prevented the action. (TableData 27 Item Read)"
    return odata_error(403, "Internal_ServerError", message)
