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


def _routes(kind: str, rule: str) -> None:
    """The same three routes for sites and sources."""
    tag = f"{kind}s"

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
    def show(owner_id: int) -> dict[str, Any]:
        return {"items": service.describe(context(), kind, owner_id)}

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
    def keep(owner_id: int) -> dict[str, Any]:
        return {"items": service.keep(context(), kind, owner_id)}

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
    def test(owner_id: int) -> dict[str, Any]:
        return service.check_owner(context(), kind, owner_id)


_routes("site", "/api/sites/<id:owner_id>")
_routes("source", "/api/sources/<id:owner_id>")
