"""Sites (storefronts): create, list, show, update, deactivate, remove; webhooks on and off.

Routes only: every operation is `sync.sites`, which the CLI uses too, so both validate
and describe alike. Credentials and secrets are write-only: an answer never contains
them, except a secret generated on request (`rotate_webhook_secret`), shown once.
"""

from __future__ import annotations

from typing import Any

from api.admin import schemas
from api.admin.http import Doc, admin_blueprint, endpoint, page_params
from api.resources import context
from sync import sites as service
from sync import stock_policy

sites = admin_blueprint("sites")


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
    return {"items": service.list_sites(context(), query["limit"], query["offset"])}


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
    return service.add_site(context(), **body)


@endpoint(
    sites,
    "GET",
    "/api/sites/<id:site_id>",
    Doc("Show a site", "sites", response=schemas.ref("Site"), errors=(404,)),
)
def show(site_id: int) -> dict[str, Any]:
    return service.show_site(context(), site_id)


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
    return service.update_site(context(), site_id, body)


@endpoint(
    sites,
    "DELETE",
    "/api/sites/<id:site_id>",
    Doc(
        "Remove a site and what belongs only to it; its name is free again",
        "sites",
        status=204,
        errors=(404, 409),
        description="Deletes its catalog mirror, SKU rules, reservations, runs, plugin "
        "records and API key in one transaction; the webhook log keeps its rows. 409 while "
        "a run is live (cancel it first). To keep a site with its history instead, PATCH "
        "`active` to false.",
    ),
)
def remove(site_id: int) -> None:
    service.remove_site(context(), site_id)


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
    return service.toggle_webhooks(context(), site_id, body.get("active"))


@endpoint(
    sites,
    "GET",
    "/api/sites/<id:site_id>/skus",
    Doc(
        "List the site's per-SKU stock rules (overrides and opt-outs)",
        "sites",
        response=schemas.listing("SkuRule"),
    ),
)
def sku_rules(site_id: int) -> dict[str, Any]:
    return {"items": stock_policy.list_rules(context(), site_id)}


@endpoint(
    sites,
    "PUT",
    "/api/sites/<id:site_id>/skus/<sku>",
    Doc(
        "Set a SKU's stock rule: an override quantity, or opt it out (never written)",
        "sites",
        body=schemas.SKU_RULE,
        response=schemas.ref("SkuRule"),
        description="The SKU is normalised (trimmed, upper case). The site's store is "
        "resynced: `resync` says which run does it.",
    ),
)
def set_sku_rule(site_id: int, sku: str, body: dict[str, Any]) -> dict[str, Any]:
    return stock_policy.set_rule(
        context(), site_id, sku, override=body.get("override"), opt_out=bool(body.get("opt_out"))
    )


@endpoint(
    sites,
    "DELETE",
    "/api/sites/<id:site_id>/skus/<sku>",
    Doc(
        "Clear a SKU's stock rule: the site's policy applies to it again",
        "sites",
        response=schemas.ref("SkuRuleCleared"),
    ),
)
def clear_sku_rule(site_id: int, sku: str) -> dict[str, Any]:
    return stock_policy.clear_rule(context(), site_id, sku)
