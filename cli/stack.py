"""`stocksync up` / `stocksync down`: the whole stack on one machine.

`up` resolves the services (starting embedded PostgreSQL/Redis when no URL is set),
applies migrations, then runs web (gunicorn), relay, the main worker and the events
worker, beat and Flower under one
supervisor, which restarts a child that exits. Ctrl-C stops everything, including the
embedded servers it started; so does a child's crash loop, and `up` then exits 1
(embedded/supervisor.py).

What an operator needs is the last thing on the screen: once the web app answers
`/readyz`, `up` prints the dashboard and Flower URLs and how to log in. The processes'
own output (about 90 lines while they start) goes to a log file when `up` runs on a
terminal (`STOCKSYNC_HOME/logs/stack.log`, or `--log-file`), and stays on `up`'s own
output in a pipe, where a process manager or `docker logs` collects it.

A port that is taken (another `up`, anything else) is named at once, before anything
starts, with exit code 1: gunicorn would otherwise retry its bind for a while and the
supervisor restart it until its crash loop.
"""

from __future__ import annotations

import os
import sys
import urllib.error
import urllib.request
from contextlib import ExitStack
from pathlib import Path
from typing import TextIO

import click

from cli.context import Context
from embedded.ports import port_in_use
from embedded.postgres import stop_postgres
from embedded.private import PRIVATE_UMASK, private_dir
from embedded.redis import stop_redis
from embedded.runtime import resolve, with_dev_admin_token
from embedded.stack import child_env, embedded_running, stack_processes
from embedded.supervisor import Supervisor
from models import migrate
from settings import Settings

#: How long `up` waits for the web app before printing its URLs anyway. A first start
#: runs initdb and every migration before this clock starts; gunicorn's workers then
#: boot in a few seconds.
READY_SECONDS = 120.0


def busy_ports(settings: Settings, flower: bool) -> list[str]:
    """The ports `up` needs that another process holds, each named with its variable."""
    wanted = [(settings.web_host, settings.web_port, "PORT")]
    if flower:
        wanted.append(("127.0.0.1", settings.flower_port, "FLOWER_PORT"))
    return [
        f"port {port} ({variable}) on {host} is in use"
        for host, port, variable in wanted
        if port_in_use(host, port)
    ]


def _local(host: str) -> str:
    return "127.0.0.1" if host in ("0.0.0.0", "") else host  # noqa: S104 - compared, not bound


def _answers(url: str) -> bool:
    """Whether `url` answers 200 (our own `/readyz`)."""
    try:
        with urllib.request.urlopen(url, timeout=1) as answer:  # noqa: S310 - our own URL
            return bool(answer.status == 200)
    except (urllib.error.URLError, OSError):
        # Not listening yet, or gunicorn's workers still booting.
        return False


def _open_log(path: Path) -> TextIO:
    """The stack's log file, appended to, private from its creation (what the processes
    log can name sites and SKUs)."""
    private_dir(path.parent)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o666 & ~PRIVATE_UMASK)
    return os.fdopen(fd, "a", buffering=1)


def _log_path(settings: Settings, log_file: str | None) -> Path | None:
    """Where the processes' output goes: None for `up`'s own output."""
    if log_file == "-":
        return None
    if log_file is not None:
        return Path(log_file)
    return settings.home / "logs" / "stack.log" if sys.stdout.isatty() else None


def _banner(settings: Settings, flower: bool, log: Path | None, token_file: bool) -> list[str]:
    web = f"http://{_local(settings.web_host)}:{settings.web_port}"
    if not settings.admin_token:
        login = "off: set ADMIN_TOKEN (make one with `stocksync keys admin-token`)"
    elif token_file:
        login = f"admin token {settings.admin_token} (kept in {settings.home / 'admin.token'})"
    else:
        login = "log in with your ADMIN_TOKEN"
    lines = [
        "",
        "stocksync is up:",
        f"  dashboard  {web}/  {login}",
        f"  admin API  {web}/api/overview  (Authorization: Bearer <admin token>)",
    ]
    if flower:
        auth = "" if settings.flower_basic_auth else "  (local only, no FLOWER_BASIC_AUTH)"
        lines.append(f"  Flower     http://127.0.0.1:{settings.flower_port}{auth}")
    if log is not None:
        lines.append(f"  logs       {log}")
    lines.append("Ctrl-C stops everything.")
    return lines


@click.command()
@click.option("--flower/--no-flower", default=True, show_default=True)
@click.option(
    "--log-file",
    default=None,
    metavar="PATH",
    help="Where the processes' output goes ('-': here). Default: "
    "STOCKSYNC_HOME/logs/stack.log on a terminal, here otherwise.",
)
@click.pass_obj
def up(obj: Context, flower: bool, log_file: str | None) -> None:
    """Run web, relay, worker, events worker, beat and Flower until Ctrl-C."""
    configured = obj.settings
    busy = busy_ports(configured, flower)
    if busy:
        raise click.ClickException(
            "; ".join(busy) + ": is another `stocksync up` running? "
            "Stop it, or choose free ports with PORT / FLOWER_PORT"
        )
    pg_before, redis_before = embedded_running(configured.home)
    code = 0
    with ExitStack() as stack:
        try:
            settings = resolve(with_dev_admin_token(configured))
            assert settings.database_url
            migrate.upgrade(settings.database_url)
            # Beat keeps its schedule file there: with external services nothing else
            # creates it, and beat would crash-loop on a fresh STOCKSYNC_HOME.
            private_dir(settings.home)
            log = _log_path(settings, log_file)
            output = stack.enter_context(_open_log(log)) if log is not None else None
            supervisor = Supervisor(
                stack_processes(settings, flower), child_env(settings), output=output
            )
            click.echo(
                "stocksync up: starting web, relay, worker, events worker, beat"
                + (", flower" * flower)
            )
            try:
                supervisor.start()
                ready = f"http://{_local(settings.web_host)}:{settings.web_port}/readyz"
                if supervisor.run_until(lambda: _answers(ready), READY_SECONDS):
                    banner = _banner(settings, flower, log, not configured.admin_token)
                    click.echo("\n".join(banner))
                elif not supervisor.stopping:
                    click.echo(
                        f"stocksync up: the web app is not ready after {READY_SECONDS:.0f} s"
                        + (f"; see {log}" if log else ""),
                        err=True,
                    )
                if not supervisor.stopping:
                    code = supervisor.wait()
                elif supervisor.failure is not None:
                    code = 1
            finally:
                supervisor.stop()
        finally:
            # Stop only the embedded servers this command started; ones that were already
            # running belong to someone else (a test session, another `up`). Redis is
            # stopped even if stopping PostgreSQL failed (pg_ctl writing to a terminal
            # that was closed, for one).
            try:
                if configured.database_url is None and not pg_before:
                    stop_postgres(configured.home)
            finally:
                if configured.redis_url is None and not redis_before:
                    stop_redis(configured.home)
    try:
        click.echo("stocksync up: stopped")
    except OSError:
        pass  # the terminal was closed (SIGHUP): everything is stopped all the same
    sys.exit(code)


@click.command()
@click.pass_obj
def down(obj: Context) -> None:
    """Stop the embedded PostgreSQL and Redis under STOCKSYNC_HOME."""
    home = obj.settings.home
    click.echo(f"postgres: {'stopped' if stop_postgres(home) else 'not running'}")
    click.echo(f"redis: {'stopped' if stop_redis(home) else 'not running'}")
