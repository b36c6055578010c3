"""Each site's and source's connection: its test, and the webhook subscriptions we keep
on its platform (state, expiry, last delivery, last check, what the keeper did).

Routes only: every operation is `sync.subscriptions`, which the CLI, beat and the
dashboard use too.
"""

from __future__ import annotations

from typing import Any

from api.admin import schemas
from api.admin.http import Doc, admin_blueprint, endpoint
from api.resources import context
from sync import subscriptions as service

connections = admin_blueprint("connections")

_KEEP = (
    "Checks the platform now, as the keeper does every 10 minutes: makes what is missing, "
    "re-activates what the platform disabled, renews what expires, and reconciles the "
    "owner when a subscription had lapsed. Without PUBLIC_URL nothing is registered."
)


def _routes(kind: str) -> None:
    """The same three routes for sites and sources, at `/api/<kind>s/<id:<kind>_id>`
    (the path parameter named as on every other route of the kind)."""
    tag = f"{kind}s"
    param = f"{kind}_id"
    rule = f"/api/{tag}/<id:{param}>"

    @endpoint(
        connections,
        "GET",
        f"{rule}/subscriptions",
        Doc(
            f"The webhook subscriptions stocksync keeps on the {kind}'s platform",
            tag,
            response=schemas.listing("PlatformSubscription"),
            errors=(404,),
        ),
        name=f"{kind}_subscriptions",
    )
    def show(**path: int) -> dict[str, Any]:
        return {"items": service.describe(context(), kind, path[param])}

    @endpoint(
        connections,
        "POST",
        f"{rule}/subscriptions/keep",
        Doc(
            f"Check and mend the {kind}'s webhook subscriptions now",
            tag,
            response=schemas.listing("PlatformSubscription"),
            errors=(404, 409, 422),
            description=_KEEP,
        ),
        name=f"{kind}_keep",
    )
    def keep(**path: int) -> dict[str, Any]:
        return {"items": service.keep(context(), kind, path[param])}

    @endpoint(
        connections,
        "POST",
        f"{rule}/test",
        Doc(
            f"Call the {kind}'s platform with its credentials",
            tag,
            response=schemas.ref("ConnectionCheck"),
            errors=(404, 422),
            description="422 says in one line what is wrong (a rejected key, a missing scope).",
        ),
        name=f"{kind}_test",
    )
    def test(**path: int) -> dict[str, Any]:
        return service.check_owner(context(), kind, path[param])


_routes("site")
_routes("source")
