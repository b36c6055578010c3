"""Orders the store plugin pushes (`POST /api/sync/webhook`, resource `order`) hold
stock like a platform's order webhooks (issue 20, item 1; docs/architecture.md
"Reservations").

The plugin is WooCommerce's, so its statuses are WooCommerce's and mean what they mean
there (connectors/woocommerce_orders.py `STATUSES`: a `pending` order has not lowered
the store yet, `processing` has). Each order the request changed is logged as a
`store.order` event (provider `plugin`) in the same transaction that records it
(sync/unified.py), so the relay and a worker take it from there like any webhook:
durably (a crash after the commit loses nothing), coalesced per order in the dedupe
window, retried, and applied by the one path (sync/store_orders.py). The logged body
is the order as we checked it (id, number, status, time, lines), never the customer.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from connectors.errors import PermanentError
from connectors.order_lines import summed
from connectors.types import OrderSnapshot
from connectors.woocommerce_orders import CUSTOM_STATUS, STATUSES
from models import EventKind, WebhookLog, WebhookStatus
from models.webhook_log import window_key

#: The webhook log's provider for orders the plugin pushed.
PROVIDER = "plugin"
TOPIC = "order.pushed"


def order_event(site_id: int, fields: Mapping[str, Any], now: datetime) -> WebhookLog:
    """The `store.order` log row of one order the plugin pushed (`fields` as checked by
    api/unified_schema.py); its time is the order's, or `now` if it sent none."""
    order_id = str(fields["id"])
    moment = fields.get("updated_at") or fields.get("created_at") or now
    body = {
        "id": order_id,
        "number": fields.get("number") or order_id,
        "status": fields["status"],
        "updated_at": moment.isoformat(),
        "line_items": [
            {"sku": line["sku"], "quantity": line["quantity"]} for line in fields["line_items"]
        ],
    }
    return WebhookLog(
        provider=PROVIDER,
        site_id=site_id,
        topic=TOPIC,
        kind=EventKind.STORE_ORDER,
        entity=order_id,
        dedupe_key=window_key("site", site_id, EventKind.STORE_ORDER, order_id),
        status=WebhookStatus.RECEIVED,
        occurred_at=moment,
        payload=body,
    )


def snapshot_of(payload: object) -> OrderSnapshot:
    """The snapshot of a logged plugin order (`order_event`)."""
    if not isinstance(payload, dict):
        raise PermanentError("plugin order: the logged body is not an object")
    try:
        state, applied = STATUSES.get(payload["status"], CUSTOM_STATUS)
        lines = [(line["sku"], int(line["quantity"])) for line in payload["line_items"]]
        return OrderSnapshot(
            order_id=str(payload["id"]),
            number=str(payload["number"]),
            updated_at=datetime.fromisoformat(payload["updated_at"]),
            state=state,
            store_applied=applied,
            lines=summed(lines),
        )
    except (KeyError, TypeError, ValueError) as exc:
        raise PermanentError(f"plugin order: unreadable logged body ({exc})") from exc
