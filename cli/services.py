"""What every operator command needs: the service context (sync/context.py) on
resolved settings, with a Celery client as its broker; closed after the command.

It uses the services that run (the configured URLs, or the embedded servers `stocksync
up` started) and starts none: a command run before `stocksync up` says "nothing
running" instead of leaving PostgreSQL and Redis running behind it.

Refusals of the service layer (sync/errors.py), PostgreSQL or Redis being down, and a
database without our tables (never upgraded) become one line on stderr and exit code 1,
as every other command's errors do.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import click
import redis
from psycopg2.errors import UndefinedColumn, UndefinedTable
from sqlalchemy.exc import ProgrammingError

from cli.context import Context as CliContext
from sync.context import Context
from sync.encoding import dumps
from sync.errors import OUTAGES, ServiceError
from workers.context import client_context


@contextmanager
def services(obj: CliContext) -> Iterator[Context]:
    # Never starts the embedded servers: with nothing running, one line and exit 1
    # (embedded/runtime.py `resolve_running`; README, "Getting started").
    settings = obj.running_settings
    assert settings.redis_url
    client = redis.Redis.from_url(settings.redis_url, socket_timeout=5)
    ctx = client_context(settings, redis_client=client)
    try:
        yield ctx
    except ServiceError as error:
        raise click.ClickException(error.message) from None
    except OUTAGES as error:
        raise click.ClickException(f"PostgreSQL or Redis is unavailable: {error}") from None
    except ProgrammingError as error:
        if not isinstance(error.orig, UndefinedTable | UndefinedColumn):
            raise
        raise click.ClickException(
            "the database has no stocksync tables, or older ones: "
            "run `stocksync db upgrade` (stocksync up does it too)"
        ) from None
    finally:
        ctx.dispose()


def echo_json(value: Any) -> None:
    """One JSON document on one line (so `--json` output of a follow is JSON lines)."""
    click.echo(dumps(value))
