"""`stocksync keys new|rotate`: encryption keys for credentials at rest."""

from __future__ import annotations

import click
from cryptography.fernet import Fernet

from cli.context import Context
from cli.services import services
from sync.accounts import rotate_keys


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
    with services(obj) as ctx:
        count = rotate_keys(ctx)
    click.echo(f"re-encrypted secrets of {count} sources and sites")
