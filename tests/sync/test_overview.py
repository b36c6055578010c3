"""The dashboard's overview (sync/overview.py), polled every few seconds."""

from __future__ import annotations

from dataclasses import replace

from sqlalchemy.orm import Session, sessionmaker

from models import Platform
from models.db import transaction
from sync.context import Context
from sync.overview import overview
from tests.factories import make_site, make_source
from tests.support.vaults import CountingVault


def test_polling_the_overview_decrypts_each_rows_credentials_once(
    service: Context, db: sessionmaker[Session], encryption_key: str
) -> None:
    """Each site's budgets are kept per platform account, named from its credentials:
    the first poll opens each row's once, later polls none (fails on 7c13251: three
    opens per Shopify site on every poll, its request and points budgets and its
    source's)."""
    vault = CountingVault([encryption_key])
    with transaction(db) as session:
        source = make_source(session, vault)
        for name in ("a", "b"):
            sealed = vault.seal({"access_token": f"shpat_{name}"})
            make_site(
                session, vault, source, name=name, platform=Platform.SHOPIFY,
                credentials_sealed=sealed,
            )  # fmt: skip
    polled = replace(service, vault=vault)

    sites = overview(polled)["sites"]
    first = vault.opened
    overview(polled)
    overview(polled)

    assert all(site["budgets"]["store"]["text"].startswith("store budget: ") for site in sites)
    assert first == 3  # the two shops and their source
    assert vault.opened == first
