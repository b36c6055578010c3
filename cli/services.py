"""What the operator commands (`sync`, `runs`, `stats`, `log`) need: the database, a
Celery client to publish with, Redis; built from resolved settings, closed after.

Refusals from the shared operator functions (api/admin/errors.py, sync/sites.py), and
PostgreSQL or Redis being down (the API's 503s), become one-line click errors with exit
code 1, as every other command's do.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import click
import redis
from celery import Celery
from sqlalchemy.orm import Session, sessionmaker

from api.admin.errors import OperatorError
from api.admin.http import OUTAGES, dumps
from cli.context import Context
from embedded.runtime import resolve
from models.db import make_engine, make_sessionmaker
from settings import Settings
from sync.sites import AdminError
from workers.app import make_celery


@dataclass(frozen=True)
class Services:
    settings: Settings
    sessions: sessionmaker[Session]
    celery: Celery
    redis: redis.Redis


@contextmanager
def services(obj: Context) -> Iterator[Services]:
    settings = resolve(obj.settings)
    assert settings.database_url and settings.redis_url
    engine = make_engine(settings.database_url)
    client = redis.Redis.from_url(settings.redis_url, socket_timeout=5)
    celery = make_celery(settings)
    try:
        yield Services(settings, make_sessionmaker(engine), celery, client)
    except (OperatorError, AdminError) as error:
        raise click.ClickException(str(error)) from None
    except OUTAGES as error:
        raise click.ClickException(f"PostgreSQL or Redis is unavailable: {error}") from None
    finally:
        celery.close()
        client.close()
        engine.dispose()


def echo_json(value: Any) -> None:
    """One JSON document on one line (so `--json` output of a follow is JSON lines)."""
    click.echo(dumps(value))
