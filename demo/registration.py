"""Register an ERP sandbox as a source and store sandboxes as its sites.

Through `sync.sites`, the functions behind `stocksync sources add` and `stocksync
sites add`, so the rows are exactly what an operator would create. The sites get a
generous write quota: the sandboxes enforce none, and the platforms' own defaults
(Shopify's 2 requests/s, sync/limits.py) would turn a 20,000-SKU demo into minutes of
waiting that show nothing about stocksync. A real store's quota is set per site.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from sqlalchemy import update
from sqlalchemy.orm import Session, sessionmaker

from demo.platforms import ERP, Sandbox
from models import Site
from models.crypto import Vault
from models.db import transaction
from sandbox.accounts import Account
from sync import sites as admin

#: Requests per second a demo site may send its sandbox, all workers together.
SANDBOX_QUOTA = {
    "rate_limit_requests": 100_000,
    "rate_limit_window_seconds": 1,
    "rate_limit_concurrency": 8,
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
    sessions: sessionmaker[Session],
    vault: Vault,
    prefix: str,
    accounts: Mapping[str, Account],
    sandboxes: Mapping[str, Sandbox],
) -> Registered:
    """One source (the ERP) and one site per store sandbox, named `<prefix>-<platform>`."""
    stores = [platform for platform in sandboxes if platform != ERP]
    with transaction(sessions) as session:
        erp, erp_url = accounts[ERP], sandboxes[ERP].url
        source = admin.add_source(
            session,
            vault,
            name=f"{prefix}-erp",
            kind=ERP,
            base_url=erp_url,
            credentials=erp.stored_credentials(erp_url),
            webhook_secret=erp.receiver_secret(),
        )
        site_ids, site_names = {}, {}
        for platform in stores:
            account, url = accounts[platform], sandboxes[platform].url
            name = f"{prefix}-{platform}"
            site = admin.add_site(
                session,
                vault,
                name=name,
                platform=platform,
                base_url=url,
                source=str(source.id),
                credentials=account.stored_credentials(url),
                webhook_secret=account.receiver_secret(),
            )
            site_ids[platform], site_names[platform] = site.id, name
        session.execute(update(Site).where(Site.id.in_(site_ids.values())).values(**SANDBOX_QUOTA))
        return Registered(source.id, source.name, site_ids, site_names)


def deactivate(sessions: sessionmaker[Session], registered: Registered) -> None:
    """Retire the demo's sites, so beat never runs a nightly sync against sandboxes
    that are gone (what `DELETE /api/sites/<id>` does)."""
    with transaction(sessions) as session:
        session.execute(
            update(Site).where(Site.id.in_(registered.site_ids.values())).values(active=False)
        )
