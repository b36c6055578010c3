"""The OData v4 conventions the Business Central sandbox answers in (docs/platforms.md section 7).

Error bodies, timestamps, ETags, `@odata.context`, the one `$filter` shape BC's `or`
supports (equality on a single field), `$select` and server-driven paging with
`Prefer: odata.maxpagesize`. Kept apart from the resources so the routes
(`items`, `subscriptions`) read as the API they fake.
"""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Collection, Mapping
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import quote, urlencode

from flask import Response, jsonify, request

#: The tenant form of the API root: the one that works with app-only tokens (section 7).
API = "/v2.0/<tenant>/<environment>/api/v2.0"
#: Most entities BC online returns in one page, and its default (section 7).
MAX_PAGE_SIZE = 20_000

_NAMESPACE = uuid.UUID("6f1c1c52-9c1e-4b59-9a55-2f4b7d0c6a10")
_LITERAL = r"'((?:[^']|'')*)'"
_GUID = r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}"
_INSTANT = r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(?::\d{2}(?:\.\d{1,7})?)?(?:Z|[+-]\d{2}:\d{2})"
_PREFER = re.compile(r"odata\.maxpagesize\s*=\s*(\d+)")


def timestamp(later: timedelta = timedelta(0)) -> str:
    """A BC-style UTC timestamp; fixed width, so such strings compare in time order."""
    return (datetime.now(UTC) + later).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def odata_error(status: int, code: str, message: str) -> Response:
    response = jsonify({"error": {"code": code, "message": message}})
    response.status_code = status
    return response


def stable_id(name: str) -> str:
    """A GUID that is the same for `name` in every run, so tests and demos can rely on it."""
    return str(uuid.uuid5(_NAMESPACE, name))


def etag(entity: Mapping[str, Any]) -> str:
    """A weak ETag that changes whenever any field of `entity` does."""
    return f'W/"{uuid.uuid5(_NAMESPACE, json.dumps(entity, sort_keys=True)).hex}"'


def context(path: str) -> str:
    """`@odata.context`: the API root of this request, `$metadata#`, the entity set."""
    root = request.path.split("/companies")[0].split("/subscriptions")[0]
    return f"{request.url_root.rstrip('/')}{root}/$metadata#{path}"


def filter_values(expression: str, field: str) -> set[str]:
    """The values a `<field> eq 'A' or <field> eq 'B'` filter asks for.

    Anything else raises `ValueError` (a 400), as BC refuses `or` across fields; `in` is
    documented only with `$schemaversion=2.1` (section 7), which the sandbox does not serve.
    """
    clause = rf"{re.escape(field)}\s+eq\s+'(?:[^']|'')*'"
    if not re.fullmatch(rf"\s*{clause}(?:\s+or\s+{clause})*\s*", expression):
        raise ValueError(f"unsupported $filter {expression[:60]!r}")
    return {raw.replace("''", "'") for raw in re.findall(_LITERAL, expression)}


def guid_values(expression: str, field: str) -> set[str]:
    """The GUIDs an `<field> eq <guid> or <field> eq <guid>` filter asks for: OData v4
    Guid literals are unquoted; a quoted one or anything else raises `ValueError` (a
    400), as BC refuses comparing a Guid with a string."""
    clause = rf"{re.escape(field)}\s+eq\s+({_GUID})"
    if not re.fullmatch(rf"\s*{clause}(?:\s+or\s+{clause})*\s*", expression):
        raise ValueError(f"unsupported $filter {expression[:60]!r}")
    return {str(uuid.UUID(raw)) for raw in re.findall(_GUID, expression)}


def after_time(expression: str, field: str) -> datetime:
    """The instant a `<field> gt <DateTimeOffset>` filter asks for rows after.

    The literal is unquoted ISO 8601 with `Z` or an offset (OData v4's DateTimeOffset,
    as BC takes it, section 7); a quoted one, another operator or anything else raises
    `ValueError` (a 400), as BC refuses comparing a date-time with a string.
    """
    match = re.fullmatch(rf"\s*{re.escape(field)}\s+gt\s+({_INSTANT})\s*", expression)
    if match is None:
        raise ValueError(f"unsupported $filter {expression[:60]!r}")
    return datetime.fromisoformat(match.group(1))


def select_fields(select: str | None, known: Collection[str]) -> list[str] | None:
    """The `$select` list, or None for every field; an unknown field raises `ValueError`."""
    if select is None:
        return None
    fields = [name.strip() for name in select.split(",")]
    unknown = [name for name in fields if name not in known]
    if unknown:
        raise ValueError(f"Could not find a property named '{unknown[0]}' on type 'item'.")
    return fields


def project(row: Mapping[str, Any], fields: list[str] | None) -> dict[str, Any]:
    chosen = row if fields is None else {name: row[name] for name in fields}
    return {"@odata.etag": etag(row), **chosen}


def page_size(prefer: str) -> int:
    """The page size a `Prefer` header asks for, capped at BC's maximum."""
    match = _PREFER.search(prefer)
    return max(1, min(int(match.group(1)), MAX_PAGE_SIZE)) if match else MAX_PAGE_SIZE


def next_link(skiptoken: str) -> str:
    """This request's URL with `$skiptoken` set: the `@odata.nextLink` of a page."""
    query = {k: v for k, v in request.args.items() if k != "$skiptoken"}
    query["$skiptoken"] = f"'{skiptoken}'"
    encoded = urlencode(query, quote_via=quote, safe="$',()")
    return f"{request.base_url}?{encoded}"
