"""Managing sources and sites: create, list, toggle webhooks, set or rotate secrets.

Shared by the CLI and the admin API, so both validate the same way. Credentials and
secrets go in sealed (models/crypto.py) and never come back out through these
functions: the caller gets the clear secret only when it generated one.
"""

from __future__ import annotations

import secrets
from collections.abc import Mapping
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy import select
from sqlalchemy.orm import Session

from models import Platform, Site, Source, SourceKind
from models.crypto import Vault


class AdminError(ValueError):
    """A request that cannot be carried out; the message says why."""


def _one_of(value: str, allowed: type[Platform] | type[SourceKind], what: str) -> Any:
    try:
        return allowed(value)
    except ValueError:
        choices = ", ".join(m.value for m in allowed)
        raise AdminError(f"{what} must be one of {choices}, got {value!r}") from None


def check_timezone(name: str) -> str:
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise AdminError(f"unknown IANA time zone {name!r}") from None
    return name


def _find(session: Session, model: type[Site] | type[Source], ref: str) -> Any:
    """A row by id (all digits) or by name."""
    column = model.id if ref.isdigit() else model.name
    row = session.scalars(
        select(model).where(column == (int(ref) if ref.isdigit() else ref))
    ).first()
    if row is None:
        raise AdminError(f"no {model.__tablename__[:-1]} {ref!r}")
    return row


def find_source(session: Session, ref: str) -> Source:
    source: Source = _find(session, Source, ref)
    return source


def find_site(session: Session, ref: str) -> Site:
    site: Site = _find(session, Site, ref)
    return site


def add_source(
    session: Session,
    vault: Vault,
    *,
    name: str,
    kind: str,
    base_url: str,
    credentials: Mapping[str, Any],
    webhook_secret: str | Mapping[str, str] | None = None,
) -> Source:
    if session.scalars(select(Source).where(Source.name == name)).first():
        raise AdminError(f"a source named {name!r} exists")
    source = Source(
        name=name,
        kind=_one_of(kind, SourceKind, "kind"),
        base_url=base_url,
        credentials_sealed=vault.seal(credentials),
        webhook_secret_sealed=vault.seal(webhook_secret) if webhook_secret else None,
    )
    session.add(source)
    session.flush()
    return source


def add_site(
    session: Session,
    vault: Vault,
    *,
    name: str,
    platform: str,
    base_url: str,
    source: str,
    credentials: Mapping[str, Any],
    webhook_secret: str | Mapping[str, str] | None = None,
    timezone: str = "UTC",
    full_sync_hour: int = 2,
) -> Site:
    if session.scalars(select(Site).where(Site.name == name)).first():
        raise AdminError(f"a site named {name!r} exists")
    if not 0 <= full_sync_hour <= 23:
        raise AdminError(f"full_sync_hour must be 0-23, got {full_sync_hour}")
    site = Site(
        name=name,
        platform=_one_of(platform, Platform, "platform"),
        base_url=base_url,
        source_id=find_source(session, source).id,
        timezone=check_timezone(timezone),
        full_sync_hour=full_sync_hour,
        credentials_sealed=vault.seal(credentials),
        webhook_secret_sealed=vault.seal(webhook_secret) if webhook_secret else None,
    )
    session.add(site)
    session.flush()
    return site


def set_webhooks_active(session: Session, ref: str, active: bool) -> Site:
    site = find_site(session, ref)
    site.webhooks_active = active
    return site


def set_secret(
    session: Session, vault: Vault, owner: Site | Source, secret: str | Mapping[str, str] | None
) -> str | None:
    """Set (or, with None, generate) an owner's webhook secret; return it if generated.

    Rotation is just setting a new one: the platform must be given the new secret at
    the same moment (Shopify keeps signing with the old one for up to an hour,
    platforms.md section 5, so rotate there first and here right after).
    """
    generated = None
    if secret is None:
        generated = secret = secrets.token_urlsafe(32)
    owner.webhook_secret_sealed = vault.seal(secret)
    return generated


def describe_site(site: Site) -> dict[str, Any]:
    """What may be shown of a site: never credentials or secrets."""
    return {
        "id": site.id,
        "name": site.name,
        "platform": site.platform.value,
        "base_url": site.base_url,
        "source_id": site.source_id,
        "timezone": site.timezone,
        "full_sync_hour": site.full_sync_hour,
        "active": site.active,
        "webhooks_active": site.webhooks_active,
        "has_webhook_secret": site.webhook_secret_sealed is not None,
        "has_api_key": site.api_key_hash is not None,
    }
