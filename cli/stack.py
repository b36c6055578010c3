"""`stocksync up` / `stocksync down`: the whole stack on one machine.

`up` resolves the services (starting embedded PostgreSQL/Redis when no URL is set),
applies migrations, then runs web (gunicorn), worker, beat and Flower under one
supervisor. Ctrl-C stops everything, including the embedded servers it started.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import click

from cli.context import Context
from cli.supervisor import ProcessSpec, Supervisor
from embedded.postgres import stop_postgres
from embedded.redis import running_port, stop_redis
from embedded.runtime import resolve
from models import migrate
from settings import Settings


def _specs(settings: Settings, with_flower: bool) -> list[ProcessSpec]:
    python = sys.executable
    celery = [python, "-m", "celery", "-A", "workers"]
    specs = [
        ProcessSpec(
            "web",
            [
                python,
                "-m",
                "gunicorn",
                "--config",
                "python:api.gunicorn_conf",
                "api.wsgi:app",
                "--bind",
                f"{settings.web_host}:{settings.web_port}",
                "--access-logfile",
                "-",
            ],
        ),
        ProcessSpec(
            "worker",
            [
                *celery,
                "worker",
                "-Q",
                "events,sync,maintenance",
                "--loglevel",
                settings.log_level,
                "--concurrency",
                str(settings.worker_concurrency),
                "-n",
                "stocksync@%h",
            ],
        ),
        ProcessSpec("relay", [python, "-m", "cli.main", "relay"]),
        ProcessSpec("beat", [*celery, "beat", "--loglevel", settings.log_level]),
    ]
    if with_flower:
        flower = [*celery, "flower", f"--port={settings.flower_port}", "--address=127.0.0.1"]
        if settings.flower_basic_auth:
            flower.append(f"--basic_auth={settings.flower_basic_auth}")
        else:
            # Bound to 127.0.0.1 only; anything reachable from elsewhere needs auth.
            click.echo("stocksync up: Flower without FLOWER_BASIC_AUTH (local only)", err=True)
        specs.append(ProcessSpec("flower", flower))
    return specs


def _child_env(settings: Settings) -> dict[str, str]:
    """Children get the resolved URLs, so they reuse our servers instead of starting any."""
    env = dict(os.environ)
    assert settings.database_url and settings.redis_url
    env["DATABASE_URL"] = settings.database_url
    env["REDIS_URL"] = settings.redis_url
    env["STOCKSYNC_ENCRYPTION_KEY"] = ",".join(settings.encryption_keys)
    env["STOCKSYNC_HOME"] = str(settings.home)
    return env


def _embedded_running(home: Path) -> tuple[bool, bool]:
    postgres_pid = home / "postgres" / "postmaster.pid"
    return postgres_pid.exists(), running_port(home) is not None


@click.command()
@click.option("--flower/--no-flower", default=True, show_default=True)
@click.pass_obj
def up(obj: Context, flower: bool) -> None:
    """Run web, worker, beat and Flower until Ctrl-C."""
    configured = obj.settings
    pg_before, redis_before = _embedded_running(configured.home)
    settings = resolve(configured)
    assert settings.database_url
    migrate.upgrade(settings.database_url)
    supervisor = Supervisor(_specs(settings, flower), _child_env(settings))
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
