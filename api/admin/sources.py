"""Sources (ERP connections): create, list, show, update, delete; webhooks on and off.

Routes only: every operation is `sync.sources` (the CLI's too). Deleting is refused
while sites still use the source; credentials and secrets are write-only.
"""

from __future__ import annotations

from typing import Any

from api.admin import schemas
from api.admin.http import Doc, Param, admin_blueprint, endpoint, page_params
from api.resources import context
from models.skus import try_normalize_sku
from sync import reservation_report
from sync import sources as service

sources = admin_blueprint("sources")


# --- routes -------------------------------------------------------------------------


@endpoint(
    sources,
    "GET",
    "/api/sources",
    Doc(
        "List sources (never their credentials)",
        "sources",
        query=page_params(),
        response=schemas.listing("Source"),
    ),
)
def index(query: dict[str, Any]) -> dict[str, Any]:
    return {"items": service.list_sources(context(), query["limit"], query["offset"])}


@endpoint(
    sources,
    "POST",
    "/api/sources",
    Doc(
        "Register an ERP",
        "sources",
        body=schemas.SOURCE_CREATE,
        status=201,
        response=schemas.ref("Source"),
        errors=(409, 422),
    ),
)
def create(body: dict[str, Any]) -> dict[str, Any]:
    return service.add_source(context(), **body)


@endpoint(
    sources,
    "GET",
    "/api/sources/<id:source_id>",
    Doc("Show a source", "sources", response=schemas.ref("Source"), errors=(404,)),
)
def show(source_id: int) -> dict[str, Any]:
    return service.show_source(context(), source_id)


@endpoint(
    sources,
    "PATCH",
    "/api/sources/<id:source_id>",
    Doc(
        "Update a source; set or rotate its credentials and webhook secret (write-only)",
        "sources",
        body=schemas.SOURCE_UPDATE,
        response=schemas.ref("Source"),
        errors=(404, 409, 422),
    ),
)
def update(source_id: int, body: dict[str, Any]) -> dict[str, Any]:
    return service.update_source(context(), source_id, body)


@endpoint(
    sources,
    "POST",
    "/api/sources/<id:source_id>/webhooks/toggle",
    Doc(
        "Turn a source's webhooks on or off (flip without a body); paused deliveries are "
        "logged `ignored`, and its sites' full syncs go on",
        "sources",
        body=schemas.TOGGLE,
        response=schemas.ref("SourceWebhookState"),
        errors=(404,),
    ),
)
def toggle(source_id: int, body: dict[str, Any]) -> dict[str, Any]:
    return service.toggle_webhooks(context(), source_id, body.get("active"))


@endpoint(
    sources,
    "DELETE",
    "/api/sources/<id:source_id>",
    Doc("Delete a source that no site uses", "sources", status=204, errors=(404, 409)),
)
def delete(source_id: int) -> None:
    service.delete_source(context(), source_id)


@endpoint(
    sources,
    "GET",
    "/api/sources/<id:source_id>/reservations",
    Doc(
        "List the store orders holding the source's stock, newest first",
        "sources",
        query=[
            Param("open", {"type": "boolean", "default": True}, "Only open ones (default)."),
            Param("sku", schemas.text(20, 1), "Only this SKU (normalised, as stored)."),
            *page_params(),
        ],
        response=schemas.listing("Reservation"),
        errors=(404,),
        description="A reservation holds units sold on a store until the ERP absorbs the "
        "order, the store cancels or refunds it, or it expires (`end_reason`).",
    ),
)
def reservations(source_id: int, query: dict[str, Any]) -> dict[str, Any]:
    return reservation_report.list_reservations(
        context(),
        source_id,
        open_only=query["open"],
        sku=try_normalize_sku(query["sku"]),
        limit=query["limit"],
        offset=query["offset"],
    )


@endpoint(
    sources,
    "GET",
    "/api/sources/<id:source_id>/oversold",
    Doc(
        "SKUs sold beyond the ERP's figure, with the stores and orders that did it",
        "sources",
        response=schemas.listing("Oversold"),
        errors=(404,),
    ),
)
def oversold(source_id: int) -> dict[str, Any]:
    return {"items": reservation_report.oversold(context(), source_id)}
