"""One OData list answer for every Business Central entity set the sandbox serves.

`$filter` (as the entity set's `select` understands it), `$select`, `$skip`, `$top`
and server-driven paging: `Prefer: odata.maxpagesize` (at most 20,000 rows), an
`@odata.nextLink` whose `$skiptoken` is the last row's `number`, since every set is
kept sorted by `number` like BC's primary key (docs/platforms.md section 7).
"""

from __future__ import annotations

import bisect
from collections.abc import Callable, Collection
from operator import itemgetter
from typing import Any

from flask import Response, jsonify, request

from sandbox.businesscentral.odata import (
    context,
    next_link,
    odata_error,
    page_size,
    project,
    select_fields,
)
from sandbox.businesscentral.state import BusinessCentralState

#: The rows a `$filter` expression keeps (None: all), sorted by `number`; raises
#: `ValueError` for a filter the entity set does not support.
Select = Callable[[str | None], list[dict[str, Any]]]


def list_answer(
    state: BusinessCentralState,
    company_id: str,
    entity_set: str,
    select: Select,
    known: Collection[str],
) -> Response:
    """The page this request asks for of `entity_set` in company `company_id`."""
    if company_id != state.company_id:
        return odata_error(404, "BadRequest_NotFound", "The company does not exist.")
    args = request.args
    try:
        fields = select_fields(args.get("$select"), known)
        skip, top = int(args.get("$skip", 0)), args.get("$top")
        with state.lock:
            rows = select(args.get("$filter"))
            end = len(rows) if top is None else min(len(rows), skip + int(top))
            start = skip
            if "$skiptoken" in args:
                key = args["$skiptoken"].strip("'")
                start = bisect.bisect_right(rows, key, lo=skip, hi=end, key=itemgetter("number"))
            size = page_size(request.headers.get("Prefer", ""))
            page = [project(row, fields) for row in rows[start : min(start + size, end)]]
            more = start + size < end
    except ValueError as exc:
        return odata_error(400, "BadRequest", str(exc))
    body: dict[str, Any] = {
        "@odata.context": context(f"companies({company_id})/{entity_set}"),
        "value": page,
    }
    if more:
        body["@odata.nextLink"] = next_link(page[-1]["number"])
    response = jsonify(body)
    if "odata.maxpagesize" in request.headers.get("Prefer", ""):
        response.headers["Preference-Applied"] = f"odata.maxpagesize={size}"
    return response
