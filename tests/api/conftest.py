"""A receiver over real HTTP with one site or source per provider, and a shop for the
admin API and metrics tests."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import redis
from flask import Flask
from sqlalchemy.orm import Session, sessionmaker

from api.app import create_app
from models import Platform, SourceKind
from models.crypto import Vault
from sandbox.server import running
from settings import Settings
from tests.factories import make_site, make_source, signed
from tests.support.admin_api import Shop
from tests.support.receiver import Owners
from tests.support.relaying import relaying


@pytest.fixture
def owners(db: sessionmaker[Session], vault: Vault) -> Owners:
    with db.begin() as session:
        bc = make_source(
            session, vault, name="bc", webhook_secret_sealed=vault.seal(signed.CLIENT_STATE)
        )
        zoho = make_source(
            session,
            vault,
            name="zoho",
            kind=SourceKind.ZOHO,
            webhook_secret_sealed=vault.seal(signed.ZOHO_TOKEN),
        )

        def site(name: str, platform: Platform, secret: object) -> int:
            return make_site(
                session,
                vault,
                bc,
                name=name,
                platform=platform,
                webhook_secret_sealed=vault.seal(secret),
            ).id  # type: ignore[arg-type]

        return Owners(
            woocommerce=site("wc", Platform.WOOCOMMERCE, signed.WC_SECRET),
            shopify=site("shop", Platform.SHOPIFY, signed.SHOPIFY_SECRET),
            bigcommerce=site(
                "bc-store",
                Platform.BIGCOMMERCE,
                {
                    "header_secret": signed.BC_HEADER_SECRET,
                    "client_secret": signed.BC_CLIENT_SECRET,
                },
            ),
            standard=site("std", Platform.WOOCOMMERCE, signed.STANDARD_SECRET),
            zoho=zoho.id,
            businesscentral=bc.id,
        )


@pytest.fixture
def app(settings: Settings, redis_client: redis.Redis) -> Flask:
    return create_app(settings)


@pytest.fixture
def base_url(app: Flask, settings: Settings) -> Iterator[str]:
    """The receiver over HTTP, with a relay moving accepted rows to the queue."""
    with running(app) as url, relaying(settings):
        yield url


@pytest.fixture
def shop(db: sessionmaker[Session], vault: Vault) -> Shop:
    with db.begin() as session:
        source = make_source(session, vault)
        site = make_site(session, vault, source)
        return Shop(source.id, site.id)
