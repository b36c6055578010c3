"""`stocksync relay`: move accepted webhooks from PostgreSQL to the queue (workers/relay.py)."""

from __future__ import annotations

import signal

import click
import redis

from cli.context import Context
from embedded.runtime import resolve
from models.db import make_engine
from workers.relay import Relay


@click.command()
@click.pass_obj
def relay(obj: Context) -> None:
    """Run the relay until SIGTERM or Ctrl-C (run one or more per deployment)."""
    settings = resolve(obj.settings)
    assert settings.database_url and settings.redis_url
    stopping = False

    def stop(*_: object) -> None:
        # Only a flag: the loop finishes its batch and returns.
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    worker = Relay(
        make_engine(settings.database_url),
        redis.Redis.from_url(settings.redis_url),
        settings.dedupe_window_seconds,
    )
    click.echo("relay running")
    worker.run(lambda: stopping)
