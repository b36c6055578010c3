"""`stocksync db upgrade|downgrade`: apply Alembic migrations to the configured database."""

from __future__ import annotations

import click

from cli.context import Context
from embedded.postgres import ensure_postgres, postgres_running
from embedded.runtime import NOTHING_RUNNING
from models import migrate


@click.group()
def db() -> None:
    """Database schema migrations."""


@db.command()
@click.argument("revision", default="head")
@click.pass_obj
def upgrade(obj: Context, revision: str) -> None:
    """Upgrade the schema to REVISION (default: head)."""
    migrate.upgrade(_url(obj), revision)
    click.echo(f"database upgraded to {revision}")


@db.command()
@click.argument("revision", default="base")
@click.confirmation_option(prompt="This drops tables and their data. Continue?")
@click.pass_obj
def downgrade(obj: Context, revision: str) -> None:
    """Downgrade the schema to REVISION (default: base, which drops everything)."""
    migrate.downgrade(_url(obj), revision)
    click.echo(f"database downgraded to {revision}")


def _url(obj: Context) -> str:
    """The configured database or the running embedded one; never one started here and
    left running (`stocksync up` migrates the embedded database itself)."""
    settings = obj.settings
    if settings.database_url:
        return settings.database_url
    if not postgres_running(settings.home):
        raise click.ClickException(NOTHING_RUNNING)
    return ensure_postgres(settings.home)  # running: only its URL
