"""`stocksync db upgrade|downgrade`: apply Alembic migrations to the configured database."""

from __future__ import annotations

import click

from cli.context import Context
from embedded.runtime import database_url
from models import migrate


@click.group()
def db() -> None:
    """Database schema migrations."""


@db.command()
@click.argument("revision", default="head")
@click.pass_obj
def upgrade(obj: Context, revision: str) -> None:
    """Upgrade the schema to REVISION (default: head)."""
    migrate.upgrade(database_url(obj.settings), revision)
    click.echo(f"database upgraded to {revision}")


@db.command()
@click.argument("revision", default="base")
@click.confirmation_option(prompt="This drops tables and their data. Continue?")
@click.pass_obj
def downgrade(obj: Context, revision: str) -> None:
    """Downgrade the schema to REVISION (default: base, which drops everything)."""
    migrate.downgrade(database_url(obj.settings), revision)
    click.echo(f"database downgraded to {revision}")
