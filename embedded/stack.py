"""The stack's processes on one machine: web (gunicorn), the main worker and the
events-only one, relay, beat, Flower.

`stocksync up` and the demo run the same list under `embedded.supervisor.Supervisor`,
so the demo measures what an operator runs. Children get the resolved service URLs
(`child_env`), so they reuse the servers already running instead of starting their own.
"""

from __future__ import annotations

import os
import socket
import sys
from pathlib import Path

from embedded.redis import running_port
from embedded.supervisor import Probe, ProcessSpec
from settings import Settings


def _local(host: str) -> str:
    """Where this machine reaches a server bound to `host`."""
    return "127.0.0.1" if host in ("0.0.0.0", "") else host  # noqa: S104 - compared, not bound


def stack_processes(settings: Settings, with_flower: bool) -> list[ProcessSpec]:
    """The processes of the stack. Flower binds to 127.0.0.1 only, and with
    FLOWER_BASIC_AUTH set asks for it (`child_env` passes it: never on a command line,
    which any local user can read with `ps`)."""
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
        _worker(settings, "worker", "events,sync,maintenance", settings.worker_concurrency),
        _worker(settings, "events", "events", settings.events_concurrency),
        ProcessSpec("relay", [python, "-m", "cli.main", "relay"]),
        ProcessSpec("beat", [*celery, "beat", "--loglevel", settings.log_level]),
    ]
    if with_flower:
        flower = [*celery, "flower", f"--port={settings.flower_port}", "--address=127.0.0.1"]
        specs.append(ProcessSpec("flower", flower))
    return specs


#: Each worker's node name (`-n`): the main one's, and the events-only one's.
NODES = {"worker": "stocksync", "events": "events"}


def _worker(settings: Settings, name: str, queues: str, concurrency: int) -> ProcessSpec:
    """A Celery worker on `queues`, probed by its own heartbeat (`/readyz/consumers
    ?worker=`): restarted if it stops beating, whatever else consumes its queues."""
    argv = [sys.executable, "-m", "celery", "-A", "workers", "worker", "-Q", queues]
    argv += ["--loglevel", settings.log_level, "--concurrency", str(concurrency)]
    argv += ["-n", f"{NODES[name]}@%h"]
    # `%h` is the host's name as Celery expands it.
    node = f"{NODES[name]}@{socket.gethostname()}"
    base = f"http://{_local(settings.web_host)}:{settings.web_port}"
    return ProcessSpec(
        name, argv, probe=Probe(f"{base}/readyz/consumers?worker={node}", "consumers")
    )


def child_env(settings: Settings) -> dict[str, str]:
    """Children get the resolved URLs, so they reuse our servers instead of starting any.

    Secrets (the URLs' passwords, the keys, Flower's basic auth, which Flower reads
    from `FLOWER_BASIC_AUTH` as it reads any option from `FLOWER_<OPTION>`) travel only
    here: a process's environment is readable by its user alone, its command line by
    everyone."""
    env = dict(os.environ)
    assert settings.database_url and settings.redis_url
    env["DATABASE_URL"] = settings.database_url
    env["REDIS_URL"] = settings.redis_url
    env["STOCKSYNC_ENCRYPTION_KEY"] = ",".join(settings.encryption_keys)
    env["STOCKSYNC_HOME"] = str(settings.home)
    if settings.admin_token:
        env["ADMIN_TOKEN"] = settings.admin_token
    env.pop("FLOWER_BASIC_AUTH", None)
    if settings.flower_basic_auth:
        env["FLOWER_BASIC_AUTH"] = settings.flower_basic_auth
    return env


def embedded_running(home: Path) -> tuple[bool, bool]:
    """Whether embedded PostgreSQL and Redis are already running under `home`: servers
    someone else started, which whoever starts the stack must leave running."""
    postgres_pid = home / "postgres" / "postmaster.pid"
    return postgres_pid.exists(), running_port(home) is not None
