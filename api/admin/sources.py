"""Sources (ERP connections): create, list, show, update, delete.

A source has no `active` flag of its own (its sites have): "deactivating" one means
deactivating its sites; deleting is refused while sites still use it, since a site
without its ERP cannot sync. Credentials and secrets are write-only, as for sites.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from api.admin import schemas
from api.admin.errors import Conflict, NotFound
from api.admin.http import Doc, admin_blueprint, endpoint, page_params
from api.admin.sites import apply_changes, committing
from api.resources import resources
from models import Site, Source
from models.crypto import Vault
from sync import sites as admin

sources = admin_blueprint("sources")

SOURCE_FIELDS = ("name", "base_url")


def describe(session: Session, source: Source) -> dict[str, Any]:
    site_ids = session.scalars(select(Site.id).where(Site.source_id == source.id).order_by(Site.id))
    return {
        "id": source.id,
        "name": source.name,
        "kind": source.kind.value,
        "base_url": source.base_url,
        "has_webhook_secret": source.webhook_secret_sealed is not None,
        "site_ids": list(site_ids),
    }


def get_source(session: Session, source_id: int) -> Source:
    source = session.get(Source, source_id)
    if source is None:
        raise NotFound(f"no source {source_id}")
    return source


def update_source(
    session: Session, vault: Vault, source_id: int, changes: dict[str, Any]
) -> dict[str, Any]:
    source = get_source(session, source_id)
    generated = apply_changes(session, vault, source, changes, SOURCE_FIELDS)
    session.flush()
    described = describe(session, source)
    if generated:
        described["webhook_secret"] = generated
    return described


def delete_source(session: Session, source_id: int) -> None:
    source = get_source(session, source_id)
    if session.scalar(select(Site.id).where(Site.source_id == source_id).limit(1)) is not None:
        raise Conflict(f"source {source_id} still feeds sites; delete or move them first")
    session.delete(source)


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
    with resources().sessions() as session:
        rows = session.scalars(
            select(Source).order_by(Source.id).limit(query["limit"]).offset(query["offset"])
        )
        return {"items": [describe(session, source) for source in rows]}


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
    return committing(
        lambda session, vault: describe(session, admin.add_source(session, vault, **body))
    )


@endpoint(
    sources,
    "GET",
    "/api/sources/<id:source_id>",
    Doc("Show a source", "sources", response=schemas.ref("Source"), errors=(404,)),
)
def show(source_id: int) -> dict[str, Any]:
    with resources().sessions() as session:
        return describe(session, get_source(session, source_id))


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
    return committing(lambda session, vault: update_source(session, vault, source_id, body))


@endpoint(
    sources,
    "DELETE",
    "/api/sources/<id:source_id>",
    Doc("Delete a source that no site uses", "sources", status=204, errors=(404, 409)),
)
def delete(source_id: int) -> None:
    committing(lambda session, _vault: delete_source(session, source_id))
