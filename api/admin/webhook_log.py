"""The webhook log: search it, read one request, replay a failed event.

Routes only: the search, the row and the replay are `sync.webhook_log`, which the CLI
uses too (`stocksync log`).
"""

from __future__ import annotations

from typing import Any

from api.admin import schemas
from api.admin.http import Doc, Param, admin_blueprint, endpoint, page_params
from api.resources import context
from models import WebhookStatus
from sync import webhook_log as service

webhook_log = admin_blueprint("webhook_log")

FILTERS = [
    Param("site_id", schemas.ID, "Only this site's requests."),
    Param(
        "provider", schemas.text(32, 1), "woocommerce, shopify, bigcommerce, standard, zoho, ..."
    ),
    Param("status", {"enum": [s.value for s in WebhookStatus]}, "Only rows in this status."),
    Param("topic", schemas.text(100, 1), "Exact topic, e.g. products/update."),
    Param("since", {"type": "string", "format": "date-time"}, "Received at or after."),
    Param("until", {"type": "string", "format": "date-time"}, "Received before."),
    Param("q", schemas.text(200, 1), "Text search in SKU and entity (case-insensitive)."),
    Param("cursor", schemas.ID, "`next_cursor` of the previous page."),
]


# --- routes -------------------------------------------------------------------------


@endpoint(
    webhook_log,
    "GET",
    "/api/webhooks/log",
    Doc(
        "Search the webhook log, newest first",
        "webhooks",
        query=[*FILTERS, *page_params()],
        response=schemas.listing("WebhookLogRow"),
    ),
)
def index(query: dict[str, Any]) -> dict[str, Any]:
    return service.list_rows(context(), query, query["limit"], query["offset"])


@endpoint(
    webhook_log,
    "GET",
    "/api/webhooks/log/<id:row_id>",
    Doc(
        "One logged request, with its payload",
        "webhooks",
        response=schemas.ref("WebhookLogRow"),
        errors=(404,),
    ),
)
def show(row_id: int) -> dict[str, Any]:
    return service.show_row(context(), row_id)


@endpoint(
    webhook_log,
    "POST",
    "/api/webhooks/log/<id:row_id>/replay",
    Doc(
        "Queue a failed event again (409 unless it is failed)",
        "webhooks",
        status=202,
        response={
            "type": "object",
            "properties": {
                "id": schemas.ID,
                "status": {"type": "string"},
                "enqueued": {"type": "boolean"},
            },
        },
        errors=(404, 409),
    ),
)
def replay_row(row_id: int) -> dict[str, Any]:
    return service.replay(context(), row_id)
