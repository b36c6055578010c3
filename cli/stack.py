"""`stocksync up` / `stocksync down`: the whole stack on one machine.

`up` resolves the services (starting embedded PostgreSQL/Redis when no URL is set),
applies migrations, then runs web (gunicorn), worker, beat and Flower under one
supervisor, which restarts a child that exits. Ctrl-C stops everything, including the
embedded servers it started; so does a child's crash loop, and `up` then exits 1
(embedded/supervisor.py).
"""

from __future__ import annotations

import sys

import click

from cli.context import Context
from embedded.postgres import stop_postgres
from embedded.redis import stop_redis
from embedded.runtime import resolve
from embedded.stack import child_env, embedded_running, stack_processes
from embedded.supervisor import Supervisor
from models import migrate


@click.command()
@click.option("--flower/--no-flower", default=True, show_default=True)
@click.pass_obj
def up(obj: Context, flower: bool) -> None:
    """Run web, worker, beat and Flower until Ctrl-C."""
    configured = obj.settings
    pg_before, redis_before = embedded_running(configured.home)
    settings = resolve(configured)
    assert settings.database_url
    migrate.upgrade(settings.database_url)
    if flower and not settings.flower_basic_auth:
        # Bound to 127.0.0.1 only; anything reachable from elsewhere needs auth.
        click.echo("stocksync up: Flower without FLOWER_BASIC_AUTH (local only)", err=True)
    supervisor = Supervisor(stack_processes(settings, flower), child_env(settings))
    click.echo(
        f"stocksync up: web http://{settings.web_host}:{settings.web_port} "
        f"(readyz: /readyz)"
        + (f", flower http://127.0.0.1:{settings.flower_port}" if flower else "")
    )
    click.echo(
        f"stocksync up: dashboard http://{settings.web_host}:{settings.web_port}/ "
        + ("(log in with ADMIN_TOKEN)" if settings.admin_token else "(set ADMIN_TOKEN to use it)")
    )
    code = 0
    try:
        supervisor.start()
        code = supervisor.wait()
    finally:
        supervisor.stop()
        # Stop only the embedded servers this command started; ones that were already
        # running belong to someone else (a test session, another `up`).
        if configured.database_url is None and not pg_before:
            stop_postgres(configured.home)
        if configured.redis_url is None and not redis_before:
            stop_redis(configured.home)
        click.echo("stocksync up: stopped")
    sys.exit(code)


@click.command()
@click.pass_obj
def down(obj: Context) -> None:
    """Stop the embedded PostgreSQL and Redis under STOCKSYNC_HOME."""
    home = obj.settings.home
    click.echo(f"postgres: {'stopped' if stop_postgres(home) else 'not running'}")
    click.echo(f"redis: {'stopped' if stop_redis(home) else 'not running'}")
