"""The Business Central sandbox's `itemLedgerEntries` list (API v2.0, docs/platforms.md
section 7; entries as `sandbox.businesscentral.ledger` posts them).

It takes what `connectors/businesscentral_feed.py` sends: `$filter` of `entryNumber gt
<n>` only, `$orderby` of `entryNumber` (`asc` or `desc`), `$top`, `$select`, and
`Prefer: odata.maxpagesize` with a `$skiptoken` (the last `entryNumber` of the page
before, in the order asked); anything else is a 400 `BadRequest`, as BC refuses what it
cannot parse.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, jsonify, request

from sandbox.base import current_state
from sandbox.businesscentral.ledger import FIELDS
from sandbox.businesscentral.odata import (
    API,
    context,
    next_link,
    odata_error,
    page_size,
    project,
    select_fields,
)
from sandbox.businesscentral.state import BusinessCentralState

blueprint = Blueprint("businesscentral_ledger", __name__, url_prefix=API)


@blueprint.get("/companies(<company_id>)/itemLedgerEntries")
def list_entries(tenant: str, environment: str, company_id: str) -> Response:
    state = current_state(BusinessCentralState)
    if company_id != state.company_id:
        return odata_error(404, "BadRequest_NotFound", "The company does not exist.")
    args = request.args
    prefer = request.headers.get("Prefer", "")
    try:
        fields = select_fields(args.get("$select"), FIELDS)
        top = None if "$top" not in args else int(args["$top"])
        if top is not None and top < 0:
            raise ValueError("$top must not be negative")
        with state.lock:
            rows = state.ledger.select(args.get("$filter"), args.get("$orderby"))
            if top is not None:
                rows = rows[:top]
            start = 0
            if "$skiptoken" in args:
                last = int(args["$skiptoken"].strip("'"))
                start = next(
                    (i + 1 for i, row in enumerate(rows) if row["entryNumber"] == last), len(rows)
                )
            size = page_size(prefer)
            page = [project(row, fields) for row in rows[start : start + size]]
            more = start + size < len(rows)
            last_number = rows[start + len(page) - 1]["entryNumber"] if page else 0
    except ValueError as exc:
        return odata_error(400, "BadRequest", str(exc))
    body: dict[str, Any] = {
        "@odata.context": context(f"companies({company_id})/itemLedgerEntries"),
        "value": page,
    }
    if more:
        body["@odata.nextLink"] = next_link(str(last_number))
    response = jsonify(body)
    if "odata.maxpagesize" in prefer:
        response.headers["Preference-Applied"] = f"odata.maxpagesize={size}"
    return response
