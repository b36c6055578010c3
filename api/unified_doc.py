"""The OpenAPI operation of `POST /api/sync/webhook` (api/admin/openapi.py puts it in
`/api/openapi.json`): the records' schemas come from the checks themselves
(api/unified_schema.py `json_schema`), the examples are the contract's and the
WooCommerce plugin's payloads. tests/api/test_unified_contract.py sends every example to the
endpoint and checks its answer against the documented one.
"""

from __future__ import annotations

from typing import Any

from api.unified_schema import ACTIONS, ALIASES, MAX_RECORDS, SCHEMAS, json_schema

Schema = dict[str, Any]
PATH = "/api/sync/webhook"
SECURITY_SCHEME = "pluginKey"

#: The contract's own example (its `items: [...]` filled with one line as the plugin
#: sends it).
CONTRACT_ORDER = {
    "resource": "order",
    "action": "updated",
    "data": {
        "wc_order_id": 1001,
        "date_created": "2026-01-15T10:30:00Z",
        "status": "completed",
        "total": 99.99,
        "items": [
            {
                "wc_item_id": 7,
                "wc_product_id": 42,
                "variation_id": 0,
                "product_name": "Blue mug",
                "sku": "MUG-BLUE",
                "quantity": 1,
                "subtotal": 99.99,
                "total": 99.99,
            }
        ],
    },
}
EXAMPLES: dict[str, Schema] = {
    "order_updated": CONTRACT_ORDER,
    "product_updated": {
        "resource": "product",
        "action": "updated",
        "data": {
            "wc_product_id": 42,
            "parent_id": 0,
            "type": "simple",
            "status": "publish",
            "name": "Blue mug",
            "sku": "MUG-BLUE",
            "price": 12.5,
            "regular_price": 15.0,
            "sale_price": 12.5,
            "manage_stock": True,
            "stock_quantity": 5,
            "stock_status": "instock",
            "category_ids": [9],
            "category_id": 9,
            "category_name": "Mugs",
            "created_at": "2026-01-10T09:00:00+00:00",
            "updated_at": "2026-01-15T10:31:00+00:00",
        },
    },
    "customer_created": {
        "resource": "customer",
        "action": "created",
        "data": {
            "wc_customer_id": 12,
            "email": "ann@example.com",
            "first_name": "Ann",
            "last_name": "Lee",
            "display_name": "Ann Lee",
            "total_spent": 99.99,
            "order_count": 1,
            "created_at": "2026-01-15T10:29:00+00:00",
            "updated_at": "2026-01-15T10:29:00+00:00",
        },
    },
    "category_updated": {
        "resource": "category",
        "action": "updated",
        "data": {"wc_category_id": 9, "name": "Mugs", "slug": "mugs", "parent_id": 0},
    },
}


def _component(resource: str) -> str:
    return f"Plugin{resource.capitalize()}"


COMPONENTS: dict[str, Schema] = {
    _component(resource): json_schema(SCHEMAS[resource], ALIASES[resource])
    for resource in sorted(SCHEMAS)
}


def _data(resource: str) -> Schema:
    record = {"$ref": f"#/components/schemas/{_component(resource)}"}
    batch = {"type": "array", "minItems": 1, "maxItems": MAX_RECORDS, "items": record}
    return {
        "if": {"properties": {"resource": {"const": resource}}},
        "then": {"properties": {"data": {"anyOf": [record, batch]}}},
    }


REQUEST: Schema = {
    "type": "object",
    "required": ["resource", "action", "data"],
    "properties": {
        "resource": {"enum": sorted(SCHEMAS)},
        "action": {"enum": sorted(ACTIONS)},
        "data": {"description": "One record, or a list of 1 to 1,000."},
    },
    "allOf": [_data(resource) for resource in sorted(SCHEMAS)],
}


def _error(description: str, code: str, message: str) -> Schema:
    return {
        "description": description,
        "content": {
            "application/json": {
                "schema": {"$ref": "#/components/schemas/PluginError"},
                "example": {"success": False, "error": {"code": code, "message": message}},
            }
        },
    }


COMPONENTS["PluginError"] = {
    "type": "object",
    "required": ["success", "error"],
    "properties": {
        "success": {"const": False},
        "error": {
            "type": "object",
            "required": ["code", "message"],
            "properties": {"code": {"type": "string"}, "message": {"type": "string"}},
        },
    },
}
COMPONENTS["PluginResult"] = {
    "type": "object",
    "required": ["success", "data"],
    "properties": {
        "success": {"const": True},
        "data": {
            "type": "object",
            "required": ["syncedCount", "skippedCount", "syncLogId"],
            "properties": {
                "syncedCount": {"type": "integer", "minimum": 0},
                "skippedCount": {"type": "integer", "minimum": 0},
                "syncLogId": {"type": "string", "format": "uuid"},
            },
        },
    },
}

OPERATION: Schema = {
    "operationId": "post_api_sync_webhook",
    "summary": "The store plugin pushes orders, products, customers or categories",
    "description": (
        "Authenticated by the site's plugin API key (`stocksync sites api-key <site>`), "
        "never by the admin token: the records go to that key's site, whatever the body "
        "says. Written at once, in one transaction with the run that logs them "
        "(`sync_type` `webhook:orders|products|customers|categories`; "
        "`GET /api/sync/logs/{log_id}` with `syncLogId`). `syncedCount` counts records "
        "added or changed; `skippedCount` the rest: identical to what is stored, older "
        "than it (by `updated_at`), repeated in the request, or a product whose SKU "
        "cannot exist in the ERP. E-mail addresses are kept only as keyed hashes. Fields "
        "may use our names or the WooCommerce plugin's (`wc_order_id`, `items`, "
        "`date_created`, ...), not both; unknown fields are kept."
    ),
    "tags": ["plugin"],
    "security": [{SECURITY_SCHEME: []}],
    "parameters": [],
    "requestBody": {
        "required": True,
        "content": {
            "application/json": {
                "schema": REQUEST,
                "examples": {name: {"value": value} for name, value in EXAMPLES.items()},
            }
        },
    },
    "responses": {
        "200": {
            "description": "Written.",
            "content": {
                "application/json": {
                    "schema": {"$ref": "#/components/schemas/PluginResult"},
                    "example": {
                        "success": True,
                        "data": {
                            "syncedCount": 1,
                            "skippedCount": 0,
                            "syncLogId": "0b6e4e55-7f0e-4a5c-9d3b-2f4c1f6a8e21",
                        },
                    },
                }
            },
        },
        "400": _error(
            "The body is not acceptable: not JSON, or a missing or invalid `resource`, "
            "`action`, `data` or field (the message starts with the field's path).",
            "VALIDATION_ERROR",
            "resource: invalid resource type: xyz; must be one of category, customer, "
            "order, product",
        ),
        "401": _error("No API key, or not one we issued.", "UNAUTHORIZED", "unknown API key"),
        "403": _error("The key's site is inactive.", "FORBIDDEN", "the site is inactive"),
        "413": _error(
            "The body is larger than MAX_WEBHOOK_BODY_BYTES.",
            "PAYLOAD_TOO_LARGE",
            "the body is larger than 2097152 bytes",
        ),
        "500": _error(
            "Our bug (logged); none of the records was written (a failed run says so).",
            "INTERNAL_ERROR",
            "an internal error",
        ),
        "503": _error(
            "PostgreSQL is unavailable; none of the records was written: send it again later.",
            "UNAVAILABLE",
            "the database is unavailable",
        ),
    },
}

#: What `/api/openapi.json` adds for this route (api/admin/openapi.py `build_document`).
FRAGMENT: Schema = {
    "paths": {PATH: {"post": OPERATION}},
    "components": {
        "schemas": COMPONENTS,
        "securitySchemes": {
            SECURITY_SCHEME: {
                "type": "http",
                "scheme": "bearer",
                "description": "The site's plugin API key, not the admin token.",
            }
        },
    },
}
