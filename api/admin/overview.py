"""`GET /api/overview`: every site with its current run, webhook state and recent items.

Route only: the document is `sync.overview.overview`, what the dashboard polls every
second or two.
"""

from __future__ import annotations

from typing import Any

from api.admin import schemas
from api.admin.http import Doc, admin_blueprint, endpoint
from api.resources import context
from sync.overview import overview as site_overviews

overview = admin_blueprint("overview")


_SITE_OVERVIEW = {
    "allOf": [
        schemas.ref("Site"),
        {
            "type": "object",
            "required": ["webhooks", "run", "recent_items", "subscriptions", "budgets"],
            "properties": {
                "webhooks": {"type": "object"},
                "budgets": {
                    "type": "object",
                    "description": "The store's and the ERP's shared request budgets now.",
                    "additionalProperties": schemas.ref("Budget"),
                },
                "run": {"oneOf": [schemas.ref("Run"), {"type": "null"}]},
                "recent_items": {"type": "array", "items": schemas.ref("Item")},
                "subscriptions": {
                    "type": "array",
                    "items": schemas.ref("PlatformSubscription"),
                    "description": "The store's webhooks we keep, then its ERP's.",
                },
            },
        },
    ]
}


@endpoint(
    overview,
    "GET",
    "/api/overview",
    Doc(
        "Every site with its current run's progress, webhook state and recent items "
        "(what the dashboard polls)",
        "dashboard",
        response={
            "type": "object",
            "properties": {
                "sites": {"type": "array", "items": _SITE_OVERVIEW},
                "worker_running": {
                    "type": "boolean",
                    "description": (
                        "The heartbeat of a worker reading the sync queue is recent: "
                        "without one, runs stay queued."
                    ),
                },
            },
        },
    ),
)
def show() -> dict[str, Any]:
    return site_overviews(context())
