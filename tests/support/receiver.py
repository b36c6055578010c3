"""The webhook receiver as its tests call it: signed requests over HTTP, the log rows."""

from __future__ import annotations

import time
from dataclasses import dataclass

import requests
from sqlalchemy import select, text
from sqlalchemy.orm import Session, sessionmaker

from models import Platform, SourceKind, WebhookLog, WebhookStatus
from models.crypto import Vault
from tests.factories import make_site, make_source, signed


@dataclass
class Owners:
    """The site or source id each provider's webhooks are addressed to (`owners` fixture)."""

    woocommerce: int
    shopify: int
    bigcommerce: int
    standard: int
    zoho: int
    businesscentral: int

    def url(self, base: str, provider: str) -> str:
        return f"{base}/webhooks/{provider}/{getattr(self, provider)}"


def make_owners(session: Session, vault: Vault) -> Owners:
    """One site or source per provider, each with the secrets tests/factories/signed.py
    signs with (BigCommerce: header and client secret)."""
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
            {"header_secret": signed.BC_HEADER_SECRET, "client_secret": signed.BC_CLIENT_SECRET},
        ),
        standard=site("std", Platform.WOOCOMMERCE, signed.STANDARD_SECRET),
        zoho=zoho.id,
        businesscentral=bc.id,
    )


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


def back_date(db: sessionmaker[Session], seconds: float) -> None:
    """Move every logged delivery, and the memory of its id, `seconds` into the past:
    "10 minutes later" without waiting 10 minutes (the memory runs on the database's
    clock, api/intake.py)."""
    earlier = "- make_interval(secs => :seconds)"
    with db.begin() as session:
        for table, column in (("webhook_log", "received_at"), ("webhook_deliveries", "seen_at")):
            session.execute(
                text(f"UPDATE {table} SET {column} = {column} {earlier}"),
                {"seconds": seconds},
            )
