"""Builders for rows, with sensible defaults so each test states only what matters."""

from __future__ import annotations

from typing import Any, TypeVar

from sqlalchemy.orm import Session

from models import Base, Platform, Site, Source, SourceKind
from models.crypto import Vault

Row = TypeVar("Row", bound=Base)


def add_row(session: Session, model: type[Row], fields: dict[str, Any]) -> Row:
    """A row of `model` made of `fields`, added and flushed so its id is set."""
    row = model(**fields)
    session.add(row)
    session.flush()
    return row


def make_source(session: Session, vault: Vault, **overrides: Any) -> Source:
    fields: dict[str, Any] = {
        "name": "erp",
        "kind": SourceKind.BUSINESSCENTRAL,
        "base_url": "http://127.0.0.1:1",
        "credentials_sealed": vault.seal({"client_id": "c", "client_secret": "s"}),
    }
    return add_row(session, Source, {**fields, **overrides})


def make_site(session: Session, vault: Vault, source: Source, **overrides: Any) -> Site:
    fields: dict[str, Any] = {
        "name": "shop",
        "platform": Platform.WOOCOMMERCE,
        "base_url": "http://127.0.0.1:1",
        "credentials_sealed": vault.seal({"consumer_key": "ck", "consumer_secret": "cs"}),
        "webhook_secret_sealed": vault.seal("secret"),
        "source_id": source.id,
        "timezone": "UTC",
    }
    return add_row(session, Site, {**fields, **overrides})
