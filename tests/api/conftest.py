"""A receiver over real HTTP with one site or source per provider, a shop for the
admin API and metrics tests, and sites with a plugin API key for the plugin endpoint's."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest
import redis
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy.orm import Session, sessionmaker

from api.app import create_app
from models.crypto import Vault
from sandbox.server import running
from settings import Settings
from tests.factories import make_site, make_source
from tests.support.admin_api import Shop
from tests.support.plugin_endpoint import KeyedSite, keyed_site
from tests.support.receiver import Owners, make_owners
from tests.support.relaying import relaying


@pytest.fixture
def owners(db: sessionmaker[Session], vault: Vault) -> Owners:
    with db.begin() as session:
        return make_owners(session, vault)


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


@pytest.fixture
def make_keyed_site(db: sessionmaker[Session], vault: Vault) -> Callable[..., KeyedSite]:
    return lambda *, active=True: keyed_site(db, vault, active=active)


@pytest.fixture
def site(make_keyed_site: Callable[..., KeyedSite]) -> KeyedSite:
    return make_keyed_site()


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()
