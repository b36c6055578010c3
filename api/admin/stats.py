"""`GET /api/inventory/stats`: the sync queue, each site's last sync, the broker's depths.

Route only: the document is `sync.stats.collect`, which `stocksync stats` prints too.
"""

from __future__ import annotations

from typing import Any

from api.admin import schemas
from api.admin.http import Doc, admin_blueprint, endpoint
from api.resources import context
from sync.stats import collect

stats = admin_blueprint("stats")


@endpoint(
    stats,
    "GET",
    "/api/inventory/stats",
    Doc(
        "Sync queue counts (batches by status), each site's last sync, broker queue depths",
        "stats",
        response=schemas.ref("Stats"),
    ),
)
def show() -> dict[str, Any]:
    return collect(context())
