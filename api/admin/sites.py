"""Sites (storefronts): create, list, show, update, deactivate; webhooks on and off.

Creation and secrets go through `sync.sites`, the functions the CLI uses too, so both
validate alike. Credentials and secrets are write-only: a response never contains
them, except a secret generated here (`rotate_webhook_secret`), shown once.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, TypeVar

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from api.admin import schemas
from api.admin.errors import Conflict, Invalid, NotFound
from api.admin.http import Doc, admin_blueprint, endpoint, page_params
from api.resources import resources
from models import Site, Source, WebhookLog
from models.crypto import Vault
from models.db import transaction
from sync import sites as admin

sites = admin_blueprint("sites")
T = TypeVar("T")

#: Plain columns an update may set as given (secrets and the zone are checked apart).
SITE_FIELDS = (
    "name",
    "base_url",
    "full_sync_hour",
    "active",
    "webhooks_active",
    "rate_limit_requests",
    "rate_limit_window_seconds",
    "rate_limit_concurrency",
)


def describe(site: Site) -> dict[str, Any]:
    return {
        **admin.describe_site(site),
        "rate_limit_requests": site.rate_limit_requests,
        "rate_limit_window_seconds": site.rate_limit_window_seconds,
        "rate_limit_concurrency": site.rate_limit_concurrency,
    }


def get_site(session: Session, site_id: int) -> Site:
    site = session.get(Site, site_id)
    if site is None:
        raise NotFound(f"no site {site_id}")
    return site


def check_name_free(
    session: Session, model: type[Site] | type[Source], row: Any, name: str
) -> None:
    taken = session.scalar(select(model.id).where(model.name == name, model.id != row.id))
    if taken is not None:
        raise Conflict(f"a {model.__tablename__[:-1]} named {name!r} exists")


def apply_changes(
    session: Session,
    vault: Vault,
    row: Site | Source,
    changes: Mapping[str, Any],
    fields: tuple[str, ...],
) -> str | None:
    """Set the given fields and secrets of a site or source; return a generated secret."""
    if "webhook_secret" in changes and changes.get("rotate_webhook_secret"):
        raise Invalid("give webhook_secret or rotate_webhook_secret, not both")
    if "name" in changes:
        check_name_free(session, type(row), row, changes["name"])
    for name in fields:
        if name in changes:
            setattr(row, name, changes[name])
    if "credentials" in changes:
        row.credentials_sealed = vault.seal(changes["credentials"])
    generated = None
    if "webhook_secret" in changes:
        admin.set_secret(session, vault, row, changes["webhook_secret"])
    elif changes.get("rotate_webhook_secret"):
        generated = admin.set_secret(session, vault, row, None)
    return generated


def update_site(
    session: Session, vault: Vault, site_id: int, changes: Mapping[str, Any]
) -> dict[str, Any]:
    site = get_site(session, site_id)
    if "timezone" in changes:
        site.timezone = admin.check_timezone(changes["timezone"])
    generated = apply_changes(session, vault, site, changes, SITE_FIELDS)
    session.flush()
    described = describe(site)
    if generated:
        described["webhook_secret"] = generated
    return described


def last_received(session: Session, site_id: int) -> Any:
    return session.scalar(
        select(func.max(WebhookLog.received_at)).where(WebhookLog.site_id == site_id)
    )


def toggle_webhooks(session: Session, site_id: int, active: bool | None) -> dict[str, Any]:
    """Set (or, with None, flip) whether the site's webhooks are processed."""
    site = get_site(session, site_id)
    site.webhooks_active = (not site.webhooks_active) if active is None else active
    return {
        "site_id": site.id,
        "webhooks_active": site.webhooks_active,
        "last_received_at": last_received(session, site.id),
    }


def committing(work: Callable[[Session, Vault], T]) -> T:
    """Run `work(session, vault)` in one transaction; a racing duplicate name is a 409."""
    res = resources()
    try:
        with transaction(res.sessions) as session:
            return work(session, res.vault)
    except admin.AdminError as exc:
        raise Invalid(str(exc)) from None
    except IntegrityError:
        # The one race left after check_name_free: two requests creating one name.
        raise Conflict("a row with that name was created meanwhile") from None


# --- routes -------------------------------------------------------------------------


@endpoint(
    sites,
    "GET",
    "/api/sites",
    Doc(
        "List sites (never their credentials)",
        "sites",
        query=page_params(),
        response=schemas.listing("Site"),
    ),
)
def index(query: dict[str, Any]) -> dict[str, Any]:
    with resources().sessions() as session:
        rows = session.scalars(
            select(Site).order_by(Site.id).limit(query["limit"]).offset(query["offset"])
        )
        return {"items": [describe(site) for site in rows]}


@endpoint(
    sites,
    "POST",
    "/api/sites",
    Doc(
        "Register a site",
        "sites",
        body=schemas.SITE_CREATE,
        status=201,
        response=schemas.ref("Site"),
        errors=(409, 422),
    ),
)
def create(body: dict[str, Any]) -> dict[str, Any]:
    def work(session: Session, vault: Vault) -> dict[str, Any]:
        return describe(admin.add_site(session, vault, **{**body, "source": str(body["source"])}))

    return committing(work)


@endpoint(
    sites,
    "GET",
    "/api/sites/<id:site_id>",
    Doc("Show a site", "sites", response=schemas.ref("Site"), errors=(404,)),
)
def show(site_id: int) -> dict[str, Any]:
    with resources().sessions() as session:
        return describe(get_site(session, site_id))


@endpoint(
    sites,
    "PATCH",
    "/api/sites/<id:site_id>",
    Doc(
        "Update a site; set or rotate its credentials and webhook secret (write-only)",
        "sites",
        body=schemas.SITE_UPDATE,
        response=schemas.ref("Site"),
        errors=(404, 409, 422),
    ),
)
def update(site_id: int, body: dict[str, Any]) -> dict[str, Any]:
    return committing(lambda session, vault: update_site(session, vault, site_id, body))


@endpoint(
    sites,
    "DELETE",
    "/api/sites/<id:site_id>",
    Doc(
        "Deactivate a site (kept with its history; PATCH active=true brings it back)",
        "sites",
        response=schemas.ref("Site"),
        errors=(404,),
    ),
)
def deactivate(site_id: int) -> dict[str, Any]:
    return committing(
        lambda session, vault: update_site(session, vault, site_id, {"active": False})
    )


@endpoint(
    sites,
    "POST",
    "/api/sites/<id:site_id>/webhooks/toggle",
    Doc(
        "Turn a site's webhooks on or off (flip without a body); paused deliveries are "
        "logged `ignored`. Answers the state and when the site's last webhook arrived.",
        "sites",
        body=schemas.TOGGLE,
        response=schemas.ref("WebhookState"),
        errors=(404,),
    ),
)
def toggle(site_id: int, body: dict[str, Any]) -> dict[str, Any]:
    return committing(lambda session, _vault: toggle_webhooks(session, site_id, body.get("active")))
