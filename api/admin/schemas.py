"""JSON Schemas of the admin API: request bodies (checked) and responses (documented).

OpenAPI 3.1 uses JSON Schema 2020-12, so the same dicts validate requests
(api/admin/http.py) and describe them in `/api/openapi.json`: one source for both.
Response schemas are referenced as `#/components/schemas/<Name>`.
"""

from __future__ import annotations

from typing import Any

from models import Platform, RunStatus, SourceKind, WebhookStatus
from sync.lifecycle import TOPICS

Schema = dict[str, Any]

MAX_ID = 2**63 - 1


def ref(name: str) -> Schema:
    return {"$ref": f"#/components/schemas/{name}"}


def nullable(kind: str, **extra: Any) -> Schema:
    return {"type": [kind, "null"], **extra}


def text(max_length: int, min_length: int = 0, **extra: Any) -> Schema:
    return {"type": "string", "minLength": min_length, "maxLength": max_length, **extra}


ID: Schema = {"type": "integer", "minimum": 1, "maximum": MAX_ID}
TIME: Schema = nullable("string", format="date-time")
URL: Schema = text(500, 8, pattern=r"^https?://[^\s]+$")
NAME: Schema = text(100, 1, pattern=r"\S")
TIMEZONE: Schema = text(64, 1)
HOUR: Schema = {"type": "integer", "minimum": 0, "maximum": 23}
POSITIVE: Schema = nullable("integer", minimum=1, maximum=1_000_000)
CREDENTIALS: Schema = {
    "type": "object",
    "minProperties": 1,
    "maxProperties": 50,
    "additionalProperties": {"type": ["string", "number", "boolean"], "maxLength": 10_000},
    "description": "Write-only: stored encrypted, never returned.",
    # Also keeps the value out of refusals (api/admin/messages.py).
    "writeOnly": True,
}
SECRET: Schema = {
    "oneOf": [
        text(1000, 1),
        {
            "type": "object",
            "minProperties": 1,
            "maxProperties": 10,
            "additionalProperties": text(1000, 1),
        },
    ],
    "description": "Write-only webhook secret: a string, or a JSON object for providers "
    "with two (BigCommerce, Zoho).",
    "writeOnly": True,
}
ROTATE: Schema = {
    "type": "boolean",
    "description": "Generate a new secret; it is returned once, in `webhook_secret`.",
}

COUNT: Schema = {"type": "integer", "minimum": 0, "maximum": 1_000_000_000}
#: The site's stock policy (sync/sellable.py); a change resyncs the site's store.
STOCK_POLICY: Schema = {
    "stock_buffer": {**COUNT, "description": "Units kept back, or a percent (0-100)."},
    "stock_buffer_unit": {"enum": ["units", "percent"]},
    "stock_floor": {**COUNT, "description": "Below this many, the store shows 0."},
    "stock_basis": {
        "enum": ["on_hand", "available_for_sale"],
        "description": "The ERP figure the policy starts from: stock on hand, or on hand "
        "less what the ERP committed to its sales orders (refused, 422, for an ERP that "
        "does not report it: Business Central, docs/platforms.md section 7).",
    },
    "erp_location_ids": {
        "type": ["array", "null"],
        "items": {"type": "string", "minLength": 1, "maxLength": 100},
        "minItems": 1,
        "maxItems": 50,
        "description": "The ERP locations (warehouse ids) whose figures the basis sums "
        "for this store; null: all of them, the item-level figure (refused, 422, for an "
        "ERP without stock per location: Business Central, docs/platforms.md section 7).",
    },
}
#: A source by id or name.
SOURCE_REF: Schema = {
    "type": ["integer", "string"],
    "minimum": 1,
    "maximum": MAX_ID,
    "maxLength": 100,
}
SITE_CREATE: Schema = {
    "type": "object",
    "additionalProperties": False,
    "required": ["name", "platform", "base_url", "source", "credentials"],
    "properties": {
        "name": NAME,
        "platform": {"enum": [p.value for p in Platform]},
        "base_url": URL,
        "source": SOURCE_REF,
        "credentials": CREDENTIALS,
        "initial_sync": {
            "type": "boolean",
            "default": True,
            "description": "false: nightly previews, nothing written, until a live run "
            "of the site completes.",
        },
        "check": {
            "type": "boolean",
            "default": True,
            "description": "Call the platform with the credentials before saving (422 "
            "says what is wrong).",
        },
        "webhook_secret": SECRET,
        "timezone": TIMEZONE,
        "full_sync_hour": HOUR,
    },
}
#: What sites and sources both let an update change: names, address, secrets.
_OWNER_UPDATE: Schema = {
    "name": NAME,
    "base_url": URL,
    "credentials": CREDENTIALS,
    "webhook_secret": SECRET,
    "rotate_webhook_secret": ROTATE,
}


def _update(properties: Schema) -> Schema:
    return {
        "type": "object",
        "additionalProperties": False,
        "minProperties": 1,
        "properties": properties,
    }


SITE_UPDATE: Schema = _update(
    {
        **_OWNER_UPDATE,
        "source": {
            **SOURCE_REF,
            "description": "Move the site to this source (refused while a run is live).",
        },
        "timezone": TIMEZONE,
        "full_sync_hour": HOUR,
        "active": {"type": "boolean"},
        "webhooks_active": {"type": "boolean"},
        "rate_limit_requests": POSITIVE,
        "rate_limit_window_seconds": POSITIVE,
        "rate_limit_concurrency": POSITIVE,
        **STOCK_POLICY,
    }
)
SOURCE_CREATE: Schema = {
    "type": "object",
    "additionalProperties": False,
    "required": ["name", "kind", "base_url", "credentials"],
    "properties": {
        "name": NAME,
        "kind": {"enum": [k.value for k in SourceKind]},
        "base_url": URL,
        "credentials": CREDENTIALS,
        "check": {
            "type": "boolean",
            "default": True,
            "description": "Call the ERP with the credentials before saving.",
        },
        "webhook_secret": SECRET,
    },
}
#: A source's own ERP budget (sync/limits.py); null restores the ERP's default.
_SOURCE_BUDGET: Schema = {
    "rate_limit_requests": POSITIVE,
    "rate_limit_window_seconds": POSITIVE,
    "rate_limit_concurrency": POSITIVE,
    "rate_limit_daily": {
        **POSITIVE,
        "description": "Requests per 24 h (Zoho's plan cap); null: the ERP's default.",
    },
}
SOURCE_UPDATE: Schema = _update({**_OWNER_UPDATE, **_SOURCE_BUDGET})
SKU_RULE: Schema = {
    "oneOf": [
        {
            "type": "object",
            "additionalProperties": False,
            "required": ["override"],
            "properties": {"override": COUNT},
        },
        {
            "type": "object",
            "additionalProperties": False,
            "required": ["opt_out"],
            "properties": {"opt_out": {"const": True}},
        },
    ],
    "description": '`{"override": N}` writes N whatever the ERP says; '
    '`{"opt_out": true}`: never written.',
}
TOGGLE: Schema = {
    "type": "object",
    "additionalProperties": False,
    "properties": {"active": {"type": "boolean", "description": "Omit to flip."}},
}
TOPIC_LIST: Schema = {
    "type": "array",
    "items": {"enum": list(TOPICS)},
    "minItems": 1,
    "uniqueItems": True,
}
SUBSCRIPTION_CREATE: Schema = {
    "type": "object",
    "additionalProperties": False,
    "required": ["url"],
    "properties": {"url": URL, "topics": TOPIC_LIST, "site_id": nullable("integer", **ID)},
}
SUBSCRIPTION_UPDATE: Schema = _update(
    {
        "url": URL,
        "topics": TOPIC_LIST,
        "site_id": nullable("integer", minimum=1, maximum=MAX_ID),
        "active": {"type": "boolean"},
        "rotate_secret": {"type": "boolean", "description": "Returned once, in `secret`."},
    }
)


def _object(properties: Schema, required: list[str] | None = None) -> Schema:
    return {
        "type": "object",
        "properties": properties,
        "required": required if required is not None else list(properties),
    }


_ITEM = _object(
    {
        "sku": {"type": "string"},
        "product_id": {"type": "string"},
        "variant_id": nullable("string"),
        "quantity": nullable("integer"),
        "last_synced_at": TIME,
    }
)
_RUN = _object(
    {
        "id": ID,
        "log_id": {
            "type": "string",
            "format": "uuid",
            "description": "The run's public id: the plugin endpoint's `syncLogId`.",
        },
        "site_id": ID,
        "kind": {"type": "string"},
        "trigger": {"type": "string"},
        "status": {"enum": [s.value for s in RunStatus]},
        "total": {"type": "integer"},
        "synced": {"type": "integer"},
        "unchanged": {"type": "integer"},
        "failed": {"type": "integer"},
        "opted_out": {
            "type": "integer",
            "description": "SKUs the site opted out of: read, never written.",
        },
        "skipped": {"type": "integer"},
        "held_over": {
            "type": "integer",
            "description": "Of skipped, the SKUs a nightly run left at the night's end"
            " (NIGHT_HOURS from its start); the next night's run takes them first.",
        },
        "ends_by": {
            **TIME,
            "description": "A nightly run publishes no batch past this; null for others.",
        },
        "pending": {"type": "integer", "description": "SKUs in batches not finished yet."},
        "percent": {"type": "number"},
        "rate": nullable("number", description="SKUs per second since the run started."),
        "eta_seconds": nullable("number"),
        "activity": nullable(
            "string",
            description="What a live run does before its batches: "
            '"listing catalog: page 57 of ~70".',
        ),
        "plan": nullable(
            "object",
            description="Its calls and minutes forecast against its store's and its ERP's"
            " budgets as it began (store_calls, store_minutes, erp_calls, erp_minutes,"
            " sharing, erp_day_left, fits, summary); null before it began.",
        ),
        "error": nullable("string"),
        "started_at": TIME,
        "finished_at": TIME,
        "created_at": TIME,
    }
)
#: What a stock policy change did to bring the stores to the new numbers.
_RESYNC = _object({"run_id": nullable("integer"), "message": {"type": "string"}})
_SKU_RULE = _object(
    {
        "site_id": ID,
        "sku": {"type": "string"},
        "rule": {"enum": ["override", "opt_out"]},
        "quantity": nullable("integer"),
        "resync": {**_RESYNC, "description": "Only when just set."},
    },
    required=["site_id", "sku", "rule", "quantity"],
)
#: What adding a site or source registered on its platform (sync/subscriptions.py).
_REGISTERED: Schema = {
    "subscriptions": {
        "type": "array",
        "items": ref("PlatformSubscription"),
        "description": "Only on creation: the webhooks registered (PUBLIC_URL set).",
    },
    "manual_steps": {
        "type": "array",
        "items": {"type": "string"},
        "description": "Only on creation, where the platform has no webhooks API.",
    },
    "subscriptions_error": {"type": "string", "description": "Registration failed."},
    "subscriptions_note": {"type": "string", "description": "Nothing registered: why."},
}
_SITE = _object(
    {
        "id": ID,
        "name": {"type": "string"},
        "platform": {"type": "string"},
        "base_url": {"type": "string"},
        "source_id": ID,
        "timezone": {"type": "string"},
        "full_sync_hour": HOUR,
        "active": {"type": "boolean"},
        "connected_at": {
            **TIME,
            "description": "When a connection test with its credentials first passed "
            "(its MERCHANT_CONNECTED); null if none has.",
        },
        "webhooks_active": {"type": "boolean"},
        "has_webhook_secret": {"type": "boolean"},
        "has_api_key": {"type": "boolean"},
        "rate_limit_requests": nullable("integer"),
        "rate_limit_window_seconds": nullable("integer"),
        "rate_limit_concurrency": nullable("integer"),
        "awaiting_first_sync": {
            "type": "boolean",
            "description": "Added with initial_sync false and never synced live: its "
            "nightly run is a preview.",
        },
        **STOCK_POLICY,
        "webhook_secret": {"type": "string", "description": "Only when just generated."},
        "resync": {**_RESYNC, "description": "Only when the stock policy changed."},
        **_REGISTERED,
        "first_full_sync": {"type": "string", "description": "Only on creation: when."},
        "budgets": {
            "type": "object",
            "description": "Only when one site is shown: the store's and the ERP's "
            "shared request budgets now (`store`, `erp`), each with a `text` line.",
            "additionalProperties": ref("Budget"),
        },
    },
    required=["id", "name", "platform", "active", "webhooks_active"],
)
_SOURCE = _object(
    {
        "id": ID,
        "name": {"type": "string"},
        "kind": {"type": "string"},
        "base_url": {"type": "string"},
        "has_webhook_secret": {"type": "boolean"},
        "webhooks_active": {"type": "boolean"},
        "site_ids": {"type": "array", "items": ID},
        **{name: nullable("integer") for name in _SOURCE_BUDGET},
        "webhook_secret": {"type": "string", "description": "Only when just generated."},
        "feed": {
            "type": "string",
            "description": "After a change of address or credentials: the change feed "
            "starts again at its next read, with full runs of the real-time sites.",
        },
        **_REGISTERED,
    },
    required=[
        "id",
        "name",
        "kind",
        "base_url",
        "has_webhook_secret",
        "webhooks_active",
        "site_ids",
    ],
)
_LOG_ROW = _object(
    {
        "id": ID,
        "provider": {"type": "string"},
        "site_id": nullable("integer"),
        "source_id": nullable("integer"),
        "topic": nullable("string"),
        "kind": nullable("string"),
        "delivery_id": nullable("string"),
        "entity": nullable("string"),
        "sku": nullable("string"),
        "status": {"enum": [s.value for s in WebhookStatus]},
        "error": nullable("string"),
        "attempts": {"type": "integer"},
        "received_at": TIME,
        "queued_at": TIME,
        "processed_at": TIME,
        "occurred_at": TIME,
        "payload": {"description": "Only on GET /api/webhooks/log/{id}."},
    },
    required=["id", "provider", "status", "received_at"],
)
_SUBSCRIPTION = _object(
    {
        "id": ID,
        "url": {"type": "string"},
        "topics": {"type": "array", "items": {"type": "string"}},
        "site_id": nullable("integer"),
        "active": {"type": "boolean"},
        "deactivated_reason": nullable("string"),
        "created_at": TIME,
        "secret": {"type": "string", "description": "Only on creation and rotation."},
    },
    required=["id", "url", "topics", "site_id", "active"],
)
_WEBHOOKS = _object(
    {"site_id": ID, "webhooks_active": {"type": "boolean"}, "last_received_at": TIME}
)
_SOURCE_WEBHOOKS = _object({"source_id": ID, "webhooks_active": {"type": "boolean"}})
_DELIVERY = _object(
    {
        "id": ID,
        "subscription_id": ID,
        "event_id": {"type": "string", "description": "The webhook-id, the same on every retry."},
        "topic": {"type": "string"},
        "entity": {"type": "string", "description": "run:<id>, site:<id> or subscription:<id>."},
        "status": {"enum": ["pending", "delivered", "failed", "cancelled"]},
        "attempts": {"type": "integer"},
        "last_status": nullable("integer"),
        "last_error": nullable("string"),
        "next_attempt_at": TIME,
        "delivered_at": TIME,
        "created_at": TIME,
    }
)
_PLATFORM_SUBSCRIPTION = _object(
    {
        "owner": {"enum": ["site", "source"]},
        "topic": {"type": "string", "description": "The platform's topic, scope or resource."},
        "state": {"enum": ["active", "disabled", "missing", "manual", "failed"]},
        "url": {"type": "string"},
        "remote_id": nullable("string"),
        "expires_at": TIME,
        "last_delivery_at": {**TIME, "description": "Latest request logged for its owner."},
        "last_checked_at": TIME,
        "last_action": nullable("string"),
        "last_action_at": TIME,
        "last_error": nullable("string"),
    }
)
_PREVIEW_CHANGES = _object(
    {
        "run_id": ID,
        "status": {"type": "string"},
        "total": {"type": "integer", "description": "SKUs a full sync would write."},
        "items": {
            "type": "array",
            "items": _object(
                {
                    "sku": {"type": "string"},
                    "store": nullable("integer", description="What the store shows."),
                    "would_write": {"type": "integer"},
                }
            ),
        },
    }
)
_CONNECTION_CHECK = _object(
    {"platform": {"type": "string"}, "ok": {"type": "boolean"}}, required=["platform", "ok"]
)
_COUNTS = {name: {"type": "integer"} for name in ("total", "pending", "processing", "completed")}

_RESERVATION = _object(
    {
        "id": ID,
        "source_id": ID,
        "site_id": ID,
        "order_id": {"type": "string"},
        "order_number": {"type": "string"},
        "sku": {"type": "string"},
        "units": {"type": "integer"},
        "store_applied": {
            "type": "boolean",
            "description": "The placing store's own stock already went down by it.",
        },
        "order_updated_at": {"type": "string", "format": "date-time"},
        "committed_at": {**TIME, "description": "When the ERP was seen to commit it."},
        "created_at": {"type": "string", "format": "date-time"},
        "ended_at": TIME,
        "end_reason": {
            "enum": ["absorbed", "cancelled", "refunded", "removed", "expired", None],
        },
    }
)
_OVERSOLD = _object(
    {
        "sku": {"type": "string"},
        "short_by": {"type": "integer", "description": "Units sold beyond the ERP figure."},
        "site_ids": {"type": "array", "items": ID},
        "orders": {
            "type": "array",
            "items": _object(
                {"site_id": ID, "order_number": {"type": "string"}, "units": {"type": "integer"}}
            ),
        },
    }
)

_BUDGET = _object(
    {
        "in_window": {"type": "integer", "description": "Requests in the current window."},
        "requests": {"type": "integer"},
        "window_seconds": {"type": "number"},
        "concurrency": {"type": "integer"},
        "in_day": nullable("integer"),
        "daily": nullable("integer"),
        "waiting_seconds": {
            **nullable("number"),
            "description": "Bulk work waits this long for the budget; null if none waits.",
        },
        "text": {"type": "string"},
    }
)

COMPONENTS: dict[str, Schema] = {
    "Error": _object(
        {"error": _object({"code": {"type": "string"}, "message": {"type": "string"}})}
    ),
    "Item": _ITEM,
    "Run": _RUN,
    "RunDetail": {
        "allOf": [ref("Run"), _object({"recent_items": {"type": "array", "items": ref("Item")}})]
    },
    "Site": _SITE,
    "SkuRule": _SKU_RULE,
    "SkuRuleCleared": _object({"site_id": ID, "sku": {"type": "string"}, "resync": _RESYNC}),
    "Source": _SOURCE,
    "Reservation": _RESERVATION,
    "Oversold": _OVERSOLD,
    "WebhookLogRow": _LOG_ROW,
    "Subscription": _SUBSCRIPTION,
    "Delivery": _DELIVERY,
    "PlatformSubscription": _PLATFORM_SUBSCRIPTION,
    "Budget": _BUDGET,
    "ConnectionCheck": _CONNECTION_CHECK,
    "PreviewChanges": _PREVIEW_CHANGES,
    "WebhookState": _WEBHOOKS,
    "SourceWebhookState": _SOURCE_WEBHOOKS,
    "Stats": _object(
        {
            "queue": _object(
                {**_COUNTS, "failed": {"type": "integer"}, "cancelled": {"type": "integer"}}
            ),
            "queue_covers": {"type": "string", "description": "What `queue` counts."},
            "last_syncs": {
                "type": "array",
                "items": _object(
                    {
                        "site_id": ID,
                        "name": {"type": "string"},
                        "last_sync": TIME,
                        "last_status": nullable("string"),
                    }
                ),
            },
            "broker": nullable("object"),
        }
    ),
}


def listing(item: str) -> Schema:
    """A page of rows: `items`, and `next_cursor` where the route pages by cursor."""
    return _object(
        {"items": {"type": "array", "items": ref(item)}, "next_cursor": nullable("integer")},
        required=["items"],
    )
