"""The unified endpoint's request body, checked field by field before anything is written.

Body: `{resource, action, data}`, `data` one record or a list. The schemas below are the
minimum each resource needs; unknown fields are allowed (plugins send whole records)
and kept in `raw`. Every refusal is an `Invalid` whose message starts with the field
path (`data[2].line_items[0].quantity: ...`), so a plugin author can see what to fix.

The checks also cover what PostgreSQL would refuse later, since a database error on
sender input would be a 500: NUL characters and lone surrogates (not storable in text
or JSONB), non-finite numbers, nesting too deep to store or walk, and values that
overflow their column (string lengths, int4, numeric(18, 4)).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from typing import Any, NoReturn

from api import json_body
from sync.unified import Entry

#: A plugin with more changes sends several requests; this keeps one request's
#: transaction (and the row locks it holds) short.
MAX_RECORDS = 1000
#: Far deeper than any store's record; deeper bodies are abuse, and walking or storing
#: them risks recursion limits (ours, json's, PostgreSQL's).
MAX_DEPTH = 32
INT4_MAX = 2**31 - 1
#: numeric(18, 4) holds 14 digits before the point.
MONEY_LIMIT = Decimal(10) ** 14
MONEY_PLACES = Decimal("0.0001")

ACTIONS = frozenset({"created", "updated"})


class Invalid(ValueError):
    """The body is not acceptable; the message names the field path and the problem."""


def _fail(path: str, problem: str) -> NoReturn:
    raise Invalid(f"{path}: {problem}")


Parser = Callable[[Any, str], Any]
#: Field name to parser; a name ending in `?` may be absent or null.
Schema = Mapping[str, Parser]


def text(max_length: int, *, empty: bool = True) -> Parser:
    def parse(value: Any, path: str) -> str:
        if not isinstance(value, str):
            _fail(path, "must be a string")
        if len(value) > max_length:
            _fail(path, f"must be at most {max_length} characters")
        if not empty and not value.strip():
            _fail(path, "must not be empty")
        return value

    return parse


def ident(value: Any, path: str) -> str:
    """A store id: WooCommerce and BigCommerce send integers, Shopify GID strings."""
    if isinstance(value, int) and not isinstance(value, bool):
        value = str(value)
    if not isinstance(value, str) or not value.strip():
        _fail(path, "must be a non-empty string or an integer")
    if len(value) > 100:
        _fail(path, "must be at most 100 characters")
    return value.strip()


def reference(value: Any, path: str) -> str | None:
    """An id pointing elsewhere; 0 and "" mean none (WooCommerce's `parent_id: 0`)."""
    if value in (0, "0", "") and not isinstance(value, bool):
        return None
    return ident(value, path)


def money(value: Any, path: str) -> Decimal:
    """A decimal string or a JSON number, rounded to the column's 4 places."""
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        _fail(path, "must be a decimal string or a number")
    try:
        amount = Decimal(str(value))
    except InvalidOperation:
        _fail(path, "must be a decimal string or a number")
    if not amount.is_finite() or abs(amount) >= MONEY_LIMIT:
        _fail(path, f"must be a finite amount below {MONEY_LIMIT:,}")
    return amount.quantize(MONEY_PLACES)


def integer(minimum: int) -> Parser:
    def parse(value: Any, path: str) -> int:
        if isinstance(value, bool) or not isinstance(value, int):
            _fail(path, "must be an integer")
        if not minimum <= value <= INT4_MAX:
            _fail(path, f"must be an integer from {minimum} to {INT4_MAX}")
        return value

    return parse


def flag(value: Any, path: str) -> bool:
    if not isinstance(value, bool):
        _fail(path, "must be true or false")
    return value


def moment(value: Any, path: str) -> datetime:
    """ISO 8601; without an offset it is UTC (WooCommerce's `*_gmt` fields have none)."""
    if not isinstance(value, str):
        _fail(path, "must be an ISO 8601 date-time string")
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        _fail(path, "must be an ISO 8601 date-time string")
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def sku(value: Any, path: str) -> str | None:
    """Any string or null: an unusable SKU skips its record rather than failing the body."""
    if value is not None and not isinstance(value, str):
        _fail(path, "must be a string or null")
    return value


def records(schema: Schema, *, unique: str | None = None) -> Parser:
    """A list of objects of `schema`; with `unique`, no two may share that field."""

    def parse(value: Any, path: str) -> list[dict[str, Any]]:
        if not isinstance(value, list):
            _fail(path, "must be a list")
        parsed = [record(schema, item, f"{path}[{i}]") for i, item in enumerate(value)]
        if unique:
            seen: set[Any] = set()
            for i, item in enumerate(parsed):
                if item[unique] in seen:
                    _fail(f"{path}[{i}].{unique}", "is a duplicate")
                seen.add(item[unique])
        return parsed

    return parse


def record(schema: Schema, value: Any, path: str) -> dict[str, Any]:
    """The parsed fields of one object; absent optional fields are absent here too."""
    if not isinstance(value, dict):
        _fail(path, "must be an object")
    parsed: dict[str, Any] = {}
    for spec, parse in schema.items():
        name = spec.removesuffix("?")
        optional = spec.endswith("?")
        if name not in value:
            if not optional:
                _fail(f"{path}.{name}", "is required")
            continue
        item = value[name]
        parsed[name] = None if optional and item is None else parse(item, f"{path}.{name}")
    return parsed


LINE_ITEM: Schema = {"id": ident, "sku": sku, "quantity": integer(0), "price": money}
SCHEMAS: dict[str, Schema] = {
    "order": {
        "id": ident,
        "number?": text(100),
        "status": text(40, empty=False),
        "currency?": text(10),
        "total": money,
        "created_at?": moment,
        "updated_at?": moment,
        "customer_id?": reference,
        "line_items": records(LINE_ITEM, unique="id"),
    },
    "customer": {
        "id": ident,
        "email": text(320, empty=False),
        "first_name?": text(200),
        "last_name?": text(200),
        "updated_at?": moment,
    },
    "category": {
        "id": ident,
        "name": text(200, empty=False),
        "parent_id?": reference,
        "slug?": text(200),
    },
    "product": {
        "id": ident,
        "sku": sku,
        "name?": text(500),
        "parent_id?": reference,
        "variant_id?": reference,
        "stock_quantity?": integer(-INT4_MAX),
        "manage_stock?": flag,
    },
}


@dataclass(frozen=True)
class SyncRequest:
    resource: str
    action: str
    entries: list[Entry]


def parse_body(raw: bytes) -> SyncRequest:
    """Decode, check and parse a request body, or raise `Invalid`."""
    try:
        body = json_body.load(raw)
    except json_body.NotJson as exc:
        why = f" ({exc.detail})" if exc.detail else ""
        raise Invalid(f"body: must be a JSON document{why}") from None
    check_storable(body)
    if not isinstance(body, dict):
        _fail("body", "must be a JSON object")
    for name, allowed in (("resource", SCHEMAS.keys()), ("action", ACTIONS)):
        if name not in body:
            _fail(name, "is required")
        if not isinstance(body[name], str) or body[name] not in allowed:
            _fail(name, f"must be one of {', '.join(sorted(allowed))}")
    if "data" not in body:
        _fail("data", "is required")
    data = body["data"]
    if isinstance(data, dict):
        items, paths = [data], ["data"]
    elif isinstance(data, list) and 0 < len(data) <= MAX_RECORDS:
        items, paths = data, [f"data[{i}]" for i in range(len(data))]
    else:
        _fail("data", f"must be an object or a list of 1 to {MAX_RECORDS} objects")
    schema = SCHEMAS[body["resource"]]
    entries = [
        Entry(record(schema, item, path), item) for item, path in zip(items, paths, strict=True)
    ]
    return SyncRequest(body["resource"], body["action"], entries)


def check_storable(body: Any) -> None:
    """Refuse what JSON allows but PostgreSQL cannot store, naming where it is.

    Iterative, so a deep body is refused by the depth check, not by a RecursionError.
    """
    stack: list[tuple[Any, str, int]] = [(body, "body", 0)]
    while stack:
        value, path, depth = stack.pop()
        if depth > MAX_DEPTH:
            _fail(path, f"is nested more than {MAX_DEPTH} levels deep")
        if isinstance(value, dict):
            for key, item in value.items():
                _check_text(key, f"{path} (a key)")
                stack.append((item, f"{path}.{key}" if depth else key, depth + 1))
        elif isinstance(value, list):
            stack.extend((item, f"{path}[{i}]", depth + 1) for i, item in enumerate(value))
        elif isinstance(value, str):
            _check_text(value, path)
        elif isinstance(value, float) and not math.isfinite(value):
            _fail(path, "must be a finite number")


def _check_text(value: str, path: str) -> None:
    if "\x00" in value:
        _fail(path, "must not contain NUL characters")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        _fail(path, "must be valid Unicode (it holds a lone surrogate)")
