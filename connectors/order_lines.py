"""What the order parsers of every store share: reading an order's fields and summing
its lines by SKU (`connectors/types.py`, `OrderSnapshot`).

Orders arrive as signed webhook payloads, so a field that is missing or of the wrong
type is the platform's surprise, not a passing fault: it raises `PermanentError`
naming the field, and retrying would fail the same way.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from typing import Any

from connectors.errors import PermanentError
from connectors.types import OrderLine
from models.skus import try_normalize_sku


def order_object(payload: object, platform: str) -> Mapping[str, Any]:
    """The order payload as a JSON object, or a clear refusal (there is no API fallback)."""
    if not isinstance(payload, Mapping):
        raise PermanentError(f"{platform}: order payload is not a JSON object")
    return payload


def field(order: Mapping[str, Any], name: str, kind: type, platform: str) -> Any:
    """`order[name]` if it is of `kind` (never a bool for an int), else PermanentError."""
    value = order.get(name)
    if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
        raise PermanentError(f"{platform}: order field {name!r} is missing or malformed")
    return value


def utc_time(order: Mapping[str, Any], name: str, platform: str) -> datetime:
    """`order[name]`, an ISO 8601 time, as aware UTC; one without a zone is UTC
    (WooCommerce's `_gmt` fields)."""
    value = field(order, name, str, platform)
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise PermanentError(f"{platform}: order field {name!r} is not a time") from None
    return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)


def objects(rows: Iterable[Any]) -> list[Mapping[str, Any]]:
    """The JSON objects among `rows` (a list the platform documents as objects)."""
    return [row for row in rows if isinstance(row, Mapping)]


def summed(units_by_raw_sku: Iterable[tuple[object, int]]) -> tuple[OrderLine, ...]:
    """Lines by normalised SKU (`models.skus`, as the catalogs read them), units of one
    SKU summed, in first-seen order; lines without a usable SKU are skipped, since no ERP
    item can match them."""
    totals: dict[str, int] = {}
    for raw_sku, units in units_by_raw_sku:
        sku = try_normalize_sku(raw_sku)
        if sku is not None:
            totals[sku] = totals.get(sku, 0) + units
    return tuple(OrderLine(sku, max(0, units)) for sku, units in totals.items())
