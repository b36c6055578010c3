"""A receiver over real HTTP with one site or source per provider."""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
import redis
import requests
from flask import Flask
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from api.app import create_app
from models import Platform, SourceKind, WebhookLog, WebhookStatus
from models.crypto import Vault
from sandbox.server import running
from settings import Settings
from tests.factories import make_site, make_source, signed
from tests.relaying import relaying


@dataclass
class Owners:
    woocommerce: int
    shopify: int
    bigcommerce: int
    standard: int
    zoho: int
    businesscentral: int

    def url(self, base: str, provider: str) -> str:
        return f"{base}/webhooks/{provider}/{getattr(self, provider)}"


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


def post(url: str, request: signed.Signed) -> requests.Response:
    return requests.post(
        url, data=request.body, headers=request.headers, params=request.query, timeout=10
    )


def rows(db: sessionmaker[Session], settle: bool = True) -> list[WebhookLog]:
    """The log rows, by default once the relay has decided each accepted event's fate
    (queued or duplicate; it runs just after the 200, see workers/relay.py)."""
    deadline = time.monotonic() + 10
    while True:
        with db() as session:
            found = list(session.scalars(select(WebhookLog).order_by(WebhookLog.id)))
        pending = any(r.status == WebhookStatus.RECEIVED for r in found)
        if not settle or not pending or time.monotonic() > deadline:
            return found
        time.sleep(0.02)
