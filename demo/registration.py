"""Register an ERP sandbox as a source and store sandboxes as its sites.

Through `sync.sources` and `sync.sites`, the functions behind `stocksync sources add`
and `stocksync sites add`, so the rows are exactly what an operator would create. Each
gets the budget its sandbox allows: on a platform's profile sped up, that profile's
limits at that speed (`sandbox.profiles.Profile.quota`, chosen in demo/pace.py); on a
sandbox that enforces none, a generous one (`SANDBOX_QUOTA`), so that no wait of ours
hides what is measured.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from sqlalchemy import select

from demo.platforms import ERP, Sandbox
from models import Site, Source
from sandbox.accounts import Account
from sync.context import Context
from sync.sites import add_site, remove_site, update_site
from sync.sources import add_source, delete_source, update_source

#: Requests per second a site or source may send a sandbox with no limits (the demo's
#: `--lab`, the benchmarks at a fixed latency), all workers together.
SANDBOX_QUOTA: dict[str, int | None] = {
    "rate_limit_requests": 100_000,
    "rate_limit_window_seconds": 1,
    "rate_limit_concurrency": 8,
}

#: The platforms' own default budgets (sync/limits.py): for sandboxes that enforce their
#: platform's limits (`sandbox.profiles`).
PLATFORM_DEFAULTS: dict[str, int | None] = {
    "rate_limit_requests": None,
    "rate_limit_window_seconds": None,
    "rate_limit_concurrency": None,
}


@dataclass(frozen=True)
class Registered:
    source_id: int
    source_name: str
    #: Site id by platform.
    site_ids: dict[str, int]
    #: Site name by platform.
    site_names: dict[str, str]

    def webhook_path(self, platform: str) -> str:
        """Where this platform's webhooks go (README, Webhooks)."""
        if platform == ERP:
            return f"/webhooks/{ERP}/{self.source_id}"
        return f"/webhooks/{platform}/{self.site_ids[platform]}"


def register(
    ctx: Context,
    prefix: str,
    accounts: Mapping[str, Account],
    sandboxes: Mapping[str, Sandbox],
    *,
    quota: Mapping[str, int | None] = SANDBOX_QUOTA,
    quotas: Mapping[str, Mapping[str, int | None]] | None = None,
) -> Registered:
    """One source (the ERP) and one site per store sandbox, named `<prefix>-<platform>`,
    each with `quota` (`PLATFORM_DEFAULTS` for sandboxes on their platform's profile),
    or with its platform's in `quotas` (the ERP's under `ERP`) where it has one."""
    budgets = quotas or {}
    stores = [platform for platform in sandboxes if platform != ERP]
    erp, erp_url = accounts[ERP], sandboxes[ERP].url
    source = add_source(
        ctx,
        name=f"{prefix}-erp",
        kind=ERP,
        base_url=erp_url,
        credentials=erp.stored_credentials(erp_url),
        webhook_secret=erp.receiver_secret(),
    )
    update_source(ctx, source["id"], budgets.get(ERP, quota))
    site_ids, site_names = {}, {}
    for platform in stores:
        account, url = accounts[platform], sandboxes[platform].url
        name = f"{prefix}-{platform}"
        site = add_site(
            ctx,
            name=name,
            platform=platform,
            base_url=url,
            source=source["id"],
            credentials=account.stored_credentials(url),
            webhook_secret=account.receiver_secret(),
        )
        update_site(ctx, site["id"], budgets.get(platform, quota))
        site_ids[platform], site_names[platform] = site["id"], name
    return Registered(source["id"], source["name"], site_ids, site_names)


def free_prefix(ctx: Context, platforms: Iterable[str], base: str = "demo") -> str:
    """`demo`, or `demo-2`, `demo-3`...: the first prefix under which the source and
    every site get plain names (`demo-erp`, `demo-shopify`) no row holds yet (another
    demo running against the same database, or one that was killed before `remove`)."""
    with ctx.sessions() as session:
        taken = set(session.scalars(select(Site.name))) | set(session.scalars(select(Source.name)))
    number = 1
    while True:
        prefix = base if number == 1 else f"{base}-{number}"
        if not {f"{prefix}-{platform}" for platform in platforms} & taken:
            return prefix
        number += 1


def remove(ctx: Context, registered: Registered) -> None:
    """Delete the demo's sites and source, so that neither beat (a nightly sync against
    sandboxes that are gone) nor the user's `sites list` and dashboard ever meet them,
    through the services behind `stocksync sites remove` and `sources remove`: a site's
    items, runs, batches, rules and reservations go with it; the webhook log keeps its
    rows. Called once the stack is stopped, so no worker holds a task about them."""
    for site_id in registered.site_ids.values():
        remove_site(ctx, site_id)
    delete_source(ctx, registered.source_id)
