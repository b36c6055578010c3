"""`stocksync keys new|rotate`: encryption keys for credentials at rest."""

from __future__ import annotations

import click
from cryptography.fernet import Fernet
from sqlalchemy import select

from cli.context import Context
from embedded.runtime import resolve
from models import Site, Source
from models.crypto import Vault
from models.db import make_engine, make_sessionmaker, transaction


@click.group()
def keys() -> None:
    """Encryption keys for stored credentials and webhook secrets."""


@keys.command()
def new() -> None:
    """Print a new key. Put it first in STOCKSYNC_ENCRYPTION_KEY (comma-separated)."""
    click.echo(Fernet.generate_key().decode())


@keys.command()
@click.pass_obj
def rotate(obj: Context) -> None:
    """Re-encrypt every stored secret under the first key of STOCKSYNC_ENCRYPTION_KEY."""
    settings = resolve(obj.settings)
    assert settings.database_url
    vault = Vault(settings.encryption_keys)
    count = 0
    with transaction(make_sessionmaker(make_engine(settings.database_url))) as session:
        rows: list[Source | Site] = [
            *session.scalars(select(Source)),
            *session.scalars(select(Site)),
        ]
        for row in rows:
            row.credentials_sealed = vault.rotate(row.credentials_sealed)
            if row.webhook_secret_sealed:
                row.webhook_secret_sealed = vault.rotate(row.webhook_secret_sealed)
            count += 1
    click.echo(f"re-encrypted secrets of {count} sources and sites")
