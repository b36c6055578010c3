"""The unified endpoint's request body, checked field by field before anything is written.

Body: `{resource, action, data}`, `data` one record or a list. The schemas below are the
minimum each resource needs; unknown fields are allowed (plugins send whole records)
and kept in `raw`. Every refusal is an `Invalid` whose message starts with the field
path (`data[2].line_items[0].quantity: ...`), so a plugin author can see what to fix.

Each record may name its fields two ways: ours (`id`, `line_items`, `created_at`), or
the WooCommerce plugin's (`wc_order_id`, `items`, `date_created`: plugins/stocksync-woocommerce,
and the contract it follows), mapped by `ALIASES`. A record giving both names of one
field is refused rather than guessed at.

The checks also cover what PostgreSQL would refuse later, since a database error on
sender input would be a 500: NUL characters and lone surrogates (not storable in text
or JSONB), non-finite numbers, nesting too deep to store or walk, and values that
overflow their column (string lengths, int4, numeric(18, 4)).
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from typing import Any, NoReturn

from api import json_body
from models.webhook_log import EARLIEST_OCCURRED_AT, LATEST_OCCURRED_AT
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
#: Another name a sender may give a field, to our name for it.
Aliases = Mapping[str, str]
#: Each parser's rule in JSON Schema, for the OpenAPI document (`json_schema`).
_JSON: dict[Parser, dict[str, Any]] = {}


def _described(rule: dict[str, Any]) -> Callable[[Parser], Parser]:
    def mark(parser: Parser) -> Parser:
        _JSON[parser] = rule
        return parser

    return mark


def text(max_length: int, *, empty: bool = True) -> Parser:
    @_described(
        {"type": "string", "maxLength": max_length}
        if empty
        else {"type": "string", "maxLength": max_length, "pattern": r"\S"}
    )
    def parse(value: Any, path: str) -> str:
        if not isinstance(value, str):
            _fail(path, "must be a string")
        if len(value) > max_length:
            _fail(path, f"must be at most {max_length} characters")
        if not empty and not value.strip():
            _fail(path, "must not be empty")
        return value

    return parse


@_described({"type": ["integer", "string"], "minLength": 1, "maxLength": 100, "pattern": r"\S"})
def ident(value: Any, path: str) -> str:
    """A store id: WooCommerce and BigCommerce send integers, Shopify GID strings."""
    if isinstance(value, int) and not isinstance(value, bool):
        value = str(value)
    if not isinstance(value, str) or not value.strip():
        _fail(path, "must be a non-empty string or an integer")
    if len(value) > 100:
        _fail(path, "must be at most 100 characters")
    return value.strip()


@_described(
    {"type": ["integer", "string"], "maxLength": 100, "description": "0 or an empty string: none"}
)
def reference(value: Any, path: str) -> str | None:
    """An id pointing elsewhere; 0 and "" mean none (WooCommerce's `parent_id: 0`)."""
    if value in (0, "0", "") and not isinstance(value, bool):
        return None
    return ident(value, path)


@_described(
    {
        "type": ["number", "string"],
        "pattern": r"^\s*[-+]?([0-9]+\.?[0-9]*|\.[0-9]+)([eE][-+]?[0-9]+)?\s*$",
        "description": "a decimal below 10^14; 4 places are kept",
    }
)
def money(value: Any, path: str) -> Decimal:
    """A decimal string or a JSON number, rounded to the column's 4 places."""
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        _fail(path, "must be a decimal string or a number")
    try:
        amount = Decimal(str(value))
    except InvalidOperation:
        _fail(path, "must be a decimal string or a number")
    # Rounded first: 99999999999999.99995 rounds up past the column's 14 digits.
    if not amount.is_finite() or abs(amount.quantize(MONEY_PLACES)) >= MONEY_LIMIT:
        _fail(path, f"must be a finite amount below {MONEY_LIMIT:,}")
    return amount.quantize(MONEY_PLACES)


def integer(minimum: int) -> Parser:
    @_described({"type": "integer", "minimum": minimum, "maximum": INT4_MAX})
    def parse(value: Any, path: str) -> int:
        if isinstance(value, bool) or not isinstance(value, int):
            _fail(path, "must be an integer")
        if not minimum <= value <= INT4_MAX:
            _fail(path, f"must be an integer from {minimum} to {INT4_MAX}")
        return value

    return parse


@_described({"type": "boolean"})
def flag(value: Any, path: str) -> bool:
    if not isinstance(value, bool):
        _fail(path, "must be true or false")
    return value


@_described({"type": "string", "format": "date-time"})
def moment(value: Any, path: str) -> datetime:
    """ISO 8601; without an offset it is UTC (WooCommerce's `*_gmt` fields have none).
    Within the calendar every reader can hold in any time zone (models/webhook_log.py:
    an order's time is its stock event's), so year 1 or 9999 is refused here, not a 500."""
    if not isinstance(value, str):
        _fail(path, "must be an ISO 8601 date-time string")
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        _fail(path, "must be an ISO 8601 date-time string")
    parsed = parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
    try:
        in_calendar = EARLIEST_OCCURRED_AT <= parsed.astimezone(UTC) < LATEST_OCCURRED_AT
    except OverflowError:  # in UTC, year 0 or 10000
        in_calendar = False
    if not in_calendar:
        first, last = EARLIEST_OCCURRED_AT.date(), LATEST_OCCURRED_AT.date()
        _fail(path, f"must be a date-time from {first} to before {last}")
    return parsed


@_described({"type": ["string", "null"], "description": "unusable: the record is skipped"})
def sku(value: Any, path: str) -> str | None:
    """Any string or null: an unusable SKU skips its record rather than failing the body."""
    if value is not None and not isinstance(value, str):
        _fail(path, "must be a string or null")
    return value


def records(schema: Schema, aliases: Aliases, *, unique: str | None = None) -> Parser:
    """A list of objects of `schema`; with `unique`, no two may share that field's value
    where they give one."""

    @_described({"type": "array", "items": json_schema(schema, aliases)})
    def parse(value: Any, path: str) -> list[dict[str, Any]]:
        if not isinstance(value, list):
            _fail(path, "must be a list")
        parsed = [record(schema, aliases, item, f"{path}[{i}]") for i, item in enumerate(value)]
        if unique:
            seen: set[Any] = set()
            for i, item in enumerate(parsed):
                if item.get(unique) is None:
                    continue
                if item[unique] in seen:
                    _fail(f"{path}[{i}].{unique}", "is a duplicate")
                seen.add(item[unique])
        return parsed

    return parse


def record(schema: Schema, aliases: Aliases, value: Any, path: str) -> dict[str, Any]:
    """The parsed fields of one object under our names; absent optional fields are
    absent here too. A field sent under its alias is checked under the name it was sent
    as, so the message names what the sender wrote."""
    if not isinstance(value, dict):
        _fail(path, "must be an object")
    sent_as = {name: alias for alias, name in aliases.items() if alias in value}
    for name, alias in sent_as.items():
        if name in value:
            _fail(f"{path}.{alias}", f"and {name} are the same field: send one of them")
    parsed: dict[str, Any] = {}
    for spec, parse in schema.items():
        name = spec.removesuffix("?")
        optional = spec.endswith("?")
        given = sent_as.get(name, name)
        if given not in value:
            if not optional:
                other = [a for a, n in aliases.items() if n == name]
                _fail(f"{path}.{name}", "is required" + (f" (or {other[0]})" if other else ""))
            continue
        item = value[given]
        parsed[name] = None if optional and item is None else parse(item, f"{path}.{given}")
    return parsed


def json_schema(schema: Schema, aliases: Aliases) -> dict[str, Any]:
    """`schema` in JSON Schema: each field under our name and its alias, required under
    one of them, unknown fields allowed (they are kept in `raw`)."""
    properties: dict[str, Any] = {}
    required: list[dict[str, Any]] = []
    for spec, parser in schema.items():
        name = spec.removesuffix("?")
        rule = dict(_JSON[parser])
        if spec.endswith("?"):
            kinds = rule["type"] if isinstance(rule["type"], list) else [rule["type"]]
            rule["type"] = kinds if "null" in kinds else [*kinds, "null"]
        properties[name] = rule
        names = [name, *(alias for alias, ours in aliases.items() if ours == name)]
        for alias in names[1:]:
            properties[alias] = {**rule, "description": f"the same field as `{name}`"}
        if not spec.endswith("?"):
            required.append({"anyOf": [{"required": [n]} for n in names]})
        # Both names of one field are refused (`record`).
        required += [{"not": {"required": [name, alias]}} for alias in names[1:]]
    return {"type": "object", "properties": properties, "allOf": required}


#: The WooCommerce plugin's field names (plugins/stocksync-woocommerce) for ours, per resource.
ALIASES: dict[str, Aliases] = {
    "order": {
        "wc_order_id": "id",
        "date_created": "created_at",
        "date_modified": "updated_at",
        "items": "line_items",
    },
    "line_item": {"wc_item_id": "id", "wc_product_id": "product_id", "product_name": "name"},
    "product": {"wc_product_id": "id", "date_created": "created_at", "date_modified": "updated_at"},
    "customer": {"wc_customer_id": "id", "date_modified": "updated_at"},
    "category": {"wc_category_id": "id"},
}
LINE_ITEM: Schema = {
    "id?": ident,
    "sku": sku,
    "quantity": integer(0),
    "price?": money,
    "total?": money,
    "name?": text(500),
    "product_id?": reference,
    "variation_id?": reference,
}
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
        "line_items": records(LINE_ITEM, ALIASES["line_item"], unique="id"),
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
        "type?": text(40),
        "status?": text(40),
        "price?": money,
        "regular_price?": money,
        "sale_price?": money,
        "stock_status?": text(40),
        "category_id?": reference,
        "parent_id?": reference,
        "variant_id?": reference,
        "stock_quantity?": integer(-INT4_MAX),
        "manage_stock?": flag,
        "created_at?": moment,
        "updated_at?": moment,
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
            choices = ", ".join(sorted(allowed))
            _fail(name, f"invalid {LABELS[name]}{_shown(body[name])}; must be one of {choices}")
    if "data" not in body:
        _fail("data", "is required")
    data = body["data"]
    if isinstance(data, dict):
        items, paths = [data], ["data"]
    elif isinstance(data, list) and 0 < len(data) <= MAX_RECORDS:
        items, paths = data, [f"data[{i}]" for i in range(len(data))]
    else:
        _fail("data", f"must be an object or a list of 1 to {MAX_RECORDS} objects")
    schema, aliases = SCHEMAS[body["resource"]], ALIASES[body["resource"]]
    entries = [
        Entry(record(schema, aliases, item, path), item)
        for item, path in zip(items, paths, strict=True)
    ]
    return SyncRequest(body["resource"], body["action"], entries)


#: How a refusal names the envelope's fields ("Invalid resource type: xyz", as the
#: contract's example answer has it).
LABELS = {"resource": "resource type", "action": "action"}


#: What a refusal may repeat of a sent `resource` or `action`: a short plain word, never
#: anything longer, with control codes, or shaped like an address or a key.
NAME_LIKE = re.compile(r"[A-Za-z][A-Za-z0-9_-]{0,39}")


def _shown(value: Any) -> str:
    """`: xyz` for a short plain word the sender gave, else nothing: the message repeats
    what was sent only where that cannot flood a log, carry control codes or personal
    data."""
    if isinstance(value, str) and NAME_LIKE.fullmatch(value):
        return f": {value}"
    return ""


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
