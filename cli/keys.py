"""`stocksync keys new|rotate|admin-token`: encryption keys for credentials at rest, and
an admin token strong enough for ADMIN_TOKEN."""

from __future__ import annotations

import secrets

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


@keys.command("admin-token")
def admin_token() -> None:
    """Print a new ADMIN_TOKEN: 32 random bytes, url-safe (43 characters)."""
    click.echo(secrets.token_urlsafe(32))


@keys.command()
@click.pass_obj
def rotate(obj: Context) -> None:
    """Re-encrypt every stored secret under the first key of STOCKSYNC_ENCRYPTION_KEY."""
    with services(obj) as ctx:
        count = rotate_keys(ctx)
    click.echo(f"re-encrypted secrets of {count} sources and sites")
