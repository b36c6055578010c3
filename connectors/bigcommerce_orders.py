"""One BigCommerce order read into an `OrderSnapshot` (docs/platforms.md sections 3, 4).

Order webhooks carry ids only, so the order is read: `GET /v2/orders/{id}` for its
status and modification time, `GET /v2/orders/{id}/products` for its lines, and, once
per connector, `GET /v3/settings/inventory` for when the store lowers its own levels
(`update_stock_behavior`). Every request goes through the store's paced call, so the
reads spend the store's one quota like any other call.

What the snapshot says:

- state: 0 Incomplete is not placed; 5 Cancelled and 6 Declined are cancelled;
  4 Refunded is refunded; every other status is open (14 Partially Refunded included:
  its remaining units are still sold).
- `store_applied`: with `order_placed` every open order has lowered the store's levels
  (an Incomplete one has not: it is not open); with `order_completed_or_shipped` only
  2 Shipped, 3 Partially Shipped and 10 Completed have. An order that is not open holds
  nothing, so it is never applied.
- lines: units still held per SKU, ordered less refunded; SKUs normalised, lines
  without a usable SKU skipped, one SKU's lines summed.

The global inventory settings are read, not a channel's: an order from a channel with
its own settings is judged by the global ones (docs/platforms.md section 4 says channel
settings apply to that channel's orders).
"""

from __future__ import annotations

import email.utils
from collections.abc import Callable, Iterator, Mapping
from datetime import UTC, datetime
from typing import Any

from connectors.errors import PermanentError
from connectors.types import OrderLine, OrderSnapshot, OrderState
from models.skus import try_normalize_sku

#: The store's paced request: (method, path under `/stores/{hash}/`, **requests kwargs)
#: to the decoded JSON body, None for a 204.
Call = Callable[..., Any]

#: Status ids that are not open (`/order_statuses`, docs/platforms.md section 4).
STATES = {
    0: OrderState.NOT_PLACED,
    4: OrderState.REFUNDED,
    5: OrderState.CANCELLED,
    6: OrderState.CANCELLED,
}
#: The statuses at which `order_completed_or_shipped` has lowered the levels.
SHIPPED_OR_COMPLETED = frozenset({2, 3, 10})
STOCK_BEHAVIORS = ("order_placed", "order_completed_or_shipped")
#: Order products per page: the largest `limit` the V2 API takes.
LINES_PAGE = 250


class OrderReader:
    """Reads orders through one store's paced call; keeps its inventory setting."""

    def __init__(self, call: Call) -> None:
        self._call = call
        self._stock_behavior: str | None = None

    def read(self, order_id: str) -> OrderSnapshot | None:
        """The order as BigCommerce holds it now; None if it has none by that id (404,
        or an id that is not a BigCommerce order number)."""
        if not (order_id.isascii() and order_id.isdecimal()):
            return None
        try:
            order = self._call("GET", f"v2/orders/{order_id}")
            lines = _summed(self._lines(order_id))
        except PermanentError as exc:
            if exc.status == 404:
                return None
            raise
        status_id = int(order["status_id"])
        state = STATES.get(status_id, OrderState.OPEN)
        return OrderSnapshot(
            order_id=str(order["id"]),
            number=str(order["id"]),
            updated_at=_rfc2822(order.get("date_modified"), order_id),
            state=state,
            store_applied=state is OrderState.OPEN and self._applies(status_id),
            lines=lines,
        )

    def stock_behavior(self) -> str:
        """`update_stock_behavior`, read once: merchants rarely change it, and each read
        costs a request from the quota every app on the store shares."""
        if self._stock_behavior is None:
            body = self._call("GET", "v3/settings/inventory")
            behavior = body["data"].get("update_stock_behavior")
            if behavior not in STOCK_BEHAVIORS:
                # Guessing would count the store's own decrement wrongly on every order.
                raise PermanentError(
                    f"bigcommerce GET v3/settings/inventory: unknown update_stock_behavior "
                    f"{str(behavior)[:40]!r}"
                )
            self._stock_behavior = behavior
        return self._stock_behavior

    def _applies(self, status_id: int) -> bool:
        if self.stock_behavior() == "order_completed_or_shipped":
            return status_id in SHIPPED_OR_COMPLETED
        return True

    def _lines(self, order_id: str) -> Iterator[Mapping[str, Any]]:
        """Every order product, page by page: a short page or a 204 is the last."""
        page = 1
        while True:
            rows = self._call(
                "GET",
                f"v2/orders/{order_id}/products",
                params={"limit": LINES_PAGE, "page": page},
            )
            yield from rows or []
            if not rows or len(rows) < LINES_PAGE:
                return
            page += 1


def _summed(rows: Iterator[Mapping[str, Any]]) -> tuple[OrderLine, ...]:
    units: dict[str, int] = {}
    for row in rows:
        sku = try_normalize_sku(row.get("sku"))
        if sku is None:
            continue
        held = int(row.get("quantity") or 0) - int(row.get("quantity_refunded") or 0)
        units[sku] = units.get(sku, 0) + max(0, held)
    return tuple(OrderLine(sku, n) for sku, n in units.items())


def _rfc2822(value: object, order_id: str) -> datetime:
    """V2's "Tue, 20 Nov 2012 00:00:00 +0000" as aware UTC; a zone-less "-0000" is UTC."""
    try:
        parsed = email.utils.parsedate_to_datetime(str(value))
    except (TypeError, ValueError):
        raise PermanentError(
            f"bigcommerce GET v2/orders/{order_id}: unreadable date_modified {str(value)[:40]!r}"
        ) from None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed.astimezone(UTC)
